/**
 * Start-up and idle memory of each standalone service as it runs in production: the compiled
 * bundle (`npm run build`, dist/<service>/main.js) on plain node, on the rig's Postgres (a fresh,
 * migrated database) and Kafka (a namespace of its own). For each of ipam, provisioning, quota,
 * stats and portal, in the same run and started the same way (the services with the V8 flags and
 * malloc setting of their images, services/kit/src/host/process-settings.ts):
 *
 *   - process start (spawn) to the first 200 of /readyz, polled every 10 ms; the baseline is a
 *     bare Express process that answers /readyz, so the ratio is what the service adds to what
 *     any Node HTTP process costs on this machine at this moment;
 *   - resident memory (VmRSS of /proc/<pid>/status) after /readyz and a few seconds idle.
 *
 * Starts are interleaved (express, ipam, provisioning, …, express, ipam, …) so a noisy neighbour
 * weighs on all alike; the figure is the median of BENCH_START_RUNS (default 3) starts.
 * Bounded: every start waits at most 30 s for /readyz; the whole run takes well under 3 minutes.
 *
 *   npx tsx bench/startup-memory.ts
 *   BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npx tsx bench/startup-memory.ts
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshPostgresDatabase, randomSuffix, repoRoot, rigEnv } from '@testbed/test-support/rig';
import {
  SERVICE_NODE_FLAGS,
  SERVICE_PROCESS_ENV,
  SERVICES_WITH_PROCESS_SETTINGS,
} from '@testbed/kit/src/host/process-settings';
import { emitFigures, figure, type Figure } from './lib/figures';
import { bareExpressEntry, distEntry, median, timeStart, type Start } from './lib/process-start';

const RUNS = Math.max(1, Math.min(9, Number(process.env.BENCH_START_RUNS ?? 3)));
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 3_000);
const SERVICES = ['ipam', 'provisioning', 'quota', 'stats', 'portal'] as const;
type Target = (typeof SERVICES)[number] | 'express';
/** What each runs with in its image: the services their process settings, the rest plain node. */
const flagsOf = (t: Target): readonly string[] =>
  SERVICES_WITH_PROCESS_SETTINGS.includes(t) ? SERVICE_NODE_FLAGS : [];

async function main(): Promise<void> {
  const rig = rigEnv('DATABASE_URL', 'KAFKA_BROKERS');
  const entries = Object.fromEntries(SERVICES.map((s) => [s, distEntry(s)])) as Record<string, string>;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-startup-'));
  const database = await freshPostgresDatabase('bench_startup');
  const results = new Map<Target, Start[]>();
  try {
    execFileSync(process.execPath, [distEntry('migrate')], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: database.url },
      stdio: 'pipe',
    });
    // What a pod has: its own variables, not the rig's (no node daemons, no OTLP collector).
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? work,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '0',
    };
    const common = {
      ...base,
      ...SERVICE_PROCESS_ENV,
      DATABASE_URL: database.url,
      KAFKA_BROKERS: rig.KAFKA_BROKERS!,
      KAFKA_NAMESPACE: `bench-startup-${randomSuffix()}`,
      DATA_DIR: work,
    };
    const envOf: Record<Target, Record<string, string>> = {
      express: base,
      ipam: common,
      provisioning: common,
      quota: common,
      stats: common,
      portal: { ...base, PORTAL_DIST_DIR: path.join(repoRoot, 'services', 'portal', 'dist') },
    };
    const express = bareExpressEntry(work);
    const targets: Target[] = ['express', ...SERVICES];
    // A first start of each (not counted): the topics and consumer groups are created, the
    // seeds written, the files in the page cache; then every service starts as it restarts in a pod.
    for (const t of targets)
      await timeStart(t === 'express' ? express : entries[t]!, envOf[t], path.join(work, `${t}.log`), {
        idleMs: 0,
        nodeFlags: flagsOf(t),
      });
    for (let run = 1; run <= RUNS; run++)
      for (const t of targets) {
        const r = await timeStart(
          t === 'express' ? express : entries[t]!,
          envOf[t],
          path.join(work, `${t}.log`),
          { nodeFlags: flagsOf(t) },
        );
        results.set(t, [...(results.get(t) ?? []), r]);
        process.stdout.write(
          `run ${run} ${t.padEnd(12)} /readyz after ${r.readyMs.toFixed(0).padStart(5)} ms, RSS ${r.rssMb.toFixed(0)} MB\n`,
        );
      }
  } finally {
    await database.drop();
    fs.rmSync(work, { recursive: true, force: true });
  }

  const bare = median(results.get('express')!.map((r) => r.readyMs));
  const bareRss = median(results.get('express')!.map((r) => r.rssMb));
  const figures: Figure[] = [];
  for (const s of SERVICES) {
    const runs = results.get(s)!;
    figures.push(
      figure({
        id: `startup.${s}.ready`,
        figure: `${s}: process start to /readyz (compiled, median of ${RUNS})`,
        value: median(runs.map((r) => r.readyMs)),
        unit: 'ms',
        baseline: { name: 'bare Express process', value: bare },
        target: '≤ 1,000 ms and ≤ 3×',
        check: { atMost: 1_000 },
        checkRatio: { atMost: 3 },
      }),
    );
  }
  for (const s of SERVICES) {
    const runs = results.get(s)!;
    figures.push(
      figure({
        id: `memory.${s}.rss`,
        figure: `${s}: resident memory ${IDLE_MS / 1000} s idle after /readyz`,
        value: median(runs.map((r) => r.rssMb)),
        unit: 'MB',
        baseline: { name: 'bare Express process', value: bareRss },
        target: '≤ 120 MB',
        check: { atMost: 120 },
      }),
    );
  }
  emitFigures(figures);
}

if (require.main === module)
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(
        `bench startup-memory failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      process.exit(1);
    },
  );
