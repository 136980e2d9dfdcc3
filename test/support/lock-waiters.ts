import type pg from 'pg';
import { waitFor } from './wait';

/**
 * Waits until at least `atLeast` other backends of the database wait on a lock: the code under
 * test, blocked behind the test's own transaction on `holder` (which is not counted).
 */
export async function backendsWaitingBehind(
  pool: pg.Pool,
  holder: pg.Client,
  what: string,
  atLeast = 1,
): Promise<void> {
  const pid = (holder as unknown as { processID: number }).processID;
  await waitFor(
    what,
    async () => {
      const r = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1`,
        [pid],
      );
      return Number(r.rows[0]!.n) >= atLeast;
    },
    10_000,
    20,
  );
}
