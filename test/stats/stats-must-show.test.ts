/**
 * Issue 9, must show, on the rig (three daemons, Kafka, Postgres): 20 containers on each node, 5
 * of them burning CPU (two capped, three not), sampled by a real node agent per node (its own
 * process) and ingested by the stats service through Kafka into Postgres.
 * - within 10 s the live stream shows every container;
 * - each CPU figure is within 2 points of Docker's own stats over the same window, memory within
 *   max(1 MiB, 1 %) of Docker's figure; rx/tx rise when two containers exchange traffic and match
 *   the container's own counters;
 * - a busy container restarted 20 times: no negative CPU, none above 100 % times the node's CPUs;
 *   a stopped container leaves the live view within two intervals;
 * - user B's live stream and history never carry user A's containers.
 * The platform (ipam, quota, provisioning, stats) runs in this process on a fresh database and a
 * Kafka namespace of its own; addresses 10.64.98.100-179 belong to this file. Traffic goes only
 * between two containers on node1's macvlan network, whose parent is a veth of the rig.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { createQuotaService, defaultQuotaConfig } from '@testbed/quota';
import { createProvisioningService, defaultProvisioningConfig } from '@testbed/provisioning';
import { createStatsService, defaultStatsConfig } from '@testbed/stats';
import { registerRigNodes, testPlatform } from '@testbed/test-support/fixtures/provisioning';
import { openLive, type LiveClient } from '../../services/stats/test/live-client';
import { rigEnv } from '../support/rig';
import { AGENT_NODE_FLAGS } from '@testbed/node-agent/src/node-flags';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { startTestHost, type TestHost } from '../support/test-host';

jest.setTimeout(600_000);

const NODES = ['node1', 'node2', 'node3'];
const INTERVAL_MS = 3000;
const platform = testPlatform();
const env = rigEnv('TESTBED_NODES', 'NODE1_DOCKER_SOCKET', 'KAFKA_BROKERS');
const dockers = Object.fromEntries(
  NODES.map((n) => [n, new Docker({ socketPath: env[`${n.toUpperCase()}_DOCKER_SOCKET`]! })]),
);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stats-must-show-'));
const agents: ServiceProcess[] = [];
let host: TestHost;
let ops: LiveClient;
let ben: LiveClient;

interface Made {
  id: string;
  node: string;
  owner: string;
  name: string;
  ip: string;
  burner: 'capped' | 'uncapped' | undefined;
  dockerId: string;
}
const made: Made[] = [];
const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { prefer: 'wait=120' } });
const BURN = ['sh', '-c', 'while :; do :; done'];
// Uncapped burners yield to everything else on this 2-core machine (nice 19): they still burn.
const BURN_NICE = ['sh', '-c', 'renice -n 19 $$ >/dev/null; while :; do :; done'];

type Sample = {
  t: string;
  containerId: string;
  cpuPercent: number | null;
  memoryBytes: number;
  rxBytes: number;
  txBytes: number;
};
const samplesOf = (c: LiveClient, id?: string): Sample[] =>
  c.messages
    .filter((m) => m.event === 'samples' || m.event === 'snapshot')
    .flatMap((m) => (m.data as { items: Sample[] }).items)
    .filter((s) => !id || s.containerId === id);

async function until<T>(probe: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what} ${String(last ?? '')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function dockerIdOf(node: string, containerId: string): Promise<string> {
  const [c] = await dockers[node]!.listContainers({
    filters: { label: [`testbed.container-id=${containerId}`] },
  });
  if (!c) throw new Error(`no Docker container for ${containerId} on ${node}`);
  return c.Id;
}

async function exec(node: string, dockerId: string, cmd: string[]): Promise<string> {
  const e = await dockers[node]!.getContainer(dockerId).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await e.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (b: Buffer) => chunks.push(b));
    stream.on('end', resolve);
    stream.on('error', reject);
    setTimeout(() => reject(new Error(`exec ${cmd.join(' ')} timed out`)), 60_000).unref();
  });
  // Docker multiplexes stdout and stderr: 8-byte headers before each frame.
  const all = Buffer.concat(chunks);
  let out = '';
  for (let at = 0; at + 8 <= all.length;) {
    const n = all.readUInt32BE(at + 4);
    out += all.subarray(at + 8, at + 8 + n).toString();
    at += 8 + n;
  }
  return out;
}

async function create(owner: string, body: Record<string, unknown>, burner?: Made['burner']): Promise<void> {
  const res = await host.call(owner, 'user', '/v1/containers', { method: 'POST', ...json(body) });
  const op = (await res.json()) as {
    state: string;
    items?: { containerId: string; ip: string }[];
    result?: { containerId: string; ip: string };
  };
  if (op.state !== 'succeeded') throw new Error(`container ${String(body.name)}: ${JSON.stringify(op)}`);
  const item = op.items?.[0] ?? op.result!;
  made.push({
    id: item.containerId,
    node: String(body.node),
    owner,
    name: String(body.name),
    ip: item.ip,
    burner,
    dockerId: '',
  });
}

beforeAll(async () => {
  host = await startTestHost({
    name: 'stats-must-show',
    database: 'postgres',
    bus: 'kafka',
    modules: (deps) => [
      createIpamService({
        ...deps,
        source: 'ipam',
        config: { ...defaultIpamConfig, IPAM_EXPERIMENT_RANGE: '10.64.98.100-10.64.98.179' },
      }),
      createQuotaService({
        ...deps,
        source: 'quota',
        config: {
          ...defaultQuotaConfig,
          QUOTA_ENFORCE_RESERVATIONS: false,
          QUOTA_KNOWN_NODES: NODES.join(','),
        },
      }),
      createProvisioningService({
        ...deps,
        source: 'provisioning',
        config: { ...defaultProvisioningConfig, PROVISIONING_PLATFORM_ID: platform },
      }),
      createStatsService({ ...deps, source: 'stats', config: defaultStatsConfig }),
    ],
  });
  await registerRigNodes(host, NODES);
  for (const user of ['ada', 'ben'])
    expect(
      (
        await host.call('ops', 'operator', `/v1/users/${user}/quota`, {
          method: 'PUT',
          body: JSON.stringify({
            maxContainers: 100,
            maxCpuMillis: 100_000,
            maxMemoryBytes: 64 * 1024 ** 3,
            maxAddresses: 100,
          }),
        })
      ).status,
    ).toBeLessThan(300);
  for (const node of NODES) {
    const up = node.toUpperCase();
    agents.push(
      await startServiceProcess(
        'node-agent',
        {
          NODE_AGENT_NODE: node,
          DOCKER_HOST: `unix://${env[`${up}_DOCKER_SOCKET`]}`,
          NODE_AGENT_LISTEN_HOST: '127.0.0.1',
          NODE_AGENT_INTERVAL_MS: String(INTERVAL_MS),
          KAFKA_BROKERS: env.KAFKA_BROKERS!,
          KAFKA_NAMESPACE: host.kafkaNamespace,
          LOG_LEVEL: 'warn',
        },
        path.join(dataDir, `agent-${node}.log`),
        { portVariable: 'NODE_AGENT_PORT', runner: 'compiled', nodeFlags: AGENT_NODE_FLAGS },
      ),
    );
  }
  ops = await openLive(`${host.url}/v1/stats/live`, await host.token('ops', 'operator'));
  ben = await openLive(`${host.url}/v1/stats/live`, await host.token('ben'));
  // Per node: 13 idle for ada, 2 idle for ben, 2 capped burners (0.15 CPU) and 3 uncapped ones.
  for (const node of NODES) {
    const res = await host.call('ada', 'user', '/v1/batches', {
      method: 'POST',
      ...json({ namePrefix: `ms-${node}-idle`, count: 13, image: 'testbed/busybox', nodes: [node] }),
    });
    const op = (await res.json()) as {
      state: string;
      items: { name: string; containerId: string; ip: string }[];
    };
    if (op.state !== 'succeeded') throw new Error(`batch on ${node}: ${JSON.stringify(op)}`);
    for (const i of op.items)
      made.push({
        id: i.containerId,
        node,
        owner: 'ada',
        name: i.name,
        ip: i.ip,
        burner: undefined,
        dockerId: '',
      });
    for (const k of [1, 2])
      await create('ben', { node, name: `ms-${node}-ben-${k}`, image: 'testbed/busybox' });
    for (const k of [1, 2])
      await create(
        'ada',
        { node, name: `ms-${node}-cap-${k}`, image: 'testbed/busybox', cpuMillis: 150, command: BURN },
        'capped',
      );
    for (const k of [1, 2, 3])
      await create(
        'ada',
        { node, name: `ms-${node}-hot-${k}`, image: 'testbed/busybox', cpuMillis: 2000, command: BURN_NICE },
        'uncapped',
      );
  }
  for (const m of made) m.dockerId = await dockerIdOf(m.node, m.id);
});

afterAll(async () => {
  ops?.close();
  ben?.close();
  for (const a of agents) await a.stop();
  for (const d of Object.values(dockers))
    for (const c of await d.listContainers({
      all: true,
      filters: { label: [`testbed.platform=${platform}`] },
    }))
      await d
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
  await host?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('60 containers, each shown by the live stream within 10 s', async () => {
  expect(made).toHaveLength(60);
  const fresh = ops.messages.length;
  await until(
    async () => {
      const seen = new Set(
        ops.messages
          .slice(fresh)
          .flatMap((m) =>
            m.event === 'samples' ? (m.data as { items: Sample[] }).items.map((s) => s.containerId) : [],
          ),
      );
      return made.every((m) => seen.has(m.id));
    },
    10_000,
    'every container in the live stream',
  );
});

test("CPU within 2 points of Docker's stats over the same windows, memory within max(1 MiB, 1 %)", async () => {
  const watched = [...made.filter((m) => m.burner), ...made.filter((m) => !m.burner).slice(0, 3)];
  // Docker's own stats, streamed (a reading a second): total_usage at each `read`.
  const docker = new Map<string, { t: number; usage: number; mem: number }[]>();
  const streams = await Promise.all(
    watched.map(async (m) => {
      const stream = (await dockers[m.node]!.getContainer(m.dockerId).stats({
        stream: true,
      })) as unknown as NodeJS.ReadableStream;
      const points: { t: number; usage: number; mem: number }[] = [];
      docker.set(m.id, points);
      let buf = '';
      stream.on('data', (b: Buffer) => {
        buf += b.toString();
        for (let nl; (nl = buf.indexOf('\n')) >= 0;) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          const s = JSON.parse(line) as {
            read: string;
            cpu_stats: { cpu_usage: { total_usage: number } };
            memory_stats: { usage: number; stats: { total_inactive_file?: number; inactive_file?: number } };
          };
          const inactive =
            s.memory_stats.stats.total_inactive_file ?? s.memory_stats.stats.inactive_file ?? 0;
          points.push({
            t: Date.parse(s.read),
            usage: s.cpu_stats.cpu_usage.total_usage,
            mem: inactive < s.memory_stats.usage ? s.memory_stats.usage - inactive : s.memory_stats.usage,
          });
        }
      });
      return stream;
    }),
  );
  const from = ops.messages.length;
  await new Promise((r) => setTimeout(r, 16_000));
  for (const s of streams) (s as unknown as { destroy(): void }).destroy();

  const dockerAt = (pts: { t: number; usage: number }[], t: number): number | undefined => {
    const i = pts.findIndex((p) => p.t >= t);
    if (i <= 0) return undefined;
    const a = pts[i - 1]!;
    const b = pts[i]!;
    return a.usage + ((b.usage - a.usage) * (t - a.t)) / (b.t - a.t);
  };
  let compared = 0;
  const worst: string[] = [];
  for (const m of watched) {
    const ours = ops.messages
      .slice(from)
      .filter((x) => x.event === 'samples')
      .flatMap((x) => (x.data as { items: Sample[] }).items)
      .filter((s) => s.containerId === m.id);
    const pts = docker.get(m.id)!;
    for (let i = 1; i < ours.length; i++) {
      const t0 = Date.parse(ours[i - 1]!.t);
      const t1 = Date.parse(ours[i]!.t);
      const u0 = dockerAt(pts, t0);
      const u1 = dockerAt(pts, t1);
      if (u0 === undefined || u1 === undefined || ours[i]!.cpuPercent === null) continue;
      const theirs = ((u1 - u0) / 1e6 / (t1 - t0)) * 100;
      compared++;
      const diff = Math.abs(ours[i]!.cpuPercent! - theirs);
      if (diff > 2)
        worst.push(
          `${m.name} at ${ours[i]!.t}: ours ${ours[i]!.cpuPercent!.toFixed(2)} docker ${theirs.toFixed(2)}`,
        );
    }
    // Memory: our newest sample against Docker's reading nearest to it.
    const last = ours.at(-1)!;
    const near = pts.reduce((a, b) =>
      Math.abs(b.t - Date.parse(last.t)) < Math.abs(a.t - Date.parse(last.t)) ? b : a,
    );
    expect(Math.abs(last.memoryBytes - near.mem)).toBeLessThanOrEqual(Math.max(1024 * 1024, near.mem * 0.01));
  }
  expect(worst).toEqual([]);
  expect(compared).toBeGreaterThanOrEqual(watched.length * 3);
  // 15 burners share 2 cores, so none gets its cap for sure; a capped one never gets more.
  for (const m of made.filter((x) => x.burner === 'capped'))
    for (const s of samplesOf(ops, m.id))
      if (s.cpuPercent !== null) expect(s.cpuPercent).toBeLessThan(15 + 1);
});

test("rx/tx rise when two containers exchange traffic, and match the containers' own counters", async () => {
  const [server, client] = made.filter((m) => m.node === 'node1' && m.owner === 'ada' && !m.burner);
  await exec('node1', server!.dockerId, [
    'sh',
    '-c',
    'dd if=/dev/zero of=/tmp/blob bs=1024 count=2048 2>/dev/null; httpd -p 8080 -h /tmp',
  ]);
  const before = samplesOf(ops, client!.id).at(-1)!;
  const t0 = Date.now();
  await exec('node1', client!.dockerId, [
    'sh',
    '-c',
    `for i in 1 2 3; do wget -q -O /dev/null http://${server!.ip}:8080/blob; done`,
  ]);
  // Quiet again: two samples in a row with the same counters, then the container's own view.
  const quiet = await until(
    async () => {
      const xs = samplesOf(ops, client!.id).filter((s) => Date.parse(s.t) > t0);
      const [a, b] = xs.slice(-2);
      return a && b && a.rxBytes === b.rxBytes && a.txBytes === b.txBytes && b.rxBytes > before.rxBytes
        ? b
        : undefined;
    },
    30_000,
    'the client quiet after its downloads',
  );
  expect(quiet.rxBytes - before.rxBytes).toBeGreaterThan(3 * 2048 * 1024);
  const rose = samplesOf(ops, client!.id)
    .filter((s) => Date.parse(s.t) > t0)
    .some((s) => (s as Sample & { rxBytesPerSecond: number }).rxBytesPerSecond > 100_000);
  expect(rose).toBe(true);
  const own = await exec('node1', client!.dockerId, ['cat', '/proc/net/dev']);
  let rx = 0;
  let tx = 0;
  for (const line of own.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest || name!.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    rx += f[0]!;
    tx += f[8]!;
  }
  const after = samplesOf(ops, client!.id).at(-1)!;
  expect({ rx: after.rxBytes, tx: after.txBytes }).toEqual({ rx, tx });
  // The server sent what the client received (give or take the protocols' own packets).
  const served = samplesOf(ops, server!.id).at(-1)!;
  expect(served.txBytes).toBeGreaterThan(3 * 2048 * 1024);
});

test('a busy container restarted 20 times: no negative CPU, none above 100 % times the CPUs; a stopped one leaves within two intervals', async () => {
  const busy = made.find((m) => m.node === 'node2' && m.burner === 'capped')!;
  const from = ops.messages.length;
  const t0 = new Date();
  for (let i = 0; i < 20; i++) {
    await dockers.node2!.getContainer(busy.dockerId).restart({ t: 0 });
    await new Promise((r) => setTimeout(r, 700));
  }
  await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
  const cpus = os.availableParallelism();
  const liveOfBusy = () =>
    ops.messages
      .slice(from)
      .filter((m) => m.event === 'samples')
      .flatMap((m) => (m.data as { items: Sample[] }).items)
      .filter((s) => s.containerId === busy.id);
  // A sample falls on a restart now and then (no cgroup to read), and on a loaded machine the
  // restarts are slower: at least 5, waiting at most 10 more intervals for them.
  const live = await until(
    async () => {
      const xs = liveOfBusy();
      return xs.length >= 5 ? xs : undefined;
    },
    10 * INTERVAL_MS,
    '5 live samples of the restarted container',
  );
  for (const s of live) if (s.cpuPercent !== null) expect(s.cpuPercent).toBeGreaterThanOrEqual(0);
  for (const s of live) if (s.cpuPercent !== null) expect(s.cpuPercent).toBeLessThanOrEqual(100 * cpus);
  const res = await host.call(
    'ops',
    'operator',
    `/v1/containers/${busy.id}/stats?from=${t0.toISOString()}&step=1`,
  );
  const history = (await res.json()) as {
    points: { cpuPercent: number | null; cpuPercentMax: number | null }[];
  };
  expect(history.points.length).toBeGreaterThan(3);
  for (const p of history.points) {
    if (p.cpuPercentMax === null) continue;
    expect(p.cpuPercentMax).toBeLessThanOrEqual(100 * cpus);
    expect(p.cpuPercent!).toBeGreaterThanOrEqual(0);
  }

  const quiet = made.find((m) => m.node === 'node3' && m.owner === 'ada' && !m.burner)!;
  const stopRes = await host.call('ada', 'user', `/v1/containers/${quiet.id}/stop`, {
    method: 'POST',
    headers: { prefer: 'wait=60' },
  });
  expect(stopRes.status).toBeLessThan(300);
  const stoppedAt = Date.now();
  const gone = await ops.next(
    (m) => m.event === 'gone' && (m.data as { containerIds: string[] }).containerIds.includes(quiet.id),
    2 * INTERVAL_MS + 2000,
  );
  expect(gone.receivedAt - stoppedAt).toBeLessThanOrEqual(2 * INTERVAL_MS);
  const overview = (await (await host.call('ada', 'user', '/v1/stats/containers')).json()) as {
    items: { containerId: string }[];
  };
  expect(overview.items.map((i) => i.containerId)).not.toContain(quiet.id);
});

test("user B's live stream and history never carry user A's containers", async () => {
  const bens = new Set(made.filter((m) => m.owner === 'ben').map((m) => m.id));
  const seen = new Set(samplesOf(ben).map((s) => s.containerId));
  expect([...seen].sort()).toEqual([...bens].sort());
  const ada = made.find((m) => m.owner === 'ada')!;
  expect((await host.call('ben', 'user', `/v1/containers/${ada.id}/stats`)).status).toBe(404);
  expect((await host.call('ben', 'user', `/v1/containers/${[...bens][0]}/stats`)).status).toBe(200);
  const totals = (await (await host.call('ben', 'user', '/v1/nodes/node1/stats?step=10')).json()) as {
    points: { containers: number }[];
  };
  expect(totals.points.length).toBeGreaterThan(0);
  for (const p of totals.points) expect(p.containers).toBeLessThanOrEqual(2);
});
