import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/log/logger';
import { createKafkaBus, enqueueEvent, ensureKafkaTopics, type Bus } from '../../src/bus';
import {
  deleteNamedTopics,
  groupName,
  kafkaBrokers,
  openBusTestDatabase,
  topicName,
  type BusTestDatabase,
} from './bus-rig';
import { waitFor } from '@testbed/test-support/wait';

/**
 * At-least-once publishing plus idempotent consumers, end to end on the rig's Kafka and Postgres:
 * 10,000 events go through the outbox while the relay, a separate process, is SIGKILLed twice
 * at the worst moment of a pass (its messages acknowledged by Kafka, their rows not yet marked
 * published) and restarted. The kit's consumer must still handle every event exactly once in effect.
 */

const N = 10_000;
const KEYS = 50;
const WRITERS = 5;
const PER_TX = 100;
const APP_NAME = `relay-fixture-${process.pid}`;
const fixture = path.join(__dirname, 'fixtures', 'relay-process.ts');
const logger = createLogger({ name: 'kill-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let rig: BusTestDatabase;
let consumer: Bus | undefined;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  rig = await openBusTestDatabase();
  // What the handler did, in commit order: the test's view of "handled".
  await rig.db.prisma
    .$executeRaw`CREATE TABLE handled (n bigserial PRIMARY KEY, event_id text NOT NULL, key text NOT NULL, i int NOT NULL)`;
  // A slow database at the worst moment, in this throwaway database only: while armed, the
  // relay's "mark published" statement sleeps, after Kafka acknowledged the pass's messages.
  await rig.db.prisma.$executeRaw`CREATE TABLE slow_mark (armed boolean NOT NULL)`;
  await rig.db.prisma.$executeRaw`INSERT INTO slow_mark VALUES (false)`;
  await rig.db.prisma.$executeRawUnsafe(`
    CREATE FUNCTION slow_mark() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT armed FROM public.slow_mark) THEN PERFORM pg_sleep(0.5); END IF;
      RETURN NULL;
    END $$`);
  await rig.db.prisma.$executeRawUnsafe(`
    CREATE TRIGGER slow_mark AFTER UPDATE OF published_at ON bus.outbox FOR EACH STATEMENT EXECUTE FUNCTION public.slow_mark()`);
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await consumer?.stop();
  await deleteNamedTopics(logger);
  await rig?.close();
}, 60_000);

/** Starts the relay process and resolves once it relays. */
async function spawnRelay(): Promise<ChildProcess> {
  const { NODE_OPTIONS: _jestFlags, ...env } = process.env;
  const child = fork(fixture, [], {
    // `--import tsx` runs the TypeScript in this very process, so the pid we kill is the relay.
    execArgv: ['--import', 'tsx'],
    env: {
      ...env,
      DATABASE_URL: rig.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      RELAY_BATCH_SIZE: '250',
      RELAY_POLL_MS: '20',
      RELAY_MAX_LIFETIME_MS: '240000',
      RELAY_APPLICATION_NAME: APP_NAME,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('relay process did not start within 30 s')), 30_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`relay process exited early (${code ?? signal})`));
    });
  });
  return child;
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  children.delete(child);
}

async function count(sql: 'published' | 'unpublished'): Promise<number> {
  const rows =
    sql === 'published'
      ? await rig.db.prisma.$queryRaw<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM bus.outbox WHERE published_at IS NOT NULL`
      : await rig.db.prisma.$queryRaw<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM bus.outbox WHERE published_at IS NULL`;
  return rows[0]!.n;
}

/**
 * Arms the slow mark and waits (bounded) until the relay sits in it: its pass's messages are in
 * Kafka and their rows still unmarked, the case the consumer's idempotency is for.
 */
