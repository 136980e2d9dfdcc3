/**
 * A busy container restarted again and again: each start is a new cgroup, so the agent opens
 * the files anew with the next generation, and within a generation CPU never goes back — the
 * stats service's deltas are never negative.
 */
import { startTestAgent, type TestAgent } from './support/agent-harness';
import { removeLabelled, rigNode, runContainer, testLabel, until } from './support/rig-docker';

const node = rigNode('node1');
const label = testLabel('restarts');
const INTERVAL = 200;
const RESTARTS = 20;
let t: TestAgent;

beforeAll(async () => {
  t = await startTestAgent({ node: 'node1', socket: node.socket, intervalMs: INTERVAL, heartbeatEvery: 10 });
});

afterAll(async () => {
  await t?.stop();
  await removeLabelled(node, label);
});

test(`a busy container restarted ${RESTARTS} times: a new generation each time, no CPU delta ever negative`, async () => {
  const c = await runContainer(node, { label, cmd: ['sh', '-c', 'while :; do :; done'] });
  const samplesOf = () =>
    t.batches.flatMap((b) => b.samples.filter((s) => s.ref === c.ref).map((s) => ({ ...s, seq: b.seq })));
  await until('sampled twice', () => (samplesOf().length >= 2 ? true : undefined), 20 * INTERVAL);
  const newestGeneration = () => Math.max(0, ...samplesOf().map((s) => s.generation));
  for (let i = 0; i < RESTARTS; i++) {
    const before = newestGeneration();
    await c.container.restart({ t: 0 });
    // Let each run be sampled at least once, so that every generation shows in the batches. A
    // count of samples is not enough: samples of the old run taken just before the restart can
    // arrive after it (a batch in flight), and the next restart would then come unsampled.
    await until(
      `a new generation sampled after restart ${i + 1}`,
      () => (newestGeneration() > before ? true : undefined),
      30 * INTERVAL,
    );
  }
  const samples = samplesOf();
  let drops = 0;
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1]!, samples[i]!];
    expect(b.seq).toBeGreaterThan(a.seq);
    expect(b.generation).toBeGreaterThanOrEqual(a.generation);
    if (b.generation === a.generation) expect(b.cpuUsec).toBeGreaterThanOrEqual(a.cpuUsec);
    else if (b.cpuUsec < a.cpuUsec) drops++;
  }
  const generations = new Set(samples.map((s) => s.generation));
  expect(generations.size).toBeGreaterThanOrEqual(RESTARTS + 1);
  expect(samples.at(-1)!.generation).toBeGreaterThanOrEqual(RESTARTS + 1);
  // The counters did start over (a new cgroup): without generations these would be negative deltas.
  expect(drops).toBeGreaterThanOrEqual(RESTARTS / 2);
}, 180_000);
