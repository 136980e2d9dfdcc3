/**
 * `npm run start:services` against the rig: ipam, provisioning, quota and stats each as its own
 * process on the rig's Postgres and Kafka, provisioning with the rig's three TLS nodes, and a node
 * agent per rig node. It checks they answer, that provisioning registered and reached
 * node1..node3, that each node's agent is heard by stats, and that SIGTERM stops them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateLocalKey, signLocalToken } from '@testbed/kit';
import { nodeAgentProcesses, serviceProcesses } from '../../deploy/local/services';
import { repoRoot, rigEnv } from '../support/rig';

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

test('the services and agents answer, provisioning reaches the rig’s nodes, stats hears every agent, and SIGTERM stops them all', async () => {
  const agents = nodeAgentProcesses(rigEnv('TESTBED_NODES'));
  expect(agents.map((a) => a.name)).toEqual(['node-agent-node1', 'node-agent-node2', 'node-agent-node3']);
  for (const s of [...serviceProcesses, ...agents]) {
    await until(
      async () => ((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status === 200 ? true : undefined),
      90_000,
      `${s.name} ready`,
    );
  }
  expect(serviceProcesses.map((s) => s.name).sort()).toEqual(['ipam', 'provisioning', 'quota', 'stats']);
  // Each is its production bundle on plain node, no TypeScript at run time.
  for (const s of [...serviceProcesses, ...agents]) {
    expect(output).toContain(`[${s.name}] starting on http://127.0.0.1:${s.port}: node `);
    const pids = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return fs
            .readFileSync(`/proc/${d}/cmdline`, 'utf8')
            .split('\0')
            .includes(path.join(repoRoot, s.entry));
        } catch {
          return false;
        }
      });
    expect(pids.length).toBeGreaterThanOrEqual(1);
    for (const pid of pids) {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv[0]).toBe(process.execPath);
      expect(argv.join(' ')).not.toMatch(/tsx|\.ts\b/);
    }
  }

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

  // Each agent's heartbeat reaches stats through Kafka.
  await until(
    async () => {
      const res = await fetch(url('stats', '/v1/stats/nodes'), {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { items: { node: string; source: string }[] };
      const heard = body.items.filter((a) => a.source === 'cgroup-v1').map((a) => a.node);
      return ['node1', 'node2', 'node3'].every((n) => heard.includes(n)) ? true : undefined;
    },
    60_000,
    'stats to hear the agents of node1..node3',
  );
  for (const a of agents) expect((await fetch(`http://127.0.0.1:${a.port}/metrics`)).status).toBe(200);

  const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  child!.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
  expect(code).toBe(0);
  expect(output).toMatch(/\[ipam\] exited/);
  expect(output).toMatch(/\[provisioning\] exited/);
  expect(output).toMatch(/\[quota\] exited/);
  expect(output).toMatch(/\[stats\] exited/);
  for (const a of agents) expect(output).toMatch(new RegExp(`\\[${a.name}\\] exited`));
});
