/** The rig's Postgres and Kafka answer on loopback. */
import { Client } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { loadRigEnv, required } from '@testbed/test-support/rig';

const env = loadRigEnv();

test('Postgres answers select 1 as the testbed role', async () => {
  const client = new Client({
    connectionString: required(env, 'DATABASE_URL'),
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    const { rows } = await client.query('select 1 as one, current_user as who, current_database() as db');
    expect(rows[0]).toEqual({ one: 1, who: 'testbed', db: 'testbed' });
  } finally {
    await client.end();
  }
});

describe('Kafka', () => {
  const kafka = new Kafka({
    clientId: 'rig-test',
    brokers: required(env, 'KAFKA_BROKERS').split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 10_000,
    retry: { retries: 5 },
  });
  const admin = kafka.admin();
  const topic = `rig-test-${process.pid}-${Date.now()}`;

  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => undefined);
    await admin.disconnect();
  });

  test('answers a metadata request (listTopics)', async () => {
    expect(Array.isArray(await admin.listTopics())).toBe(true);
  });

  test('creates a topic on first produce, with 3 partitions', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ value: 'hello' }] });
    } finally {
      await producer.disconnect();
    }
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]?.partitions).toHaveLength(3);
  });
});
