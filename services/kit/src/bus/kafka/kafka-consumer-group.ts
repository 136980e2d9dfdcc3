import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../log/logger';
import { deliverEvent, type DeliveryDeps } from '../deliver';
import type { BusMetrics } from '../metrics';
import type { Subscription } from '../types';
import { fromKafkaHeaders } from './kafka-headers';
import { restartWhenGivenUp, trackMembership } from './kafka-membership';
import { physicalTopic } from './kafka-namespace';

export interface KafkaConsumerGroupOptions {
  kafka: Kafka;
  /** The group id: the subscriptions' `consumer`. */
  group: string;
  subscriptions: Subscription[];
  deliveryDeps: DeliveryDeps;
  logger: Logger;
  /** Partitions handled side by side; order holds within a partition (default 4). */
  partitionsConsumedConcurrently?: number;
  /**
   * Where a group with no committed offset starts (default true: the earliest message). A new
   * group then replays the retained topic instead of missing what was published before it joined.
   */
  fromBeginning?: boolean;
  /** start() fails if the group is not joined by then (default 30 s). */
  joinTimeoutMs?: number;
  /** How long the broker waits for a silent member before giving its partitions to others. */
  sessionTimeoutMs?: number;
  /** Prefix of the physical topic and group names (see kafka-namespace.ts). */
  namespace?: string;
}

export interface KafkaConsumerGroup {
  /** Reaches the broker; start() then joins (and connects first when this was not called). */
  connect(): Promise<void>;
  start(): Promise<void>;
  /** Waits for the message in hand; its offset is committed only if it was settled. */
  stop(): Promise<void>;
  isHealthy(): boolean;
}

/**
 * One KafkaJS consumer per consumer group, processing message by message (`eachMessage`): each
 * consumer span is then a child of its message's producer span, as one user action should read
 * as one trace (with `eachBatch` it would be a link in a new trace). A message whose delivery
 * rejects is not acknowledged: KafkaJS fetches it again.
 */
export function createKafkaConsumerGroup(opts: KafkaConsumerGroupOptions): KafkaConsumerGroup {
  const physical = physicalTopic(opts.namespace);
  // Keyed by the physical topic; handlers, dead letters and metrics see the logical one.
  const byTopic = new Map<string, { sub: Subscription; topic: string }>();
  for (const sub of opts.subscriptions)
    for (const t of sub.topics) byTopic.set(physical(t), { sub, topic: t });
  const log = opts.logger.child({ consumer: opts.group });
  const consumer: Consumer = opts.kafka.consumer({
    groupId: physical(opts.group),
    allowAutoTopicCreation: true,
    // A fetch long-polls this long when the topic is idle, and disconnect() waits for it: a short
    // wait keeps shutdown quick at the cost of an idle fetch per second.
    maxWaitTimeInMs: 1_000,
    // A process killed without leaving its group holds its partitions until this passes, and its
    // replacement cannot join before: KafkaJS's 30 s default made every restart wait that long.
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
  trackLag(consumer, opts.group, (t) => byTopic.get(t)?.topic, opts.deliveryDeps.metrics);

  let connecting: Promise<void> | undefined;
  async function start(): Promise<void> {
    const connected = connecting ?? consumer.connect();
    // A restart (after a crash) connects again.
    connecting = undefined;
    await connected;
    await consumer.subscribe({ topics: [...byTopic.keys()], fromBeginning: opts.fromBeginning ?? true });
    const joined = membership.joined(opts.joinTimeoutMs ?? 30_000, `consumer group ${opts.group}`);
    await consumer.run({
      partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 4,
      eachMessage: async ({ topic: physicalName, partition, message, heartbeat }) => {
        const route = byTopic.get(physicalName);
        if (!route) return;
        const { sub, topic } = route;
        await deliverEvent({ ...opts.deliveryDeps, beforeRetryWait: heartbeat }, sub, {
          topic,
          key: message.key?.toString('utf8'),
          value: message.value?.toString('utf8') ?? null,
          headers: fromKafkaHeaders(message.headers),
          fallbackId: `${topic}/${partition}/${message.offset}`,
        });
      },
    });
    await joined;
  }

  return {
    connect: () => (connecting ??= consumer.connect()),
    start,
    async stop() {
      stopped = true;
      await connecting?.catch(() => undefined);
      await consumer.disconnect();
      membership.left();
    },
    isHealthy: () => membership.healthy(),
  };
}

/**
 * The group's lag per topic from KafkaJS's end-of-batch instrumentation (the high watermark
 * less the batch's last offset, each partition's newest figure, summed): no admin round trip.
 */
function trackLag(
  consumer: Consumer,
  group: string,
  logical: (physicalTopic: string) => string | undefined,
  metrics: BusMetrics,
): void {
  const byPartition = new Map<string, Map<number, number>>();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const topic = logical(payload.topic);
    if (!topic) return;
    const partitions = byPartition.get(topic) ?? new Map<number, number>();
    byPartition.set(topic, partitions);
    partitions.set(payload.partition, Math.max(0, Number(payload.offsetLag)));
    let sum = 0;
    for (const lag of partitions.values()) sum += lag;
    metrics.consumerLag.set({ consumer: group, topic }, sum);
  });
}
