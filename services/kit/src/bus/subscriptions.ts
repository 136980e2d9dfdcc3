import type { Subscription } from './types';

/**
 * The subscriptions of one bus. A (consumer, topic) pair may appear once: idempotency is keyed
 * by (consumer, event id), so a second handler in the same group would see every event as done.
 */
export class SubscriptionSet {
  private readonly subs: Subscription[] = [];

  add(sub: Subscription): void {
    if (!sub.consumer) throw new TypeError('subscription consumer (group) must be non-empty');
    if (sub.topics.length === 0) throw new TypeError(`subscription of ${sub.consumer} names no topic`);
    for (const topic of sub.topics) {
      if (this.forTopic(topic).some((s) => s.consumer === sub.consumer)) {
        throw new Error(
          `consumer ${sub.consumer} already subscribes to ${topic}: one handler per consumer and topic`,
        );
      }
    }
    this.subs.push(sub);
  }

  all(): readonly Subscription[] {
    return this.subs;
  }

  forTopic(topic: string): Subscription[] {
    return this.subs.filter((s) => s.topics.includes(topic));
  }

  /** Subscriptions grouped by consumer (one Kafka consumer group each). */
  byConsumer(): Map<string, Subscription[]> {
    const out = new Map<string, Subscription[]>();
    for (const s of this.subs) out.set(s.consumer, [...(out.get(s.consumer) ?? []), s]);
    return out;
  }
}
