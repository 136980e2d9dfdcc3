import type { TxClient } from './types';

type Sql = Pick<TxClient, '$executeRaw'>;

/**
 * Claims (consumer, event) for this transaction. False when it is already there: the event was
 * handled (or dead-lettered) before, and this delivery is a copy. A concurrent claim of the same
 * pair waits on the primary key until the first transaction ends, so only one of them wins.
 */
export async function markProcessed(tx: Sql, consumer: string, eventId: string): Promise<boolean> {
  const inserted = await tx.$executeRaw`
    INSERT INTO bus.processed_event (consumer, event_id) VALUES (${consumer}, ${eventId})
    ON CONFLICT DO NOTHING`;
  return inserted === 1;
}

export interface DeadLetterRow {
  consumer: string;
  topic: string;
  eventId: string;
  /** The CloudEvent, or the raw message text when it was not one. */
  event: unknown;
  error: string;
  attempts: number;
}

export async function insertDeadLetter(tx: Sql, row: DeadLetterRow): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO bus.dead_letter (consumer, topic, event_id, event, error, attempts)
    VALUES (${row.consumer}, ${row.topic}, ${row.eventId}, ${JSON.stringify(row.event)}::jsonb, ${row.error}, ${row.attempts})`;
}
