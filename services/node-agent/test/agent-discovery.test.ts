/**
 * What the agent samples, learnt from the node's Docker daemon (node3 here) through a
 * recording proxy: containers started after the agent are in the next interval's batch,
 * stopped ones are gone from the next one, each container's files are opened once per
 * generation, and in cgroup mode the stats endpoint is never called.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { startTestAgent, type TestAgent } from './support/agent-harness';
import { startRecordingDockerProxy, type RecordingDockerProxy } from './support/recording-docker-proxy';
import { removeLabelled, rigNode, runContainer, testLabel, until } from './support/rig-docker';

const node = rigNode('node3');
const label = testLabel('discovery');
const INTERVAL = 300;
let proxy: RecordingDockerProxy;
let t: TestAgent;
let opens: jest.SpyInstance;

const has = (batchIndex: number, ref: string) => t.batches[batchIndex]!.samples.some((s) => s.ref === ref);

beforeAll(async () => {
  proxy = await startRecordingDockerProxy(node.socket);
  opens = jest.spyOn(fs, 'openSync');
  t = await startTestAgent({ node: 'node3', socket: proxy.socket, intervalMs: INTERVAL, heartbeatEvery: 2 });
});

afterAll(async () => {
  opens?.mockRestore();
  await t?.stop();
  await proxy?.close();
  await removeLabelled(node, label);
});

describe('the agent follows the node’s containers', () => {
  test('a container started after the agent is in the batch of the next interval, named in the inventory', async () => {
    const platformId = randomUUID();
    const c = await runContainer(node, {
      label,
      name: `${label.value}-late`,
      cmd: ['sleep', '3600'],
      labels: { 'testbed.container-id': platformId },
    });
    const startedAt = Date.now();
    const first = await until(
      'a batch after the next interval',
      () => {
        const i = t.batches.findIndex((b) => b.t >= startedAt + INTERVAL);
        return i >= 0 ? i : undefined;
      },
      5 * INTERVAL + 2000,
    );
    expect(has(first, c.ref)).toBe(true);
    expect(t.batches[first]!.source).toBe('cgroup-v1');
    const sample = t.batches[first]!.samples.find((s) => s.ref === c.ref)!;
    expect(sample.generation).toBe(1);
    expect(sample.memoryUsageBytes).toBeGreaterThan(0);
    const entry = await until(
      'the inventory naming it',
      () => t.heartbeats.flatMap((h) => h.inventory ?? []).find((e) => e.ref === c.ref),
      10 * INTERVAL + 2000,
    );
    expect(entry).toMatchObject({
      id: c.id,
      name: `${label.value}-late`,
      image: 'testbed/busybox',
      platformId,
    });
  });

  test('each of its files is opened once while it runs, however many intervals read it', async () => {
    const c = await runContainer(node, { label, cmd: ['sleep', '3600'] });
    const seen = await until(
      'three batches with it',
      () => {
        const n = t.batches.filter((b) => b.samples.some((s) => s.ref === c.ref)).length;
        return n >= 3 ? n : undefined;
      },
      20 * INTERVAL,
    );
    expect(seen).toBeGreaterThanOrEqual(3);
    const paths = opens.mock.calls.map((call) => String(call[0]));
    // cpuacct.usage, memory.usage_in_bytes, memory.stat, memory.limit_in_bytes, pids.current,
    // cpu.cfs_quota_us, cpu.cfs_period_us: once each.
    expect(paths.filter((p) => p.includes(c.id)).sort()).toHaveLength(7);
    expect(paths.filter((p) => p === `/proc/${c.pid}/net/dev`)).toHaveLength(1);
  });

  test('a stopped container is gone from the next batch, and its files are closed', async () => {
    const c = await runContainer(node, { label, cmd: ['sleep', '3600'] });
    await until(
      'it sampled',
      () => (t.batches.some((b) => b.samples.some((s) => s.ref === c.ref)) ? true : undefined),
      20 * INTERVAL,
    );
    await c.container.stop({ t: 0 });
    const stoppedAt = Date.now();
    const next = await until(
      'a batch after the next interval',
      () => {
        const i = t.batches.findIndex((b) => b.t >= stoppedAt + INTERVAL);
        return i >= 0 ? i : undefined;
      },
      5 * INTERVAL + 2000,
    );
    expect(has(next, c.ref)).toBe(false);
    for (let i = next; i < t.batches.length; i++) expect(has(i, c.ref)).toBe(false);
    const openFds = fs
      .readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      })
      .filter((target) => target.includes(c.id) || target.startsWith(`/proc/${c.pid}/`));
    expect(openFds).toEqual([]);
  });

  test('in cgroup mode the agent never calls the stats endpoint: it lists, inspects and follows events', () => {
    const requests = proxy.requests();
    expect(requests.some((r) => /^GET \S*\/events\?/.test(r))).toBe(true);
    expect(requests.some((r) => /^GET \S*\/containers\/json\?/.test(r))).toBe(true);
    expect(requests.some((r) => /^GET \S*\/containers\/[0-9a-f]{64}\/json/.test(r))).toBe(true);
    expect(requests.filter((r) => r.includes('/stats'))).toEqual([]);
    // Every batch since the start, in order: 1, 2, 3…
    expect(t.batches.map((b) => b.seq)).toEqual(t.batches.map((_, i) => i + 1));
  });
});
