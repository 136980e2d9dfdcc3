import {
  deadLetterEvent,
  deadLetterHeaders,
  deadLetterTopic,
  isDeadLetterTopic,
  type DeadLetterRoute,
} from '../dead-letter';
import type { Delivery, DeliveryDeps } from '../deliver';
import { insertOutboxRowOnce } from '../outbox-store';
import type { OutboxMessage, OutboxPublisher } from '../relay';
import type { SubscriptionSet } from '../subscriptions';
import { captureTraceHeaders } from '../trace-context';
import { deliverInGroups, GROUP_SIZE } from './grouped-delivery';

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
 * subscriber of its topic has processed or dead-lettered it, so a crash loses nothing. Each
 * subscription gets its rows in outbox order, in groups of one transaction each (see
 * `deliverInGroups`); the subscriptions go side by side.
 */
export function createLocalPublisher(
  subs: SubscriptionSet,
  deps: () => DeliveryDeps,
  groupSize = GROUP_SIZE,
): OutboxPublisher {
  return {
    system: 'in-process',
    async publish(messages: OutboxMessage[]) {
      const d = deps();
      const results = await Promise.allSettled(
        subs
          .all()
          .map((sub) =>
            deliverInGroups(
              d,
              sub,
              messages.filter((m) => sub.topics.includes(m.topic)).map(toDelivery),
              groupSize,
            ),
          ),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

function toDelivery(m: OutboxMessage): Delivery {
  return { topic: m.topic, key: m.key, value: m.event, headers: m.headers, fallbackId: m.id };
}
