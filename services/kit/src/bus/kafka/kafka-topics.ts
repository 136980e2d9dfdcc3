import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../../log/logger';
import { deadLetterTopic } from '../dead-letter';
import { createKafkaClient } from './kafka-client';

/**
 * Creates those of `topics` (each with its `<topic>.dlt`) that do not exist yet, with the
 * broker's defaults unless `partitions` is given; existing topics stay as they are. Subscribing
 * to a missing topic fails in KafkaJS even when the broker auto-creates topics (its first
 * metadata answer is UNKNOWN_TOPIC_OR_PARTITION), so consumers make their topics first.
 */
export async function createMissingTopics(
  kafka: Kafka,
  topics: string[],
  partitions?: number,
  /** Record streams have no dead letters: their handlers skip what they cannot read. */
  opts: { deadLetters?: boolean } = {},
): Promise<string[]> {
  const withDlt = opts.deadLetters ?? true;
  const all = [...new Set(topics.flatMap((t) => (withDlt ? [t, deadLetterTopic(t)] : [t])))];
  if (all.length === 0) return [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    // These topics alone first, as they exist at every start but the first: listing a cluster's
    // topics makes this process decode all of them (some 1,000 on the rig, 15 ms of a start).
    if (await allKnown(admin, all)) return [];
    const existing = new Set(await admin.listTopics());
    const wanted = all.filter((t) => !existing.has(t));
    if (wanted.length === 0) return [];
    // Resolves false rather than failing when another process created one meanwhile.
    await untilKnown(() =>
      admin.createTopics({
        waitForLeaders: true,
        topics: wanted.map((topic) => ({ topic, numPartitions: partitions ?? -1, replicationFactor: -1 })),
      }),
    );
    await untilKnown(() => admin.fetchTopicMetadata({ topics: wanted }));
    return wanted;
  } finally {
    await admin.disconnect();
  }
}

/** Whether every one of `topics` exists (the admin's metadata request creates none). */
async function allKnown(admin: Admin, topics: string[]): Promise<boolean> {
  try {
    const { topics: found } = await admin.fetchTopicMetadata({ topics });
    return topics.every((t) => found.some((f) => f.name === t));
  } catch (err) {
    if ((err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return false;
    throw err;
  }
}

/**
 * A topic the controller just created may be unknown to the broker's metadata for a moment
 * (KRaft propagates it asynchronously), and KafkaJS retries only LEADER_NOT_AVAILABLE while it
 * waits for leaders: UNKNOWN_TOPIC_OR_PARTITION is retried here, for at most ten seconds.
 */
async function untilKnown<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const type = (err as { type?: string }).type;
      const transient = type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE';
      if (!transient || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface EnsureTopicsOptions {
  brokers: string[];
  logger: Logger;
  topics: string[];
  /** Default: the broker's `num.partitions`. */
  partitions?: number;
}

/** createMissingTopics for deployment jobs and tests (its own connection). */
export async function ensureKafkaTopics(opts: EnsureTopicsOptions): Promise<string[]> {
  return createMissingTopics(
    createKafkaClient({ brokers: opts.brokers, clientId: 'testbed-topics', logger: opts.logger }),
    opts.topics,
    opts.partitions,
  );
}

/** Deletes those of `topics` (and their `.dlt`) that exist: test clean-up, retired topics. */
export async function deleteKafkaTopics(opts: Omit<EnsureTopicsOptions, 'partitions'>): Promise<string[]> {
  const admin = createKafkaClient({
    brokers: opts.brokers,
    clientId: 'testbed-topics',
    logger: opts.logger,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const doomed = [...new Set(opts.topics.flatMap((t) => [t, deadLetterTopic(t)]))].filter((t) =>
      existing.has(t),
    );
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed, timeout: 10_000 });
    return doomed;
  } finally {
    await admin.disconnect();
  }
}
