import { createLogger } from '../../src/log/logger';
import { enqueueEvent, startOutboxRelay, type OutboxMessage, type OutboxPublisher } from '../../src/bus';
import { openBusTestDatabase, topicName, type BusTestDatabase } from './bus-rig';
import { waitFor } from '@testbed/test-support/wait';

// Real Postgres from the rig; the publisher is the relay's own extension point, recording what
// each relay sends (Kafka's part is covered by the kill test).
let rig: BusTestDatabase;
const logger = createLogger({ name: 'relay-concurrency-test', level: 'silent' });

beforeAll(async () => {
  rig = await openBusTestDatabase();
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

function recordingPublisher(name: string, log: { relay: string; msg: OutboxMessage }[]): OutboxPublisher {
  return {
    system: 'test',
    async publish(messages) {
      for (const msg of messages) log.push({ relay: name, msg });
      // Hold the claimed rows a while, so the relays' passes overlap.
      await new Promise((r) => setTimeout(r, 15));
    },
  };
}

it('three relays at once publish every row once, and keep the order of each key', async () => {
  const N = 3_000;
  const topic = topicName();
  const sent: { relay: string; msg: OutboxMessage }[] = [];
  const relays = ['r1', 'r2', 'r3'].map((name) =>
    startOutboxRelay({
      db: rig.db,
      publisher: recordingPublisher(name, sent),
      logger,
      pollMs: 10,
      batchSize: 50,
    }),
  );
  try {
    for (let b = 0; b < N / 100; b++) {
      await rig.db.prisma.$transaction(async (tx) => {
        for (let j = 0; j < 100; j++) {
          const i = b * 100 + j;
          await enqueueEvent(tx, { source: 'test', topic, key: `k${i % 7}`, type: 't', data: { i } });
        }
      });
    }
    await waitFor(
      'every row published',
      async () => {
        const [r] = await rig.db.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM bus.outbox WHERE topic = ${topic} AND published_at IS NULL`;
        return r!.n === 0;
      },
      60_000,
      50,
    );
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
  }

  const ids = sent.map((s) => s.msg.id);
  expect(ids).toHaveLength(N);
  expect(new Set(ids).size).toBe(N);
  // All three took part (SKIP LOCKED shares the work instead of serialising it).
  expect(new Set(sent.map((s) => s.relay)).size).toBe(3);
  const last = new Map<string, number>();
  const outOfOrder = sent.filter(({ msg }) => {
    const i = (msg.event as { data: { i: number } }).data.i;
    const before = last.get(msg.key) ?? -1;
    last.set(msg.key, i);
    return i < before;
  });
  expect(outOfOrder).toEqual([]);
});
