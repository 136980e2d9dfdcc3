import { deleteInBatches } from '../db/batched-delete';
import type { Database } from '../db/database';

/**
 * SQL of `ratelimit.window_count`: one row per (scope, subject, fixed window). The table is the
 * kit's (see PLATFORM_SCHEMAS): only the host's router and its prune task reach it, through the
 * host's own database, never a service's scoped one.
 */

/**
 * Counts one request into its window and answers the window's count so far, in one statement:
 * replicas counting at once each see a distinct count, so together they admit at most the limit.
 */
export async function countRequest(
  db: Database,
  key: { scope: string; subject: string; windowStart: Date },
): Promise<number> {
  const rows = await db.prisma.$queryRaw<{ count: number | bigint }[]>`
    INSERT INTO ratelimit.window_count AS w (scope, subject, window_start, count)
    VALUES (${key.scope}, ${key.subject}, ${key.windowStart}, 1)
    ON CONFLICT (scope, subject, window_start) DO UPDATE SET count = w.count + 1
    RETURNING count`;
  return Number(rows[0]?.count ?? 0);
}

/** Deletes windows that began before `before`, in bounded batches (each its own statement, no long lock). */
export async function pruneRateLimitWindows(
  db: Database,
  before: Date,
  opts: { batch?: number; maxBatches?: number } = {},
): Promise<number> {
  return deleteInBatches(
    (batch) => db.prisma.$executeRaw`
      DELETE FROM ratelimit.window_count WHERE (scope, subject, window_start) IN (
        SELECT scope, subject, window_start FROM ratelimit.window_count
        WHERE window_start < ${before} LIMIT ${batch})`,
    opts,
  );
}
