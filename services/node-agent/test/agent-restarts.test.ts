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
/** CPU each run spins for before the next restart; the first sample of a run comes within ~2 intervals. */
const RUN_CPU_USEC = 800_000;
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
    // Let each run be sampled, and long enough that its counters are well past where the next
    // run's first sample will be: only then does every restart show as CPU going back. A count of
    // samples is not enough (samples of the old run can arrive after the restart, a batch in
    // flight), nor one sample of the new run (taken late in a short run, it can be above the next).
    await until(
      `restart ${i + 1}'s run sampled with ${RUN_CPU_USEC / 1e6} s of CPU`,
      () => (samplesOf().some((s) => s.generation > before && s.cpuUsec >= RUN_CPU_USEC) ? true : undefined),
      50 * INTERVAL,
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
