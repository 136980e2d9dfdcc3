/**
 * The broker away while the agent runs (a private broker of this test, stopped and started on
 * the same data): the buffer fills, the oldest batches are dropped and counted on the agent's
 * /metrics, and once the broker is back the rest arrive in order — exactly the batches that
 * were not dropped.
 */
import Docker from 'dockerode';
import { createKafkaClient } from '@testbed/kit/src/bus/kafka/kafka-client';
import {
  createKafkaRecordConsumer,
  createKafkaRecordProducer,
} from '@testbed/kit/src/bus/kafka/kafka-records';
import { createLogger } from '@testbed/kit/src/log/logger';
import { startPrivateKafka, type PrivateKafka } from '../../../test/support/private-kafka';
import { createNodeAgent, type NodeAgent } from '../src/agent';
import { startAgentHttp, type AgentHttp } from '../src/http';
import { connectingSink } from '../src/kafka-sink';
import { createAgentMetrics } from '../src/metrics';
import { decodeSampleBatch } from '../src/wire/codec';
import { STATS_SAMPLES_TOPIC } from '../src/wire/heartbeat';
import { rigNode, until } from './support/rig-docker';

const node = rigNode('node2');
const INTERVAL = 100;
const CAPACITY = 20;
const logger = createLogger({ name: 'outage-test', level: 'silent' });
let kafka: PrivateKafka;
let agent: NodeAgent | undefined;
let http: AgentHttp | undefined;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${http!.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} is not on /metrics`);
  return Number(m[1]);
}

beforeAll(async () => {
  kafka = await startPrivateKafka();
}, 120_000);

afterAll(async () => {
  await agent?.stop({ flushTimeoutMs: 0 });
  await http?.close();
  await kafka?.destroy();
}, 60_000);

test('broker stopped and started: drops counted on /metrics, then exactly the other batches arrive in order', async () => {
  const producer = createKafkaRecordProducer({ brokers: kafka.brokers, clientId: 'outage-agent', logger });
  const metrics = createAgentMetrics();
  agent = createNodeAgent({
    node: 'node2',
    sink: connectingSink(producer),
    sinkConnected: () => producer.isConnected(),
    docker: new Docker({ socketPath: node.socket }),
    logger,
    intervalMs: INTERVAL,
    bufferBatches: CAPACITY,
    metrics,
  });
  http = await startAgentHttp({
    host: '127.0.0.1',
    port: 0,
    status: () => agent!.status(),
    registry: metrics.registry,
  });
  await agent.start();
  await until(
    'batches reaching the broker',
    async () => ((await metric('node_agent_batches_sent_total')) >= 10 ? true : undefined),
    30_000,
    100,
  );
  expect(agent.status().broker).toBe('connected');

  await kafka.stop();
  const dropped = await until(
    'the full buffer dropping batches',
    async () => {
      const n = await metric('node_agent_batches_dropped_total');
      return n >= 3 * CAPACITY ? n : undefined;
    },
    60_000,
    100,
  );
  expect(dropped).toBeGreaterThanOrEqual(3 * CAPACITY);
  expect(agent.status().buffered).toBeLessThanOrEqual(CAPACITY + 50);
  const readyz = await fetch(`${http.url}/readyz`);
  expect(readyz.status).toBe(503);
  expect(await readyz.json()).toMatchObject({ broker: 'unreachable', ready: false });

  await kafka.start();
  const seqAtRestart = agent.status().seq;
  await until(
    'the buffer sent after the restart',
    async () => {
      const s = agent!.status();
      return s.seq > seqAtRestart + 10 && s.buffered <= 2 && s.broker === 'connected' ? true : undefined;
    },
    90_000,
    200,
  );
  await agent.stop({ flushTimeoutMs: 10_000 });
  const made = agent.status().seq;
  const droppedTotal = await metric('node_agent_batches_dropped_total');
  expect(await metric('node_agent_batches_made_total')).toBe(made);
  await producer.disconnect();

  // Everything on the topic, from the start, through the kit's record consumer.
  const seen: number[] = [];
  const consumer = createKafkaRecordConsumer({
    kafka: createKafkaClient({ brokers: kafka.brokers, clientId: 'outage-reader', logger }),
    sub: {
      group: 'outage-reader',
      topics: [STATS_SAMPLES_TOPIC],
      async handle(records) {
        for (const r of records) {
          const batch = decodeSampleBatch(r.value);
          expect(batch.node).toBe('node2');
          seen.push(batch.seq);
        }
      },
    },
    logger,
  });
  await consumer.start();
  try {
    await until(
      'every batch read back',
      () => (new Set(seen).size >= made - droppedTotal ? true : undefined),
      60_000,
      100,
    );
  } finally {
    await consumer.stop();
  }

  // In order; a retried send may repeat a batch (the stats service stores each seq once), never reorder.
  for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
  const arrived = new Set(seen);
  const missing = Array.from({ length: made }, (_, i) => i + 1).filter((s) => !arrived.has(s));
  expect(missing).toHaveLength(droppedTotal);
  // The oldest waiting ones went: one run of consecutive batches, older than every batch after it.
  expect(missing.at(-1)! - missing[0]! + 1).toBe(missing.length);
  expect(seen.some((s) => s > missing.at(-1)!)).toBe(true);
  expect(seen.some((s) => s > seqAtRestart)).toBe(true);
}, 240_000);
