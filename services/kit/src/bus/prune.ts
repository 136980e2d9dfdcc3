import type { Database } from '../db';

export interface BusRetention {
  /** Published outbox rows are kept this long (for looking into what was sent), then deleted. */
  outboxHours: number;
  /**
   * Processed-event marks are kept this long: a redelivery older than that would be handled
   * again, so it must exceed any outage after which the broker could still redeliver.
   */
  dedupHours: number;
}

export const defaultBusRetention: BusRetention = { outboxHours: 24, dedupHours: 7 * 24 };

/**
 * Deletes published outbox rows and processed-event marks past their retention, in bounded
 * batches (each its own statement, so no long lock). Unpublished rows are never touched.
 */
export async function pruneBusTables(
  db: Database,
  retention: BusRetention,
  now: Date,
  opts: { batch?: number; maxBatches?: number } = {},
): Promise<{ outbox: number; processed: number }> {
  const batch = opts.batch ?? 5000;
  const maxBatches = opts.maxBatches ?? 20;
  const publishedBefore = new Date(now.getTime() - retention.outboxHours * 3_600_000);
  const processedBefore = new Date(now.getTime() - retention.dedupHours * 3_600_000);
  const total = { outbox: 0, processed: 0 };
  for (let i = 0; i < maxBatches; i++) {
    const n = await db.prisma.$executeRaw`
      DELETE FROM bus.outbox WHERE seq IN (
        SELECT seq FROM bus.outbox
        WHERE published_at IS NOT NULL AND published_at < ${publishedBefore}
        ORDER BY seq LIMIT ${batch})`;
    total.outbox += n;
    if (n < batch) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const n = await db.prisma.$executeRaw`
      DELETE FROM bus.processed_event WHERE (consumer, event_id) IN (
        SELECT consumer, event_id FROM bus.processed_event
        WHERE processed_at < ${processedBefore} LIMIT ${batch})`;
    total.processed += n;
    if (n < batch) break;
  }
  return total;
}
