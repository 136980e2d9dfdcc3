/** Pruning the bus tables: published rows and processed marks past retention go; nothing else. */
import { randomUUID } from 'node:crypto';
import { pruneBusTables } from '../../src/bus';
import { openBusTestDatabase, type BusTestDatabase } from './bus-rig';

let rig: BusTestDatabase;
const now = new Date('2026-11-23T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);

beforeAll(async () => {
  rig = await openBusTestDatabase();
}, 60_000);
afterAll(() => rig?.close());

async function outboxRow(createdAt: Date, publishedAt: Date | null): Promise<string> {
  const id = randomUUID();
  await rig.db.prisma.outbox.create({
    data: { id, source: 'prune-test', topic: 't', key: 'k', event: {}, createdAt, publishedAt },
  });
  return id;
}

test('published outbox rows and processed marks past retention are deleted in batches; the rest stay', async () => {
  const oldPublished = await Promise.all(
    Array.from({ length: 25 }, () => outboxRow(hoursAgo(50), hoursAgo(49))),
  );
  const recentPublished = await outboxRow(hoursAgo(2), hoursAgo(1));
  const oldUnpublished = await outboxRow(hoursAgo(500), null);
  await rig.db.prisma.processedEvent.createMany({
    data: [
      ...Array.from({ length: 12 }, () => ({
        consumer: 'c',
        eventId: randomUUID(),
        processedAt: hoursAgo(200),
      })),
      { consumer: 'c', eventId: 'recent', processedAt: hoursAgo(100) },
    ],
  });

  const pruned = await pruneBusTables(rig.db, { outboxHours: 24, dedupHours: 168 }, now, { batch: 10 });
  expect(pruned).toEqual({ outbox: 25, processed: 12 });

  const left = await rig.db.prisma.outbox.findMany({ select: { id: true } });
  expect(left.map((r) => r.id).sort()).toEqual([recentPublished, oldUnpublished].sort());
  expect(oldPublished.some((id) => left.some((r) => r.id === id))).toBe(false);
  const marks = await rig.db.prisma.processedEvent.findMany({ select: { eventId: true } });
  expect(marks.map((m) => m.eventId)).toEqual(['recent']);

  // A bounded run stops after maxBatches, leaving the rest for the next one.
  await Promise.all(Array.from({ length: 5 }, () => outboxRow(hoursAgo(50), hoursAgo(49))));
  expect(
    await pruneBusTables(rig.db, { outboxHours: 24, dedupHours: 168 }, now, { batch: 2, maxBatches: 1 }),
  ).toEqual({
    outbox: 2,
    processed: 0,
  });
});
