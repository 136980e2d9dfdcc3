/**
 * The cgroup v1 reader against real containers of the rig's daemons (cgroup v1 here, each node
 * with its own --cgroup-parent): the counters it reads are the kernel's, checked against what
 * Docker and the container itself say.
 */
import type { ContainerCounters, CounterReader } from '../src/cgroup/counters';
import { detectCgroupLayout, type CgroupRoots } from '../src/cgroup/layout';
import { openContainerCounters } from '../src/cgroup/open-container';
import {
  exec,
  removeLabelled,
  rigNode,
  runContainer,
  testLabel,
  type RigNode,
  type Running,
} from './support/rig-docker';

const roots: CgroupRoots = { cgroupRoot: '/sys/fs/cgroup', procRoot: '/proc' };
const label = testLabel('v1-reader');
const nodes = { node1: rigNode('node1'), node2: rigNode('node2'), node3: rigNode('node3') };
const readers: CounterReader[] = [];

function open(r: Running): CounterReader {
  const layout = detectCgroupLayout(roots);
  if (layout.version !== 1) throw new Error(`this rig reads cgroup v1, found ${JSON.stringify(layout)}`);
  const { reader, how } = openContainerCounters(layout, roots, 'cgroupfs', {
    id: r.id,
    pid: r.pid,
    cgroupParents: [''],
    hostNetwork: false,
  });
  expect(how).toBe('proc');
  readers.push(reader);
  return reader;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU used per second of wall time over `ms`, in cores. */
async function coresOver(reader: CounterReader, ms: number): Promise<number> {
  const a = reader.read().cpuUsec;
  const t0 = performance.now();
  await sleep(ms);
  const b = reader.read().cpuUsec;
  return (b - a) / ((performance.now() - t0) * 1000);
}

afterAll(async () => {
  for (const r of readers) r.close();
  await Promise.all(Object.values(nodes).map((n) => removeLabelled(n, label)));
});

describe('the cgroup v1 reader on the rig', () => {
  test('a busy container on node1 uses about one core per second, with no limit read', async () => {
    const busy = await runContainer(nodes.node1, { label, cmd: ['sh', '-c', 'while :; do :; done'] });
    const reader = open(busy);
    expect(reader.source).toBe('cgroup-v1');
    await sleep(300);
    const cores = await coresOver(reader, 2000);
    // One busy loop can use one core at most; other work on these 2 cores may take some of it.
    expect(cores).toBeGreaterThan(0.3);
    expect(cores).toBeLessThan(1.1);
    const c = reader.read();
    expect(c.cpuLimitMillis).toBeNull();
    expect(c.memoryLimitBytes).toBeNull();
  });

  test('a busy container capped at half a CPU on node2 reads 500 millicores and uses at most half a core', async () => {
    const busy = await runContainer(nodes.node2, {
      label,
      cmd: ['sh', '-c', 'while :; do :; done'],
      nanoCpus: 500_000_000,
    });
    const reader = open(busy);
    expect(reader.read().cpuLimitMillis).toBe(500);
    await sleep(300);
    const cores = await coresOver(reader, 2500);
    expect(cores).toBeGreaterThan(0.2);
    expect(cores).toBeLessThan(0.56);
  });

  test("memory used minus the inactive file cache is what Docker's one-shot stats say, and the limit as set (node3)", async () => {
    const node: RigNode = nodes.node3;
    const c = await runContainer(node, {
      label,
      memoryBytes: 64 * 1024 * 1024,
      // 16 MiB of tmpfs pages are charged to the container and stay: a steady figure to compare.
      cmd: ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=16 2>/dev/null; exec sleep 3600'],
    });
    const reader = open(c);
    let ours: ContainerCounters = reader.read();
    for (let i = 0; i < 100 && ours.memoryUsageBytes < 16 * 1024 * 1024; i++) {
      await sleep(50);
      ours = reader.read();
    }
    const stats = (await c.container.stats({ stream: false, 'one-shot': true })) as unknown as {
      memory_stats: { usage: number; stats: { total_inactive_file: number } };
    };
    ours = reader.read();
    const docker = stats.memory_stats.usage - stats.memory_stats.stats.total_inactive_file;
    const mine = ours.memoryUsageBytes - ours.memoryInactiveFileBytes;
    expect(mine).toBeGreaterThan(16 * 1024 * 1024);
    expect(Math.abs(mine - docker)).toBeLessThan(Math.max(1024 * 1024, docker * 0.1));
    expect(ours.memoryLimitBytes).toBe(64 * 1024 * 1024);
    expect(ours.cpuLimitMillis).toBeNull();
  });

  test('pids counts every process of the container', async () => {
    const c = await runContainer(nodes.node1, {
      label,
      cmd: ['sh', '-c', 'sleep 3600 & sleep 3600 & wait'],
      pidsLimit: 50,
    });
    const reader = open(c);
    // Until the shell has forked both: and while the container starts, the cgroup may still hold
    // runc's own init (a Go process: its threads count too), which a fresh CI on a busy machine
    // read as 6. The settled count is the container's three processes.
    let pids = reader.read().pids;
    for (let i = 0; i < 100 && pids !== 3; i++) {
      await sleep(50);
      pids = reader.read().pids;
    }
    expect(pids).toBe(3);
  });

  test("eth0's counters are what /proc/net/dev says inside the container, and the loopback is left out", async () => {
    const node = nodes.node1;
    // An internal bridge of the node: traffic between its containers never leaves the machine.
    const third = 100 + Math.floor(Math.random() * 100);
    const network = await node.docker.createNetwork({
      Name: `${label.value}-net`,
      Driver: 'bridge',
      Internal: true,
      Labels: { [label.key]: label.value },
      IPAM: { Config: [{ Subnet: `10.231.${third}.0/24`, Gateway: `10.231.${third}.1` }] },
    });
    const target = await runContainer(node, { label, network: network.id, cmd: ['sleep', '3600'] });
    const pinger = await runContainer(node, { label, network: network.id, cmd: ['sleep', '3600'] });
    const targetIp = (await target.container.inspect()).NetworkSettings.Networks[`${label.value}-net`]!
      .IPAddress;
    expect(targetIp).toMatch(/^10\.231\./);
    await exec(pinger, ['ping', '-c', '5', '-i', '0.2', '-W', '2', targetIp]);
    const reader = open(pinger);

    const before = reader.read().interfaces;
    const text = await exec(pinger, ['cat', '/proc/net/dev']);
    const after = reader.read().interfaces;
    expect(before.map((i) => i.name)).toEqual(['eth0']);
    const line = text.split('\n').find((l) => l.trim().startsWith('eth0:'))!;
    const f = line.split(':')[1]!.trim().split(/\s+/).map(Number);
    const inside = { rxBytes: f[0]!, rxPackets: f[1]!, txBytes: f[8]!, txPackets: f[9]! };
    expect(inside.txPackets).toBeGreaterThanOrEqual(5);
    // Read just before and just after the container's own look: its figures lie in between.
    for (const key of ['rxBytes', 'rxPackets', 'txBytes', 'txPackets'] as const) {
      expect(inside[key]).toBeGreaterThanOrEqual(before[0]![key]);
      expect(inside[key]).toBeLessThanOrEqual(after[0]![key]);
    }
  });
});