async function relayBetweenSendAndMark(): Promise<boolean> {
  await rig.db.prisma.$executeRaw`UPDATE slow_mark SET armed = true`;
  try {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const rows = await rig.db.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = ${APP_NAME} AND datname = current_database()
          AND state = 'active' AND wait_event = 'PgSleep' AND query LIKE '%SET published_at%'`;
      if (rows[0]!.n > 0) return true;
      await new Promise((r) => setTimeout(r, 5));
    }
    return false;
  } finally {
    await rig.db.prisma.$executeRaw`UPDATE slow_mark SET armed = false`;
  }
}

it('delivers 10,000 outbox events exactly once in effect while the relay process is SIGKILLed twice', async () => {
  const started = Date.now();
  const topic = topicName();
  const group = groupName();
  await ensureKafkaTopics({ brokers: kafkaBrokers(), logger, topics: [topic], partitions: 3 });

  const invocations: string[] = [];
  const metrics = new Registry();
  consumer = createKafkaBus({
    brokers: kafkaBrokers(),
    clientId: 'kill-test-consumer',
    db: rig.db,
    logger,
    relay: false,
    metrics,
  });
  consumer.subscribe({
    consumer: group,
    topics: [topic],
    handle: async (e, { tx }) => {
      invocations.push(e.id);
      const { i } = e.data as { i: number };
      await tx.$executeRaw`INSERT INTO handled (event_id, key, i) VALUES (${e.id}, ${e.subject ?? ''}, ${i})`;
    },
  });
  await consumer.start();

  let relay = await spawnRelay();
  const ids: string[] = [];
  // WRITERS transactions at a time, each writer owning its own keys, so `i` grows with the
  // outbox order within every key.
  const writer = async (w: number) => {
    for (let b = w; b < N / PER_TX; b += WRITERS) {
      const batch = await rig.db.prisma.$transaction(
        async (tx) => {
          const out: string[] = [];
          for (let j = 0; j < PER_TX; j++) {
            const i = b * PER_TX + j;
            const key = `agg-${w}-${i % (KEYS / WRITERS)}`;
            out.push(
              (
                await enqueueEvent(tx, {
                  source: 'kill-test',
                  topic,
                  key,
                  subject: key,
                  type: 'test.counted',
                  data: { i },
                })
              ).id,
            );
          }
          return out;
        },
        { timeout: 30_000 },
      );
      ids.push(...batch);
    }
  };
  const enqueueing = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));

  // Two hard kills, each while a pass holds locked rows, each followed by a fresh relay process.
  const kills: { atPublished: number; caught: boolean }[] = [];
  for (const threshold of [2_500, 6_000]) {
    await waitFor(
      `${threshold} events published`,
      async () => (await count('published')) >= threshold,
      90_000,
      20,
    );
    const caught = await relayBetweenSendAndMark();
    await killHard(relay);
    kills.push({ atPublished: await count('published'), caught });
    relay = await spawnRelay();
  }
  await enqueueing;
  const enqueuedAt = Date.now();

  await waitFor(
    'every event handled',
    async () => {
      const rows = await rig.db.prisma.$queryRaw<
        { n: number }[]
      >`SELECT count(DISTINCT event_id)::int AS n FROM handled`;
      return rows[0]!.n >= N;
    },
    150_000,
    200,
  );
  await waitFor('the outbox drained', async () => (await count('unpublished')) === 0, 30_000, 100);
  const handledAt = Date.now();

  // Every id handled, none twice: in the handler's committed writes and in its invocations.
  const [totals] = await rig.db.prisma.$queryRaw<{ n: number; distinct: number }[]>`
    SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct FROM handled`;
  expect(totals).toEqual({ n: N, distinct: N });
  const handledIds = await rig.db.prisma.$queryRaw<{ event_id: string }[]>`SELECT event_id FROM handled`;
  expect(new Set(handledIds.map((r) => r.event_id))).toEqual(new Set(ids));
  expect(invocations).toHaveLength(N);
  expect(new Set(invocations).size).toBe(N);
  const [marks] = await rig.db.prisma.$queryRaw<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM bus.processed_event WHERE consumer = ${group}`;
  expect(marks!.n).toBe(N);
  expect(await count('published')).toBe(N);

  // Per key, first deliveries follow the outbox order.
  const order = await rig.db.prisma.$queryRaw<
    { key: string; i: number }[]
  >`SELECT key, i FROM handled ORDER BY n`;
  const lastByKey = new Map<string, number>();
  const outOfOrder = order.filter((r) => {
    const before = lastByKey.get(r.key) ?? -1;
    lastByKey.set(r.key, r.i);
    return r.i < before;
  });
  expect(outOfOrder).toEqual([]);

  const duplicates =
    (await metrics.getSingleMetricAsString('bus_events_consumed_total')).match(
      /outcome="duplicate"} (\d+)/,
    )?.[1] ?? '0';
  const seconds = (handledAt - started) / 1000;
  process.stdout.write(
    `outbox-relay-kill: ${N} events in ${seconds.toFixed(1)} s (${Math.round(N / seconds)}/s end to end; ` +
      `enqueue done after ${((enqueuedAt - started) / 1000).toFixed(1)} s); kills ${JSON.stringify(kills)}; ` +
      `duplicate deliveries dropped by the consumer: ${duplicates}\n`,
  );
  expect(kills.every((k) => k.caught)).toBe(true);
  // The killed passes' messages reached Kafka unmarked, were published again, and were dropped.
  expect(Number(duplicates)).toBeGreaterThan(0);
  await killHard(relay);
}, 180_000);
