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
import { deadLetterTopic } from '../dead-letter';
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
  let state: 'new' | 'connecting' | 'starting' | 'started' | 'stopped' = 'new';
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

  /**
   * Everything that only reaches the broker, side by side: the producer, the topics (one admin
   * session for the events with their dead letters and the record streams), each consumer's
   * connection. Nothing is consumed yet.
   */
  const reach = async () => {
    const client = createKafkaClient({ brokers: opts.brokers, clientId: opts.clientId, logger });
    kafka = client;
    const relaying = opts.relay !== false;
    // Consumers need the producer too: dead letters are sent to `<topic>.dlt`.
    if (relaying || subs.all().length > 0) publisher = kafkaPublisherOf(client, opts.namespace);
    const physical = physicalTopic(opts.namespace);
    const topics = [
      ...subs.all().flatMap((s) => s.topics.map(physical).flatMap((t) => [t, deadLetterTopic(t)])),
      ...recordSubs.flatMap((s) => s.topics.map(physical)),
    ];
    for (const [group, groupSubs] of subs.byConsumer()) {
      groups.push(
        createKafkaConsumerGroup({
          kafka: client,
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
          kafka: client,
          sub,
          logger,
          namespace: opts.namespace,
          joinTimeoutMs: opts.joinTimeoutMs,
          topicsMade: true,
        }),
      );
    const makeTopics = async () => {
      if (topics.length === 0) return;
      // Dead-letter topics are in the list already.
      const created = await createMissingTopics(client, topics, undefined, { deadLetters: false });
      if (created.length > 0) logger.info({ topics: created }, 'created Kafka topics');
    };
    await Promise.all([
      publisher?.connect(),
      makeTopics(),
      ...[...groups, ...recordConsumers].map((g) => g.connect()),
    ]);
  };
  /** Joins the groups (their topics exist now) and starts the relay. */
  const consume = async () => {
    await Promise.all([...groups, ...recordConsumers].map((g) => g.start()));
    if (opts.relay !== false && publisher) {
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
  // Leave nothing half-connected behind a failed connect or start.
  const abandon = async () => {
    await Promise.allSettled([...groups, ...recordConsumers].map((g) => g.stop()));
    await publisher?.disconnect().catch(() => undefined);
    state = 'stopped';
  };
  let connecting: Promise<void> | undefined;
  const connect = (): Promise<void> => {
    if (state === 'stopped') return Promise.reject(new Error('the bus has stopped'));
    if (state === 'new') state = 'connecting';
    return (connecting ??= reach().catch(async (err: unknown) => {
      await abandon();
      throw err;
    }));
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
    connect,
    async start() {
      if (state !== 'new' && state !== 'connecting') return;
      await connect();
      // stop() may have come while it connected.
      if (stopping.signal.aborted) return;
      state = 'starting';
      try {
        await consume();
      } catch (err) {
        await abandon();
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
      // Aborted first, so a start() waiting on the connect does not go on to consume.
      stopping.abort();
      // A connect in flight ends first: its consumers are then closed below like the others.
      await connecting?.catch(() => undefined);
      // Consumers first (their handlers may enqueue), then a last relay flush, then the producer.
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
