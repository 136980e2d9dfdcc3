import { createHash } from 'node:crypto';
import type { CloudEvent } from './cloud-event';
import type { EventHeaders, TxClient } from './types';

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlt`;
}

export function isDeadLetterTopic(topic: string): boolean {
  return topic.endsWith('.dlt');
}

/** What a consumer gave up on, and why. */
export interface DeadLetter {
  consumer: string;
  topic: string;
  /** The original message key. */
  key: string | undefined;
  /** The event id, or where the message was when it was no event at all. */
  eventId: string;
  /** Undefined for a poison message that is not a CloudEvent. */
  event: CloudEvent<unknown> | undefined;
  /** The message value as received. */
  raw: unknown;
  error: string;
  attempts: number;
  /** The received headers (trace context included). */
  headers: EventHeaders;
}

/**
 * Transport-specific part of dead-lettering, run inside the transaction that writes the
 * `bus.dead_letter` row and the processed mark: if it throws, none of them is kept and the
 * message comes again.
 */
export type DeadLetterRoute = (letter: DeadLetter, tx: TxClient) => Promise<void>;

/**
 * The event as re-published on `<topic>.dlt`: a new id (the original was marked processed for
 * this consumer, and a group subscribed to both topics would skip it), the same one each time
 * this consumer dead-letters this event, so copies of the dead letter deduplicate too.
 */
export function deadLetterEvent(letter: DeadLetter & { event: CloudEvent<unknown> }): CloudEvent<unknown> {
  return { ...letter.event, id: nameBasedUuid(`${letter.consumer}\u0000${letter.eventId}`) };
}

/** Facts about the failure, as message headers next to the (new) trace context. */
export function deadLetterHeaders(letter: DeadLetter): EventHeaders {
  return {
    'dlt-original-id': letter.eventId,
    'dlt-original-topic': letter.topic,
    'dlt-consumer': letter.consumer,
    'dlt-attempts': String(letter.attempts),
    'dlt-error': letter.error.slice(0, 1000),
  };
}

/** An RFC 4122 version-5-shaped UUID from a name (SHA-1), so the same name gives the same id. */
function nameBasedUuid(name: string): string {
  const b = createHash('sha1').update('testbed.bus.dead-letter:').update(name).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
