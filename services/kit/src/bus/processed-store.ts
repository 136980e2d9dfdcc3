import { Prisma } from '../db/generated/client';
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

/**
 * `markProcessed` for many events in one statement: the ids this transaction claimed (the others
 * were handled before, or are claimed by a transaction that commits first).
 */
export async function markProcessedMany(
  tx: Pick<TxClient, '$queryRaw'>,
  consumer: string,
  eventIds: readonly string[],
): Promise<Set<string>> {
  const ids = [...new Set(eventIds)];
  if (ids.length === 0) return new Set();
  const rows = await tx.$queryRaw<{ event_id: string }[]>`
    INSERT INTO bus.processed_event (consumer, event_id)
    VALUES ${Prisma.join(ids.map((id) => Prisma.sql`(${consumer}, ${id})`))}
    ON CONFLICT DO NOTHING
    RETURNING event_id`;
  return new Set(rows.map((r) => r.event_id));
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
