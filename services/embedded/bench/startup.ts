/**
 * `npm run bench:start`: the embedded default (`npm start`) from a fresh data folder, timed to
 * /healthz and to /readyz, three times (the first start migrates PGlite; later ones reuse it).
 * No rig needed; every wait is bounded.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@testbed/test-support/service-process';
import { repoRoot } from '@testbed/test-support/rig';
import { waitFor } from '@testbed/test-support/wait';

const RUNS = Number(process.env.BENCH_START_RUNS ?? 3);
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
const main = path.join(repoRoot, 'services', 'embedded', 'src', 'main.ts');

const answers = (url: string) =>
  fetch(url).then(
    (r) => r.ok,
    () => false,
  );

async function once(dataDir: string): Promise<{ healthyMs: number; readyMs: number }> {
  const port = await freePort();
  // Only what a user's shell would have: no DATABASE_URL or KAFKA_BROKERS from the rig.
  const { DATABASE_URL: _d, KAFKA_BROKERS: _k, ...clean } = process.env;
  const started = Date.now();
  const child = spawn(tsx, [main], {
    cwd: repoRoot,
    env: {
      ...clean,
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      PROVISIONING_LOCAL_NODE: 'false',
    },
    stdio: 'ignore',
  });
  try {
    await waitFor('/healthz', () => answers(`http://127.0.0.1:${port}/healthz`), 60_000, 20);
    const healthyMs = Date.now() - started;
    await waitFor('/readyz', () => answers(`http://127.0.0.1:${port}/readyz`), 60_000, 20);
    return { healthyMs, readyMs: Date.now() - started };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

async function main_(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-start-'));
  try {
    console.log('embedded default (tsx), fresh data folder for the first run:');
    for (let i = 1; i <= RUNS; i++) {
      const r = await once(dataDir);
      console.log(`run ${i}: /healthz after ${r.healthyMs} ms, /readyz after ${r.readyMs} ms`);
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main_().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:start failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
