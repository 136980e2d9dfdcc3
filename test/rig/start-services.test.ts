/**
 * `npm run start:services` against the rig: ipam, provisioning and quota each as its own process
 * on the rig's Postgres and Kafka, provisioning with the rig's three TLS nodes. It checks the three
 * answer, that provisioning registered and reached node1..node3, and that SIGTERM stops them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateLocalKey, signLocalToken } from '@testbed/kit';
import { serviceProcesses } from '../../deploy/local/services';
import { repoRoot } from '../support/rig';

jest.setTimeout(180_000);

let child: ChildProcess | undefined;
let output = '';
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-services-'));
const url = (name: string, p: string) =>
  `http://127.0.0.1:${serviceProcesses.find((s) => s.name === name)!.port}${p}`;

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}; output:\n${output.slice(-4000)}`);
}

beforeAll(async () => {
  // One signing key for the three processes (they share DATA_DIR), made before they start.
  await loadOrCreateLocalKey(dataDir);
  child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['deploy/local/start-services.ts'], {
    cwd: repoRoot,
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('the three services answer, provisioning reaches the rig’s nodes, and SIGTERM stops them all', async () => {
  for (const s of serviceProcesses) {
    await until(
      async () => ((await fetch(url(s.name, '/readyz'))).status === 200 ? true : undefined),
      90_000,
      `${s.name} ready`,
    );
  }
  expect(serviceProcesses.map((s) => s.name).sort()).toEqual(['ipam', 'provisioning', 'quota']);

  const token = await signLocalToken(await loadOrCreateLocalKey(dataDir), {
    subject: 'ops',
    role: 'operator',
    issuer: 'testbed-local',
    audience: 'testbed',
  });
  const nodes = await until(
    async () => {
      const res = await fetch(url('provisioning', '/v1/nodes'), {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { items: { name: string; health: { state: string } }[] };
      const up = body.items.filter((n) => n.health.state === 'up').map((n) => n.name);
      return ['node1', 'node2', 'node3'].every((n) => up.includes(n)) ? body.items : undefined;
    },
    60_000,
    'node1..node3 registered and up',
  );
  expect(nodes.map((n) => n.name)).toEqual(expect.arrayContaining(['node1', 'node2', 'node3']));
  // quota knows the rig's nodes (start-services names them; provisioning's node.registered too).
  await until(
    async () => {
      const res = await fetch(
        url('quota', '/v1/nodes/node2/availability?from=2030-01-01T00:00:00Z&to=2030-01-02T00:00:00Z'),
        {
          headers: { authorization: `Bearer ${token}` },
        },
      );
      return res.status === 200 ? true : undefined;
    },
    60_000,
    'quota to know node2',
  );

  const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  child!.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
  expect(code).toBe(0);
  expect(output).toMatch(/\[ipam\] exited/);
  expect(output).toMatch(/\[provisioning\] exited/);
  expect(output).toMatch(/\[quota\] exited/);
});
