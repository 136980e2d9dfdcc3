import { createLogger } from '../../src/log/logger';
import {
  NonRetriableError,
  createKafkaBus,
  createKafkaPublisher,
  ensureKafkaTopics,
  enqueueEvent,
  type Bus,
  type CloudEvent,
  type EventHeaders,
  type KafkaPublisher,
  type RetryOptions,
  type Subscription,
} from '../../src/bus';
import {
  deleteNamedTopics,
  groupName,
  kafkaBrokers,
  openBusTestDatabase,
  topicName,
  type BusTestDatabase,
} from './bus-rig';
import { waitFor } from '@testbed/test-support/wait';

// Real Kafka and Postgres from the rig; a fresh database for the file, fresh topics and groups per test.
let rig: BusTestDatabase;
let raw: KafkaPublisher;
const logger = createLogger({ name: 'kafka-bus-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const fast = { attempts: 3, initialDelayMs: 50, maxDelayMs: 200 };
const buses: Bus[] = [];

beforeAll(async () => {
  rig = await openBusTestDatabase();
  raw = createKafkaPublisher({ brokers: kafkaBrokers(), clientId: 'kafka-bus-test-raw', logger });
  await raw.connect();
}, 60_000);

afterEach(async () => {
  for (const b of buses.splice(0)) await b.stop();
});

afterAll(async () => {
  await raw?.disconnect();
  await deleteNamedTopics(logger);
  await rig?.close();
});

/** A bus of the test's (stopped after it) with these subscriptions, not yet connected. */
function newBus(subs: Subscription[], retry: RetryOptions = fast): Bus {
  const bus = createKafkaBus({
    brokers: kafkaBrokers(),
    clientId: 'kafka-bus-test',
    db: rig.db,
    logger,
    relay: { pollMs: 50 },
    retry,
  });
  buses.push(bus);
  for (const s of subs) bus.subscribe(s);
  return bus;
}

async function startBus(subs: Subscription[], retry: RetryOptions = fast): Promise<Bus> {
  const bus = newBus(subs, retry);
  await bus.start();
  return bus;
}

async function emit(topic: string, data: unknown, key = 'agg-1'): Promise<CloudEvent> {
  return rig.db.prisma.$transaction((tx) =>
    enqueueEvent(tx, { source: 'test', topic, key, type: 'test.happened', data }),
  );
}

async function deadLetters(topic: string) {
  return rig.db.prisma.$queryRaw<
    { consumer: string; event_id: string; error: string; attempts: number; event: unknown }[]
  >`
    SELECT consumer, event_id, error, attempts, event FROM bus.dead_letter WHERE topic = ${topic} ORDER BY id`;
}

function dltCollector(topic: string, into: { event: CloudEvent; headers: EventHeaders }[]): Subscription {
  return {
    consumer: groupName(),
    topics: [`${topic}.dlt`],
    handle: async (event, ctx) => void into.push({ event, headers: ctx.headers }),
  };
}

describe('Kafka bus', () => {
  it('delivers through the outbox, Kafka and the consumer, and is ready once joined', async () => {
    const topic = topicName();
    const seen: { event: CloudEvent; headers: EventHeaders }[] = [];
    const bus = await startBus([
      {
        consumer: groupName(),
        topics: [topic],
        handle: async (event, ctx) => void seen.push({ event, headers: ctx.headers }),
      },
    ]);
    expect(await bus.isReady()).toBe(true);
    const sent = await emit(topic, { hello: 'kafka' });
    await waitFor('the event', () => seen.length === 1, 20_000);
    expect(seen[0]!.event).toEqual(sent);
    expect(seen[0]!.headers['content-type']).toBe('application/cloudevents+json');
  });

  it('connect() reaches the broker and makes the topics, and nothing is consumed before start()', async () => {
    const topic = topicName();
    const seen: string[] = [];
    const bus = newBus([
      { consumer: groupName(), topics: [topic], handle: async (e) => void seen.push(e.id) },
    ]);
    await bus.connect();
    // The topic and its dead letters are there already: nothing left to create.
    expect(await ensureKafkaTopics({ brokers: kafkaBrokers(), logger, topics: [topic] })).toEqual([]);
    expect(() => bus.subscribe({ consumer: groupName(), topics: [topic], handle: async () => {} })).toThrow(
      'subscribe before the bus starts',
    );
    const event = {
      specversion: '1.0',
      id: `before-start-${topic}`,
      source: 'test',
      type: 'test.happened',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: { n: 1 },
    };
    await raw.publish([{ id: event.id, topic, key: 'agg-1', event, headers: {} }]);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(seen).toEqual([]);
    expect(await bus.isReady()).toBe(false);
    await bus.start();
    expect(await bus.isReady()).toBe(true);
    await waitFor('the event sent before start', () => seen.length === 1, 20_000);
    expect(seen).toEqual([event.id]);
  });

  it('a bus stopped after connect() without start() closes what it connected', async () => {
    const bus = createKafkaBus({ brokers: kafkaBrokers(), clientId: 'kafka-bus-test', db: rig.db, logger });
    bus.subscribe({ consumer: groupName(), topics: [topicName()], handle: async () => {} });
    const connecting = bus.connect();
    await bus.stop();
    await connecting;
    await bus.start();
    expect(await bus.isReady()).toBe(false);
  });

  it('succeeds on a retry after a retriable error', async () => {
    const topic = topicName();
    const tries: number[] = [];
    await startBus([
      {
        consumer: groupName(),
        topics: [topic],
        handle: async (_e, { attempt }) => {
          tries.push(attempt);
          if (attempt === 1) throw Object.assign(new Error('connection reset'), { retriable: true });
        },
      },
    ]);
    await emit(topic, { n: 1 });
    await waitFor('the second try', () => tries.length === 2, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(tries).toEqual([1, 2]);
    expect(await deadLetters(topic)).toEqual([]);
  });

  it('sends an event that keeps failing to <topic>.dlt and bus.dead_letter after bounded retries', async () => {
    const topic = topicName();
    const group = groupName();
    let tries = 0;
    const dlt: { event: CloudEvent; headers: EventHeaders }[] = [];
    await startBus([
      {
        consumer: group,
        topics: [topic],
        handle: async () => {
          tries += 1;
          throw new Error('handler bug');
        },
      },
      dltCollector(topic, dlt),
    ]);
    const sent = await emit(topic, { n: 2 }, 'pool-7');
    await waitFor('the dead letter on the .dlt topic', () => dlt.length === 1, 20_000);
    expect(tries).toBe(fast.attempts);
    const [row] = await deadLetters(topic);
    expect(row).toMatchObject({
      consumer: group,
      event_id: sent.id,
      error: 'Error: handler bug',
      attempts: fast.attempts,
      event: sent,
    });
    expect(dlt[0]!.event).toMatchObject({ type: sent.type, data: sent.data, source: sent.source });
    expect(dlt[0]!.event.id).not.toBe(sent.id);
    expect(dlt[0]!.headers).toMatchObject({
      'dlt-original-id': sent.id,
      'dlt-original-topic': topic,
      'dlt-consumer': group,
      'dlt-attempts': String(fast.attempts),
      'dlt-error': 'Error: handler bug',
    });
  });

  it('dead-letters at once an error marked non-retriable (the bus flag or KafkaJS-style retriable: false)', async () => {
    const topic = topicName();
    let tries = 0;
    await startBus([
      {
        consumer: groupName(),
        topics: [topic],
        handle: async (e) => {
          tries += 1;
          if ((e.data as { kind: string }).kind === 'flag')
            throw new NonRetriableError('address 10.64.98.60 is not in the pool');
          throw Object.assign(new Error('KafkaJSProtocolError: invalid'), { retriable: false });
        },
      },
    ]);
    await emit(topic, { kind: 'flag' });
    await emit(topic, { kind: 'kafkajs' });
    const rows = await waitFor(
      'two dead letters',
      async () => {
        const r = await deadLetters(topic);
        return r.length === 2 && r;
      },
      20_000,
    );
    expect(tries).toBe(2);
    expect(rows.map((r) => r.attempts)).toEqual([1, 1]);
  });

  it('dead-letters a poison message that is no CloudEvent, forwarding its bytes to <topic>.dlt', async () => {
    const topic = topicName();
    const group = groupName();
    const handled: string[] = [];
    const dlt: { event: CloudEvent; headers: EventHeaders }[] = [];
    const dltRaw: string[] = [];
    await startBus([
      { consumer: group, topics: [topic], handle: async (e) => void handled.push(e.id) },
      {
        consumer: groupName(),
        topics: [`${topic}.dlt`],
        // The forwarded poison is no CloudEvent either: this collector dead-letters it in turn
        // (into the table only: a .dlt topic is never forwarded again).
        handle: async (event, ctx) => void dlt.push({ event, headers: ctx.headers }),
      },
    ]);
    await raw.send(topic, [{ key: 'k', value: 'this is not JSON', headers: {} }]);
    const rows = await waitFor(
      'the poison dead letter',
      async () => {
        const r = await deadLetters(topic);
        return r.length === 1 && r;
      },
      20_000,
    );
    expect(rows[0]).toMatchObject({ consumer: group, attempts: 1, event: 'this is not JSON' });
    expect(rows[0]!.error).toMatch(/^MalformedEventError: not JSON/);
    expect(rows[0]!.event_id).toMatch(new RegExp(`^${topic}/\\d+/\\d+$`));
    const dltRows = await waitFor(
      'the forwarded poison, dead-lettered by the .dlt consumer',
      async () => {
        const r = await deadLetters(`${topic}.dlt`);
        return r.length === 1 && r;
      },
      20_000,
    );
    dltRaw.push(dltRows[0]!.event as string);
    expect(dltRaw).toEqual(['this is not JSON']);
    expect(handled).toEqual([]);
    expect(dlt).toEqual([]);
  });

  it('hands an event published twice (relay crash before marking) to the handler once', async () => {
    const topic = topicName();
    const seen: string[] = [];
    await startBus([{ consumer: groupName(), topics: [topic], handle: async (e) => void seen.push(e.id) }]);
    const sent = await emit(topic, { n: 3 });
    await waitFor('the first delivery', () => seen.length === 1, 20_000);
    await rig.db.prisma.$executeRaw`UPDATE bus.outbox SET published_at = NULL WHERE id = ${sent.id}::uuid`;
    await waitFor(
      'the copy to be published',
      async () => {
        const r = await rig.db.prisma.$queryRaw<
          { p: Date | null }[]
        >`SELECT published_at AS p FROM bus.outbox WHERE id = ${sent.id}::uuid`;
        return r[0]?.p != null;
      },
      20_000,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect(seen).toEqual([sent.id]);
  });

  it('leaves a message in its retry wait unacknowledged when stopped, for the next member of the group', async () => {
    const topic = topicName();
    const group = groupName();
    let failing = true;
    let tries = 0;
    const done: string[] = [];
    const sub: Subscription = {
      consumer: group,
      topics: [topic],
      handle: async (e) => {
        tries += 1;
        if (failing) throw new Error('dependency down');
        done.push(e.id);
      },
    };
    const first = await startBus([sub], { attempts: 5, initialDelayMs: 20_000, maxDelayMs: 20_000 });
    const sent = await emit(topic, { n: 4 });
    await waitFor('the first failure', () => tries === 1, 20_000);
    const t0 = Date.now();
    await first.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);

    failing = false;
    await startBus([sub]);
    await waitFor('the delivery to the next member', () => done.length === 1, 30_000);
    expect(done).toEqual([sent.id]);
    expect(await deadLetters(topic)).toEqual([]);
  });
});
