import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { Prisma } from '../../src/db/generated/client';
import { createLogger } from '../../src/log/logger';
import { migrateDatabase, openDatabase, type Database } from '../../src/db';
import {
  NonRetriableError,
  createInProcessBus,
  enqueueEvent,
  type Bus,
  type CloudEvent,
  type Subscription,
} from '../../src/bus';
import { openBusTestDatabase } from './bus-rig';
import { waitFor } from '@testbed/test-support/wait';

// The embedded default runs on PGlite, or on Postgres when given a DATABASE_URL: the same suite
// runs on both (PGlite in memory; a fresh database on the rig's Postgres), migrated by the real
// migrations. Every test uses its own topics.
let db: Database;
const logger = createLogger({ name: 'bus-test', level: 'silent' });
const fast = { attempts: 3, initialDelayMs: 10, maxDelayMs: 40 };
const buses: Bus[] = [];

async function openPglite(): Promise<{ db: Database; close(): Promise<void> }> {
  const opened = await openDatabase({ url: 'pglite://memory' });
  await migrateDatabase({ database: opened });
  return { db: opened, close: () => opened.close() };
}

afterEach(async () => {
  for (const b of buses.splice(0)) await b.stop();
});

function topicName(): string {
  return `test-topic-${randomUUID()}`;
}

async function startBus(subs: Subscription[], opts: { metrics?: Registry } = {}): Promise<Bus> {
  const bus = createInProcessBus({ db, logger, relay: { pollMs: 20 }, retry: fast, metrics: opts.metrics });
  for (const s of subs) bus.subscribe(s);
  await bus.start();
  buses.push(bus);
  return bus;
}

async function emit(topic: string, n: number, key = 'agg-1'): Promise<string[]> {
  return db.prisma.$transaction(async (tx) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push(
        (await enqueueEvent(tx, { source: 'test', topic, key, type: 'test.happened', data: { i } })).id,
      );
    return ids;
  });
}

async function unpublished(topic: string): Promise<number> {
  const rows = await db.prisma.$queryRaw<
    { n: bigint }[]
  >`SELECT count(*) AS n FROM bus.outbox WHERE topic = ${topic} AND published_at IS NULL`;
  return Number(rows[0]!.n);
}

async function deadLetters(topic: string) {
  return db.prisma.$queryRaw<{ consumer: string; event_id: string; error: string; attempts: number }[]>`
    SELECT consumer, event_id, error, attempts FROM bus.dead_letter WHERE topic = ${topic} ORDER BY id`;
}

