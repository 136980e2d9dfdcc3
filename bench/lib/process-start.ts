/**
 * A process timed from spawn to its first 200 on /readyz, then its resident memory after a few
 * seconds idle: what bench/startup-memory.ts (each service) and services/embedded/bench/startup.ts
 * measure. Every wait is bounded.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@testbed/test-support/rig';
import { freePort } from '@testbed/test-support/service-process';

/** node's own flags for every process started (BENCH_NODE_FLAGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const READY_WITHIN_MS = 30_000;
const DEFAULT_IDLE_MS = 3_000;

export interface Start {
  readyMs: number;
  rssMb: number;
}

/** VmRSS of a live process, in MB (1024² bytes). */
export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * Spawns `node <its flags> <BENCH_NODE_FLAGS> <entry>` with `env` on a free port, times it to the first 200 of /readyz,
 * idles `idleMs`, reads its RSS and stops it (SIGTERM, SIGKILL after 10 s).
 */
export async function timeStart(
  entry: string,
  env: Record<string, string>,
  logFile: string,
  opts: {
    portVariable?: string;
    idleMs?: number;
    readyWithinMs?: number;
    nodeFlags?: readonly string[];
  } = {},
): Promise<Start> {
  const port = await freePort();
  const log = fs.openSync(logFile, 'a');
  const started = performance.now();
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), ...NODE_FLAGS, entry], {
    cwd: repoRoot,
    env: { ...env, [opts.portVariable ?? 'PORT']: String(port), LISTEN_HOST: '127.0.0.1' },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  let exited = child.exitCode !== null;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  try {
    const deadline = started + (opts.readyWithinMs ?? READY_WITHIN_MS);
    let readyMs: number | undefined;
    while (readyMs === undefined) {
      if (exited) throw new Error(`${entry} exited before /readyz:\n${tail(logFile)}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) readyMs = performance.now() - started;
      else if (performance.now() > deadline) throw new Error(`${entry} not ready within the deadline`);
      else await sleep(10);
    }
    await sleep(opts.idleMs ?? DEFAULT_IDLE_MS);
    if (exited) throw new Error(`${entry} exited while idle:\n${tail(logFile)}`);
    return { readyMs, rssMb: rssMb(child.pid!) };
  } finally {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 20): string {
  return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** A bare Express app answering /readyz (and nothing else), written to `dir`. */
export function bareExpressEntry(dir: string): string {
  const file = path.join(dir, 'bare-express.js');
  fs.writeFileSync(
    file,
    `'use strict';
const express = require(${JSON.stringify(require.resolve('express', { paths: [repoRoot] }))});
const app = express();
app.get('/readyz', (_req, res) => res.json({ ready: true }));
const server = app.listen(Number(process.env.PORT), process.env.LISTEN_HOST);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  );
  return file;
}

export function distEntry(name: string): string {
  const entry = path.join(repoRoot, 'dist', name, 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return entry;
}
