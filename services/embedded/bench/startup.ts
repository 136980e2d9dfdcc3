/**
 * `npm run bench:start`: the embedded default as it ships, the compiled bundle
 * (dist/embedded/main.js, `npm run build`) on plain node, timed from process start to the first
 * 200 of /readyz: once with a new data folder (made from the build's migrated PGlite seed), then
 * BENCH_START_RUNS (default 3) times with that folder as it was left. After each /readyz the
 * process idles a few seconds and its resident memory (VmRSS) is read.
 * No rig needed: only what a user's shell has (no DATABASE_URL, no KAFKA_BROKERS); every wait is
 * bounded (30 s to /readyz), the whole run well under 3 minutes.
 *
 *   npx tsx services/embedded/bench/startup.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emitFigures, figure } from '../../../bench/lib/figures';
import { distEntry, median, timeStart, type Start } from '../../../bench/lib/process-start';

const RUNS = Math.max(1, Math.min(9, Number(process.env.BENCH_START_RUNS ?? 3)));
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 3_000);

async function main(): Promise<void> {
  const entry = distEntry('embedded');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-start-'));
  const logFile = path.join(os.tmpdir(), `${path.basename(dataDir)}.log`);
  // Only what a user's shell would have: no DATABASE_URL or KAFKA_BROKERS from the rig.
  const { DATABASE_URL: _d, KAFKA_BROKERS: _k, ...clean } = process.env;
  const env = {
    ...(clean as Record<string, string>),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    SHUTDOWN_DELAY_MS: '0',
    // No local Docker daemon is looked for: the platform's own start, not a daemon's answer.
    PROVISIONING_LOCAL_NODE: 'false',
  };
  let fresh: Start;
  const existing: Start[] = [];
  try {
    fresh = await timeStart(entry, env, logFile, { idleMs: IDLE_MS });
    console.log(
      `new data folder:      /readyz after ${fresh.readyMs.toFixed(0)} ms, RSS ${fresh.rssMb.toFixed(0)} MB`,
    );
    for (let i = 1; i <= RUNS; i++) {
      const r = await timeStart(entry, env, logFile, { idleMs: IDLE_MS });
      existing.push(r);
      console.log(
        `existing folder, #${i}: /readyz after ${r.readyMs.toFixed(0)} ms, RSS ${r.rssMb.toFixed(0)} MB`,
      );
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(logFile, { force: true });
  }
  emitFigures([
    figure({
      id: 'embedded.start.fresh',
      figure:
        'embedded (compiled): process start to /readyz, new data folder (from the build’s migrated seed)',
      value: fresh.readyMs,
      unit: 'ms',
      target: '≤ 4,000 ms',
      check: { atMost: 4_000 },
    }),
    figure({
      id: 'embedded.start.existing',
      figure: `embedded (compiled): process start to /readyz, existing data folder (median of ${RUNS})`,
      value: median(existing.map((r) => r.readyMs)),
      unit: 'ms',
      target: '≤ 2,000 ms',
      check: { atMost: 2_000 },
    }),
    figure({
      id: 'embedded.memory.rss',
      figure: `embedded (compiled): resident memory ${IDLE_MS / 1000} s idle after /readyz (median of ${RUNS})`,
      value: median(existing.map((r) => r.rssMb)),
      unit: 'MB',
      target: '≤ 300 MB',
      check: { atMost: 300 },
    }),
  ]);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
