import { randomUUID } from 'node:crypto';
import { Partitioners, type Consumer, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import type { Logger } from '../../log/logger';
import { backoffDelay, retryPolicy, sleep } from '../retry';
import type { OutgoingRecord, RecordSink, RecordSubscription, StreamRecord } from '../records/types';
import { createKafkaClient, type KafkaClientOptions } from './kafka-client';
import { fromKafkaHeaders } from './kafka-headers';
import { keepConnected, restartWhenGivenUp, trackMembership } from './kafka-membership';
import { physicalTopic } from './kafka-namespace';
import { createMissingTopics } from './kafka-topics';

export interface KafkaRecordProducer extends RecordSink {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
}

/**
 * Records to Kafka as they are (the value is already compact, and compressed where it pays), the
 * key choosing the partition the way the Java client does, acknowledged by all in-sync replicas,
 * one request in flight so a retried request never overtakes the next one.
 */
export function kafkaRecordProducerOf(kafka: Kafka, namespace?: string): KafkaRecordProducer {
  const physical = physicalTopic(namespace);
  const producer: Producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: true,
  });
  const connection = keepConnected(producer);
  return {
    ...connection,
    async send(topic: string, records: OutgoingRecord[]) {
      await producer.send({
        topic: physical(topic),
        acks: -1,
        messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      });
    },
  };
}

/** A record producer with a connection of its own (a node agent, a benchmark). */
export function createKafkaRecordProducer(
  opts: KafkaClientOptions & { namespace?: string },
): KafkaRecordProducer {
  return kafkaRecordProducerOf(createKafkaClient(opts), opts.namespace);
}

export interface KafkaRecordConsumer {
  /** Reaches the broker; start() then joins (and connects first when this was not called). */
  connect(): Promise<void>;
  start(): Promise<void>;
  /** Waits for the call in hand; offsets of records not yet handled stay uncommitted. */
  stop(): Promise<void>;
  isHealthy(): boolean;
}

function toStreamRecord(topic: string, partition: number, m: KafkaMessage): StreamRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key?.toString('utf8'),
    value: m.value ?? Buffer.alloc(0),
    timestamp: Number(m.timestamp),
    headers: fromKafkaHeaders(m.headers),
  };
}

/**
 * One KafkaJS consumer for one record subscription, batch by batch (`eachBatch`): a fetched
 * batch of a partition goes to the handler whole; when it resolves, the offset after its last
 * record is committed. A failing call is retried with backoff (heartbeating meanwhile) until it
 * succeeds or the consumer stops; stopping leaves the batch uncommitted, so it comes again.
 */
export function createKafkaRecordConsumer(opts: {
  kafka: Kafka;
  sub: RecordSubscription;
  logger: Logger;
  namespace?: string;
  /** Partitions handled side by side (default 3). */
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  joinTimeoutMs?: number;
  /** The bus made the topics already: the first start does not look again (a restart does). */
  topicsMade?: boolean;
}): KafkaRecordConsumer {
  const { sub } = opts;
  const physical = physicalTopic(opts.namespace);
  const logical = new Map(sub.topics.map((t) => [physical(t), t]));
  const groupId = physical(sub.broadcast ? `${sub.group}.${randomUUID()}` : sub.group);
  const log = opts.logger.child({ component: 'records', group: sub.group });
  const retry = retryPolicy({ initialDelayMs: 200, maxDelayMs: 5_000 });
  const stopping = new AbortController();
  const consumer: Consumer = opts.kafka.consumer({
    groupId,
    allowAutoTopicCreation: true,
    // Live fan-out wants records as soon as they land; an idle fetch returns after this.
    maxWaitTimeInMs: 250,
    sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: 1_000,
  });
  let stopped = false;
  // A consumer KafkaJS gave up on (after a broker outage) is started again, with backoff.
  const restartGivenUp = restartWhenGivenUp(
    consumer,
    () => start(),
    () => stopped,
    log,
  );
  const membership = trackMembership(consumer, log, restartGivenUp);

  let topicsMade = opts.topicsMade ?? false;
  let connecting: Promise<void> | undefined;
  async function start(): Promise<void> {
    const connected = connecting ?? consumer.connect();
    // A restart (after a crash) connects again and makes sure of its topics.
    connecting = undefined;
    const made = topicsMade;
    topicsMade = false;
    await Promise.all([
      connected,
      made || createMissingTopics(opts.kafka, [...logical.keys()], undefined, { deadLetters: false }),
    ]);
    await consumer.subscribe({ topics: [...logical.keys()], fromBeginning: !sub.broadcast });
    const joined = membership.joined(opts.joinTimeoutMs ?? 30_000, `record consumer ${sub.group}`);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 3,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const topic = logical.get(batch.topic) ?? batch.topic;
        const records = batch.messages.map((m) => toStreamRecord(topic, batch.partition, m));
        if (records.length === 0) return;
        for (let attempt = 1; ; attempt++) {
          if (!isRunning() || isStale()) return;
          try {
            await sub.handle(records);
            break;
          } catch (err) {
            const delay = backoffDelay(retry, attempt);
            log.warn({ err, topic, partition: batch.partition, retryInMs: delay }, 'record handler failed');
            await heartbeat();
            // Stopping: leave the batch uncommitted; it comes again after the restart.
            await sleep(delay, stopping.signal).catch(() => undefined);
            if (stopping.signal.aborted) return;
          }
        }
        // The consumer's own position moves on only with resolved offsets (else it fetches the
        // same records again); the group's committed offset only with the commit below.
        resolveOffset(batch.lastOffset());
        if (sub.broadcast) return;
        const next = (BigInt(batch.lastOffset()) + 1n).toString();
        // A commit lost to a rebalance only means the batch comes again: handlers are idempotent.
        await consumer
          .commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }])
          .catch((err: unknown) =>
            log.warn({ err, topic }, 'offset commit failed; the batch may come again'),
          );
      },
    });
    await joined;
  }

  return {
    connect: () => (connecting ??= consumer.connect()),
    start,
    async stop() {
      stopped = true;
      stopping.abort();
      await connecting?.catch(() => undefined);
      await consumer.disconnect();
      membership.left();
    },
    isHealthy: () => membership.healthy(),
  };
}
