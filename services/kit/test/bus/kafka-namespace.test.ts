import { randomUUID } from 'node:crypto';
import { createLogger } from '../../src/log/logger';
import { createKafkaBus, deleteKafkaTopics, enqueueEvent, type Bus, type CloudEvent } from '../../src/bus';
import { groupName, kafkaBrokers, openBusTestDatabase, type BusTestDatabase } from './bus-rig';
import { waitFor } from '@testbed/test-support/wait';

// Two platforms on one broker: the same logical topic and group, different namespaces.
let a: BusTestDatabase;
let b: BusTestDatabase;
const logger = createLogger({ name: 'kafka-namespace-test', level: 'silent' });
const topic = `ns-topic-${randomUUID()}`;
const group = groupName();
const namespaces = [`ns-a-${randomUUID().slice(0, 8)}`, `ns-b-${randomUUID().slice(0, 8)}`];
const seen: Record<string, string[]> = { a: [], b: [] };
const buses: Bus[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([openBusTestDatabase(), openBusTestDatabase()]);
  for (const [name, rig, namespace] of [
    ['a', a, namespaces[0]],
    ['b', b, namespaces[1]],
  ] as const) {
    const bus = createKafkaBus({
      brokers: kafkaBrokers(),
      clientId: `ns-${name}`,
      namespace,
      db: rig.db,
      logger,
      relay: { pollMs: 50 },
    });
    bus.subscribe({
      consumer: group,
      topics: [topic],
      handle: async (e: CloudEvent<unknown>) => void seen[name]!.push(e.id),
    });
    await bus.start();
    buses.push(bus);
  }
}, 90_000);

afterAll(async () => {
  for (const bus of buses) await bus.stop();
  await deleteKafkaTopics({
    brokers: kafkaBrokers(),
    logger,
    topics: namespaces.map((ns) => `${ns}.${topic}`),
  });
  await a?.close();
  await b?.close();
});

test('a namespace keeps a platform’s events and consumer groups apart from another’s on the same broker', async () => {
  const ids = { a: randomUUID(), b: randomUUID() };
  await a.db.prisma.$transaction((tx) =>
    enqueueEvent(tx, { id: ids.a, source: 'a', topic, key: 'k', type: 't', data: {} }),
  );
  await b.db.prisma.$transaction((tx) =>
    enqueueEvent(tx, { id: ids.b, source: 'b', topic, key: 'k', type: 't', data: {} }),
  );
  await waitFor('both delivered', () => seen.a!.length > 0 && seen.b!.length > 0, 30_000);
  await new Promise((r) => setTimeout(r, 500));
  expect(seen).toEqual({ a: [ids.a], b: [ids.b] });
}, 60_000);
