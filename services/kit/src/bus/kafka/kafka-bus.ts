import type { Kafka } from 'kafkajs';
import { busMetrics } from '../metrics';
import { countUnpublished } from '../outbox-store';
import { startOutboxRelay, type OutboxRelay } from '../relay';
import { retryPolicy } from '../retry';
import { SubscriptionSet } from '../subscriptions';
import type { Bus, CommonBusOptions, Subscription } from '../types';
import { createKafkaClient } from './kafka-client';
import { createKafkaConsumerGroup, type KafkaConsumerGroup } from './kafka-consumer-group';
import { kafkaDeadLetterRoute } from './kafka-dead-letter';
import { createMissingTopics } from './kafka-topics';
import { physicalTopic } from './kafka-namespace';
import { kafkaPublisherOf, type KafkaPublisher } from './kafka-publisher';
import {
  createKafkaRecordConsumer,
  kafkaRecordProducerOf,
  type KafkaRecordConsumer,
  type KafkaRecordProducer,
} from './kafka-records';
import type { OutgoingRecord, RecordSubscription } from '../records/types';

export interface KafkaBusOptions extends CommonBusOptions {
  brokers: string[];
  clientId: string;
  /** Partitions each consumer group handles side by side (default 4). */
  partitionsConsumedConcurrently?: number;
  /** Where a new consumer group starts (default true: the earliest retained message). */
  fromBeginning?: boolean;
  /** start() fails when a consumer group has not joined by then (default 30 s). */
  joinTimeoutMs?: number;
  /** Transaction deadline of one handler run (default 60 s). */
  handlerTimeoutMs?: number;
  /** How long stop() keeps relaying what the stopped consumers enqueued (default 5 s). */
  flushTimeoutMs?: number;
  /**
   * Prefix of every physical topic and consumer group name (`<namespace>.<topic>`), so several
   * platforms (staging and production, or parallel test runs) share one cluster without meeting.
   */
  namespace?: string;
}

/**
 * The distributed bus: the outbox relay publishes to Kafka, one consumer group per
 * subscription `consumer` delivers with the processed-event guard, and dead letters go to
 * `<topic>.dlt` and `bus.dead_letter`. `relay: false` makes a consumer-only bus; a bus with no
 * subscriptions is relay-only.
 */
export function createKafkaBus(opts: KafkaBusOptions): Bus {
  const subs = new SubscriptionSet();
  const retry = retryPolicy(opts.retry);
  const metrics = busMetrics(opts.metrics, () => countUnpublished(opts.db.prisma));
  const logger = opts.logger.child({ component: 'bus', bus: 'kafka' });
  const stopping = new AbortController();
  let state: 'new' | 'starting' | 'started' | 'stopped' = 'new';
  let kafka: Kafka | undefined;
  let publisher: KafkaPublisher | undefined;
  let relay: OutboxRelay | undefined;
  const groups: KafkaConsumerGroup[] = [];
  const recordSubs: RecordSubscription[] = [];
  const recordConsumers: KafkaRecordConsumer[] = [];
  let recordProducer: Promise<KafkaRecordProducer> | undefined;
  const producerOfRecords = () =>
    (recordProducer ??= (async () => {
      if (!kafka) throw new Error('the bus has not started');
      const p = kafkaRecordProducerOf(kafka, opts.namespace);
      await p.connect();
      return p;
    })());

  const connect = async () => {
    kafka = createKafkaClient({ brokers: opts.brokers, clientId: opts.clientId, logger });
    const relaying = opts.relay !== false;
    // Consumers need the producer too: dead letters are sent to `<topic>.dlt`.
    if (relaying || subs.all().length > 0) {
      publisher = kafkaPublisherOf(kafka, opts.namespace);
      await publisher.connect();
    }
    const topics = subs.all().flatMap((s) => s.topics);
    if (topics.length > 0) {
      const created = await createMissingTopics(kafka, topics.map(physicalTopic(opts.namespace)));
      if (created.length > 0) logger.info({ topics: created }, 'created Kafka topics');
    }
    for (const [group, groupSubs] of subs.byConsumer()) {
      groups.push(
        createKafkaConsumerGroup({
          kafka,
          group,
          subscriptions: groupSubs,
          logger,
          partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently,
          fromBeginning: opts.fromBeginning,
          joinTimeoutMs: opts.joinTimeoutMs,
          namespace: opts.namespace,
          deliveryDeps: {
            db: opts.db,
            logger,
            metrics,
            retry,
            system: 'kafka',
            deadLetter: kafkaDeadLetterRoute(publisher!),
            signal: stopping.signal,
            handlerTimeoutMs: opts.handlerTimeoutMs,
          },
        }),
      );
    }
    for (const sub of recordSubs)
      recordConsumers.push(
        createKafkaRecordConsumer({
          kafka,
          sub,
          logger,
          namespace: opts.namespace,
          joinTimeoutMs: opts.joinTimeoutMs,
        }),
      );
    await Promise.all([...groups.map((g) => g.start()), ...recordConsumers.map((c) => c.start())]);
    if (relaying && publisher) {
      relay = startOutboxRelay({
        db: opts.db,
        publisher,
        logger,
        pollMs: opts.relay ? opts.relay.pollMs : undefined,
        batchSize: opts.relay ? opts.relay.batchSize : undefined,
        sources: opts.sources,
        metrics: opts.metrics,
      });
    }
  };

  return {
    subscribe(sub: Subscription) {
      if (state !== 'new') throw new Error('subscribe before the bus starts');
      subs.add(sub);
    },
    records: {
      subscribe(sub: RecordSubscription) {
        if (state !== 'new') throw new Error('subscribe before the bus starts');
        recordSubs.push(sub);
      },
      async send(topic: string, records: OutgoingRecord[]) {
        await (await producerOfRecords()).send(topic, records);
      },
    },
    async start() {
      if (state !== 'new') return;
      state = 'starting';
      try {
        await connect();
      } catch (err) {
        // Leave nothing half-connected behind a failed start.
        await Promise.allSettled([...groups, ...recordConsumers].map((g) => g.stop()));
        await publisher?.disconnect().catch(() => undefined);
        state = 'stopped';
        throw err;
      }
      state = 'started';
    },
    async stop() {
      if (state === 'stopped' || state === 'new') {
        state = 'stopped';
        return;
      }
      state = 'stopped';
      // Consumers first (their handlers may enqueue), then a last relay flush, then the producer.
      stopping.abort();
      await Promise.allSettled([...groups, ...recordConsumers].map((g) => g.stop()));
      await relay?.stop({ flushMs: opts.flushTimeoutMs ?? 5_000 });
      await publisher?.disconnect();
      if (recordProducer) await (await recordProducer.catch(() => undefined))?.disconnect();
    },
    async isReady() {
      if (state !== 'started') return false;
      if (publisher && !publisher.isConnected()) return false;
      return [...groups, ...recordConsumers].every((g) => g.isHealthy());
    },
  };
}
