/**
 * The agent as the embedded default runs it for its `local` node: in the host's process, its
 * sink the kit's in-process record streams (what the embedded host hands it as bus.records).
 */
import { removeLabelled, rigNode, runContainer, testLabel, until } from './support/rig-docker';
import { startTestAgent, type TestAgent } from './support/agent-harness';

const node = rigNode('node1');
const label = testLabel('embedded');
const INTERVAL = 250;
let t: TestAgent;

afterAll(async () => {
  await t?.stop();
  await removeLabelled(node, label);
});

test('an in-process agent delivers decodable batches on schedule and heartbeats with the inventory', async () => {
  const c = await runContainer(node, { label, name: `${label.value}-c`, cmd: ['sleep', '3600'] });
  t = await startTestAgent({ node: 'local', socket: node.socket, intervalMs: INTERVAL, heartbeatEvery: 4 });
  const status = t.agent.status();
  await until('12 batches', () => (t.batches.length >= 12 ? true : undefined), 40 * INTERVAL);

  const batches = t.batches.slice(0, 12);
  const slots: number[] = [];
  for (const [i, b] of batches.entries()) {
    expect(b).toMatchObject({
      node: 'local',
      epoch: status.epoch,
      seq: i + 1,
      intervalMs: INTERVAL,
      source: 'cgroup-v1',
    });
    expect(b.cpus).toBeGreaterThan(0);
    // Scheduled against the epoch: each batch is read in an interval of its own, k × interval
    // after the epoch (Node's timers may fire up to 2 ms early on the loop's clock). How late
    // within it depends on the machine's load; the exact instants are the ticker's unit test's.
    slots.push(Math.floor((b.t + 2 - status.epoch) / INTERVAL));
  }
  expect(slots[0]).toBe(0);
  for (let i = 1; i < slots.length; i++) expect(slots[i]!).toBeGreaterThan(slots[i - 1]!);
  const mine = batches.map((b) => b.samples.find((s) => s.ref === c.ref));
  expect(mine.every((s) => s !== undefined && s.generation === 1 && s.pids === 1)).toBe(true);

  await until('two heartbeats', () => (t.heartbeats.length >= 2 ? true : undefined), 20 * INTERVAL);
  const [first, second] = t.heartbeats;
  expect(first).toMatchObject({
    node: 'local',
    epoch: status.epoch,
    seq: 1,
    source: 'cgroup-v1',
    dropped: 0,
  });
  expect(first!.inventory?.find((e) => e.ref === c.ref)).toMatchObject({
    id: c.id,
    name: `${label.value}-c`,
  });
  expect(second!.seq).toBe(5);
  // node1's daemon is shared with the suite's other files: a container they started in
  // between changes the inventory, and the second beat then carries the new one. Either way the
  // count is that of the inventory the node last announced.
  expect(second!.containers).toBe((second!.inventory ?? first!.inventory!).length);
});
