import {
  deadLetterEvent,
  deadLetterHeaders,
  deadLetterTopic,
  isDeadLetterTopic,
  type DeadLetterRoute,
} from '../dead-letter';
import { deliverEvent, type DeliveryDeps } from '../deliver';
import { insertOutboxRowOnce, orderingKey } from '../outbox-store';
import type { OutboxMessage, OutboxPublisher } from '../relay';
import type { SubscriptionSet } from '../subscriptions';
import { captureTraceHeaders } from '../trace-context';

/**
 * In-process dead letters go through the outbox as `<topic>.dlt` events, in the same transaction
 * as the `bus.dead_letter` row, so local `.dlt` subscribers get them with the usual guarantees.
 */
export const outboxDeadLetterRoute: DeadLetterRoute = async (letter, tx) => {
  if (!letter.event || isDeadLetterTopic(letter.topic)) return;
  const event = deadLetterEvent({ ...letter, event: letter.event });
  await insertOutboxRowOnce(tx, {
    id: event.id,
    source: event.source,
    topic: deadLetterTopic(letter.topic),
    key: letter.key ?? letter.eventId,
    event,
    headers: { ...deadLetterHeaders(letter), ...captureTraceHeaders() },
  });
};

/**
 * "Publishing" in-process is delivering: the relay marks a row published only after every local
 * subscriber of its topic has processed or dead-lettered it, so a crash loses nothing. Rows of
 * one (topic, key) go one after another in outbox order; different keys go side by side.
 */
export function createLocalPublisher(
  subs: SubscriptionSet,
  deps: () => DeliveryDeps,
  concurrency = 8,
): OutboxPublisher {
  return {
    system: 'in-process',
    async publish(messages: OutboxMessage[]) {
      const lanes = new Map<string, OutboxMessage[]>();
      for (const m of messages) {
        const k = orderingKey(m.topic, m.key);
        lanes.set(k, [...(lanes.get(k) ?? []), m]);
      }
      const queue = [...lanes.values()];
      const failures: unknown[] = [];
      const worker = async () => {
        for (let lane = queue.shift(); lane; lane = queue.shift()) {
          try {
            for (const m of lane) await deliverToAll(subs, deps(), m);
          } catch (err) {
            failures.push(err);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
      if (failures.length > 0) throw failures[0];
    },
  };
}

async function deliverToAll(subs: SubscriptionSet, deps: DeliveryDeps, m: OutboxMessage): Promise<void> {
  const results = await Promise.allSettled(
    subs.forTopic(m.topic).map((sub) =>
      deliverEvent(deps, sub, {
        topic: m.topic,
        key: m.key,
        value: m.event,
        headers: m.headers,
        fallbackId: m.id,
      }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