describe.each([
  ['PGlite', openPglite],
  ['Postgres', openBusTestDatabase],
] as const)('in-process bus on %s', (_kind, open) => {
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const opened = await open();
    db = opened.db;
    close = () => opened.close();
  }, 60_000);
  afterAll(async () => {
    await close?.();
  });

  it('delivers every event once to each consumer group, in outbox order per key', async () => {
    const topic = topicName();
    const seen: Record<string, string[]> = { a: [], b: [] };
    const sub = (consumer: 'a' | 'b'): Subscription => ({
      consumer,
      topics: [topic],
      handle: async (e) => void seen[consumer]!.push(e.id),
    });
    await startBus([sub('a'), sub('b')]);
    const ids = await emit(topic, 30);
    await waitFor('both consumers to see 30 events', () => seen.a!.length === 30 && seen.b!.length === 30);
    expect(seen.a).toEqual(ids);
    expect(seen.b).toEqual(ids);
    await waitFor('outbox rows marked published', async () => (await unpublished(topic)) === 0);

    // A relay that crashed before marking publishes again: the copies are dropped by event id.
    await db.prisma.$executeRaw`UPDATE bus.outbox SET published_at = NULL WHERE topic = ${topic}`;
    await waitFor('the copies to be relayed', async () => (await unpublished(topic)) === 0);
    expect(seen.a).toHaveLength(30);
    expect(seen.b).toHaveLength(30);
  });

  it('publishes nothing of a caller transaction that rolls back', async () => {
    const topic = topicName();
    const seen: string[] = [];
    await startBus([{ consumer: 'c', topics: [topic], handle: async (e) => void seen.push(e.id) }]);
    await expect(
      db.prisma.$transaction(async (tx) => {
        await enqueueEvent(tx, { source: 'test', topic, key: 'k', type: 't', data: { lost: true } });
        throw new Error('state change failed');
      }),
    ).rejects.toThrow('state change failed');
    const [kept] = await emit(topic, 1);
    await waitFor('the committed event', () => seen.length === 1);
    expect(seen).toEqual([kept]);
  });

  it('retries a retriable failure and succeeds', async () => {
    const topic = topicName();
    let tries = 0;
    const done: CloudEvent[] = [];
    await startBus([
      {
        consumer: 'flaky',
        topics: [topic],
        handle: async (e, ctx) => {
          tries += 1;
          if (ctx.attempt < 3) throw new Error('database busy');
          done.push(e);
        },
      },
    ]);
    await emit(topic, 1);
    await waitFor('success on the 3rd try', () => done.length === 1);
    expect(tries).toBe(3);
    expect(await deadLetters(topic)).toEqual([]);
  });

  it('dead-letters after the bounded retries, and hands the dead letter to <topic>.dlt subscribers', async () => {
    const topic = topicName();
    let tries = 0;
    const dlt: { event: CloudEvent; headers: Record<string, string> }[] = [];
    await startBus([
      {
        consumer: 'broken',
        topics: [topic],
        handle: async () => {
          tries += 1;
          throw new Error('always fails');
        },
      },
      {
        consumer: 'ops',
        topics: [`${topic}.dlt`],
        handle: async (event, ctx) => void dlt.push({ event, headers: ctx.headers }),
      },
    ]);
    const [id] = await emit(topic, 1);
    await waitFor('the dead letter on the .dlt topic', () => dlt.length === 1);
    expect(tries).toBe(fast.attempts);
    expect(await deadLetters(topic)).toEqual([
      { consumer: 'broken', event_id: id, error: 'Error: always fails', attempts: 3 },
    ]);
    expect(dlt[0]!.event.id).not.toBe(id);
    expect(dlt[0]!.event.data).toEqual({ i: 0 });
    expect(dlt[0]!.headers).toMatchObject({
      'dlt-original-id': id,
      'dlt-consumer': 'broken',
      'dlt-attempts': '3',
      'dlt-original-topic': topic,
    });
    await waitFor('the source row published', async () => (await unpublished(topic)) === 0);
  });

  it('dead-letters a non-retriable error at once', async () => {
    const topic = topicName();
    let tries = 0;
    await startBus([
      {
        consumer: 'strict',
        topics: [topic],
        handle: async () => {
          tries += 1;
          throw new NonRetriableError('pool 10.0.0.0/8 does not exist');
        },
      },
    ]);
    await emit(topic, 1);
    const [letter] = await waitFor('a dead letter', async () => {
      const rows = await deadLetters(topic);
      return rows.length > 0 && rows;
    });
    expect(tries).toBe(1);
    expect(letter).toMatchObject({
      consumer: 'strict',
      attempts: 1,
      error: 'NonRetriableError: pool 10.0.0.0/8 does not exist',
    });
  });

  it('dead-letters a poison row that is not a CloudEvent', async () => {
    const topic = topicName();
    const seen: string[] = [];
    await startBus([{ consumer: 'p', topics: [topic], handle: async (e) => void seen.push(e.id) }]);
    const id = randomUUID();
    await db.prisma.$executeRaw`
      INSERT INTO bus.outbox (id, source, topic, key, event) VALUES (${id}::uuid, 'test', ${topic}, 'k', '{"hello":"world"}'::jsonb)`;
    const [letter] = await waitFor('a dead letter', async () => {
      const rows = await deadLetters(topic);
      return rows.length > 0 && rows;
    });
    expect(letter!.error).toMatch(/^MalformedEventError: not a CloudEvent 1.0/);
    expect(letter!.event_id).toBe(id);
    expect(seen).toEqual([]);
  });

  it('delivers the events a handler enqueues, and rolls them back with the handler', async () => {
    const commands = topicName();
    const replies = topicName();
    const got: CloudEvent[] = [];
    await startBus([
      {
        consumer: 'worker',
        topics: [commands],
        handle: async (e, { tx, attempt }) => {
          await enqueueEvent(tx, {
            source: 'worker',
            topic: replies,
            key: 'k',
            type: 'reply',
            data: { to: e.id, attempt },
          });
          // The first try fails after enqueueing: its reply and its processed mark must vanish.
          if (attempt === 1) throw new Error('crash after enqueue');
        },
      },
      { consumer: 'requester', topics: [replies], handle: async (e) => void got.push(e) },
    ]);
    const [cmd] = await emit(commands, 1);
    await waitFor('the reply', () => got.length === 1);
    expect(got[0]!.data).toEqual({ to: cmd, attempt: 2 });
    const rows = await db.prisma.$queryRaw<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM bus.outbox WHERE topic = ${replies}`;
    expect(Number(rows[0]!.n)).toBe(1);
    const marks = await db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM bus.processed_event WHERE consumer = 'worker' AND event_id = ${cmd}`;
    expect(Number(marks[0]!.n)).toBe(1);
  });

  it('leaves an event unpublished when stopped mid-retry, and delivers it after a restart', async () => {
    const topic = topicName();
    let failing = true;
    let tries = 0;
    const done: string[] = [];
    const sub: Subscription = {
      consumer: 'restart',
      topics: [topic],
      handle: async (e) => {
        tries += 1;
        if (failing) throw new Error('not yet');
        done.push(e.id);
      },
    };
    const slow = createInProcessBus({
      db,
      logger,
      relay: { pollMs: 20 },
      retry: { attempts: 5, initialDelayMs: 5_000, maxDelayMs: 5_000 },
    });
    slow.subscribe(sub);
    await slow.start();
    const [id] = await emit(topic, 1);
    await waitFor('the first failure', () => tries === 1);
    const t0 = Date.now();
    await slow.stop();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await slow.isReady()).toBe(false);
    expect(await unpublished(topic)).toBe(1);

    failing = false;
    await startBus([sub]);
    await waitFor('delivery after restart', () => done.length === 1);
    expect(done).toEqual([id]);
    expect(await deadLetters(topic)).toEqual([]);
  });

  it('counts published, consumed, retried and dead-lettered events and the backlog', async () => {
    const topic = topicName();
    const metrics = new Registry();
    await startBus(
      [
        {
          consumer: 'm',
          topics: [topic],
          handle: async (e, { attempt }) => {
            if ((e.data as { i: number }).i === 0 && attempt === 1) throw new Error('once');
            if ((e.data as { i: number }).i === 1) throw new NonRetriableError('never');
          },
        },
      ],
      { metrics },
    );
    await emit(topic, 3);
    await waitFor('all settled', async () => (await unpublished(topic)) === 0);
    const text = await metrics.metrics();
    expect(text).toContain(`bus_events_published_total{topic="${topic}",type="test.happened"} 3`);
    expect(text).toContain(`bus_events_consumed_total{consumer="m",topic="${topic}",outcome="processed"} 2`);
    expect(text).toContain(`bus_events_retried_total{consumer="m",topic="${topic}"} 1`);
    expect(text).toContain(`bus_events_dead_lettered_total{consumer="m",topic="${topic}"} 1`);
    // Each settled event is timed, and each published row's time in the outbox is observed.
    expect(text).toContain(
      `bus_event_processing_seconds_count{consumer="m",topic="${topic}",outcome="processed"} 2`,
    );
    expect(text).toContain(
      `bus_event_processing_seconds_count{consumer="m",topic="${topic}",outcome="dead-lettered"} 1`,
    );
    expect(text).toContain(`bus_relay_latency_seconds_count{topic="${topic}"} 3`);
    expect(text).toMatch(/bus_outbox_backlog \d+/);
  });

  it('hands the events of one pass to a subscription in one transaction, in outbox order', async () => {
    const topic = topicName();
    const seen: string[] = [];
    const transactions = new Set<unknown>();
    await startBus([
      {
        consumer: 'grouped',
        topics: [topic],
        handle: async (e, { tx, attempt }) => {
          expect(attempt).toBe(1);
          transactions.add(tx);
          seen.push(e.id);
        },
      },
    ]);
    // Written in one transaction, the ten rows (two keys) become visible to one relay pass together.
    const ids = await db.prisma.$transaction(async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < 10; i++)
        out.push(
          (await enqueueEvent(tx, { source: 'test', topic, key: `k${i % 2}`, type: 't', data: { i } })).id,
        );
      return out;
    });
    await waitFor('all ten seen', () => seen.length === 10);
    expect(seen).toEqual(ids);
    expect(transactions.size).toBe(1);
    const marks = await db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM bus.processed_event WHERE consumer = 'grouped' AND event_id IN (${Prisma.join(ids)})`;
    expect(Number(marks[0]!.n)).toBe(10);
  });

  it('delivers a group that fails one by one: only the failing event is tried again, the others commit once', async () => {
    const topic = topicName();
    await db.prisma.$executeRaw`CREATE TABLE IF NOT EXISTS public.bus_test_write (event_id text NOT NULL)`;
    const tries = new Map<number, number>();
    await startBus([
      {
        consumer: 'group-fails',
        topics: [topic],
        handle: async (e, { tx, attempt }) => {
          const i = (e.data as { i: number }).i;
          tries.set(i, (tries.get(i) ?? 0) + 1);
          await tx.$executeRaw`INSERT INTO public.bus_test_write (event_id) VALUES (${e.id})`;
          // The third event fails its first try: in the group, then alone, then it succeeds.
          if (i === 2 && attempt === 1) throw new Error('database busy');
        },
      },
    ]);
    const ids = await emit(topic, 5);
    await waitFor('all settled', async () => (await unpublished(topic)) === 0);
    const rows = await db.prisma.$queryRaw<{ event_id: string }[]>`
      SELECT event_id FROM public.bus_test_write WHERE event_id IN (${Prisma.join(ids)}) ORDER BY event_id`;
    expect(rows.map((r) => r.event_id)).toEqual([...ids].sort());
    // The two before it ran in the rolled-back group and again alone; the failing one once more;
    // the group never got to the last two.
    expect([...tries.entries()].sort(([a], [b]) => a - b)).toEqual([
      [0, 2],
      [1, 2],
      [2, 3],
      [3, 1],
      [4, 1],
    ]);
    expect(await deadLetters(topic)).toEqual([]);
  });

  it('rejects an event id that is not a UUID before writing anything', async () => {
    await expect(
      db.prisma.$transaction((tx) =>
        enqueueEvent(tx, { source: 'test', topic: topicName(), key: 'k', type: 't', data: {}, id: 'evt-1' }),
      ),
    ).rejects.toThrow(/UUID/);
  });

  it('refuses a second handler for the same consumer and topic', () => {
    const bus = createInProcessBus({ db, logger });
    const topic = topicName();
    bus.subscribe({ consumer: 'x', topics: [topic], handle: async () => undefined });
    expect(() => bus.subscribe({ consumer: 'x', topics: [topic], handle: async () => undefined })).toThrow(
      /already subscribes/,
    );
  });
});
