import { CLOUDEVENTS_CONTENT_TYPE } from '../cloud-event';
import {
  deadLetterEvent,
  deadLetterHeaders,
  deadLetterTopic,
  isDeadLetterTopic,
  type DeadLetterRoute,
} from '../dead-letter';
import { captureTraceHeaders } from '../trace-context';
import { failSpan, startPublishSpan } from '../tracing';
import type { KafkaPublisher } from './kafka-publisher';

/**
 * Sends the dead letter to `<topic>.dlt` before the transaction that records it commits: if the
 * send fails nothing is recorded and Kafka delivers the message again; if the commit fails after
 * the send, the copy sent next time has the same id. A poison message (no CloudEvent) goes on
 * as the bytes it came as.
 */
export function kafkaDeadLetterRoute(publisher: KafkaPublisher): DeadLetterRoute {
  return async (letter) => {
    // A dead letter's own consumer failing ends in the table only, not in an endless `.dlt.dlt` chain.
    if (isDeadLetterTopic(letter.topic)) return;
    const topic = deadLetterTopic(letter.topic);
    const event = letter.event ? deadLetterEvent({ ...letter, event: letter.event }) : undefined;
    const value = event ? JSON.stringify(event) : typeof letter.raw === 'string' ? letter.raw : null;
    const { span, headers } = startPublishSpan(
      { topic, id: event?.id ?? letter.eventId, key: letter.key ?? '', headers: captureTraceHeaders() },
      publisher.system,
    );
    try {
      await publisher.send(topic, [
        {
          key: letter.key ?? null,
          value,
          headers: {
            ...deadLetterHeaders(letter),
            ...headers,
            ...(event ? { 'content-type': CLOUDEVENTS_CONTENT_TYPE } : {}),
          },
        },
      ]);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  };
}
