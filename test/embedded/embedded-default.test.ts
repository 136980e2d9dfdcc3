/**
 * The embedded default as a user runs it (`npm start`: its production bundle on plain node): a
 * child process with no external service, answering /healthz within 10 s; bad configuration stops
 * it with one clear message.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../support/rig';
import { ensureBuilt } from '../support/service-process';

const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
const main = path.join(repoRoot, 'dist', 'embedded', 'main.js');

beforeAll(async () => {
  await ensureBuilt('embedded');
  await ensureBuilt('ipam');
});

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

function start(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  // Only what a user's shell would have: no DATABASE_URL or KAFKA_BROKERS from the rig.
  const { DATABASE_URL: _d, KAFKA_BROKERS: _k, ...clean } = process.env;
  const child = spawn(process.execPath, [main], {
    cwd: repoRoot,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  return { child, output: () => output };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve),
  );

test('answers /healthz within 10 s on a fresh data folder, serves the API with a local token, stops on SIGTERM', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-'));
  const port = await freePort();
  const started = Date.now();
  const { child, output } = start({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  try {
    let healthy = false;
    while (!healthy && Date.now() - started < 10_000 && child.exitCode === null) {
      healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!healthy) await new Promise((r) => setTimeout(r, 100));
    }
    if (!healthy) throw new Error(`no /healthz within 10 s:\n${output()}`);
    // Ready once PGlite is open and migrated and the services started (bounded wait).
    let ready = false;
    while (!ready && Date.now() - started < 60_000 && child.exitCode === null) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) throw new Error(`never ready:\n${output()}`);

    const { stdout } = await promisify(execFile)(
      tsx,
      [path.join(repoRoot, 'services/kit/src/auth/token-cli.ts'), 'alice', 'operator'],
      {
        cwd: repoRoot,
        env: { ...process.env, DATA_DIR: dataDir },
      },
    );
    const pools = await fetch(`http://127.0.0.1:${port}/v1/pools`, {
      headers: { authorization: `Bearer ${stdout.trim()}` },
    });
    expect(pools.status).toBe(200);
    const names = ((await pools.json()) as { items: { name: string }[] }).items.map((p) => p.name);
    expect(names).toEqual(['experiment', 'secondary']);
    expect((await fetch(`http://127.0.0.1:${port}/v1/pools`)).status).toBe(401);
    const doc = (await (await fetch(`http://127.0.0.1:${port}/v1/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toContain('/v1/pools/{pool}/allocations');
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited(child)).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('a bad or missing configuration variable stops it with one message naming every problem', async () => {
  const { child, output } = start({
    PORT: 'eighty',
    LOG_LEVEL: 'loud',
    DATABASE_URL: 'mysql://x',
    DATA_DIR: os.tmpdir(),
  });
  expect(await exited(child)).toBe(2);
  const text = output();
  expect(text).toMatch(/cannot start/);
  expect(text).toMatch(/PORT: .*"eighty"/);
  expect(text).toMatch(/LOG_LEVEL: /);
  expect(text).toMatch(/DATABASE_URL: must be postgresql/);
  expect(text).not.toMatch(/\n\s+at /); // no stack trace
}, 30_000);

test('a standalone service without its required variables lists each missing one', async () => {
  const { DATABASE_URL: _d, KAFKA_BROKERS: _k, PORT: _p, ...clean } = process.env;
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'ipam', 'main.js')], {
    cwd: repoRoot,
    env: { ...clean, IPAM_DEFAULT_HOLD_SECONDS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  expect(await exited(child)).toBe(2);
  for (const name of ['PORT', 'DATABASE_URL', 'KAFKA_BROKERS', 'IPAM_DEFAULT_HOLD_SECONDS'])
    expect(text).toContain(`${name}:`);
}, 30_000);
