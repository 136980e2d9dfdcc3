import { deleteInBatches } from '../db/batched-delete';
import type { Database } from '../db/database';
import type { PeriodicTask } from '../leader/periodic';
import type { Logger } from '../log/logger';
import type { Clock } from '../time/clock';

const DAY_MS = 86_400_000;

/** Deletes entries older than `before`, in bounded batches (each its own statement, no long lock). */
export async function pruneAuditEntries(
  db: Pick<Database, 'prisma'>,
  before: Date,
  opts: { batch?: number; maxBatches?: number } = {},
): Promise<number> {
  return deleteInBatches(
    (batch) => db.prisma.$executeRaw`
      DELETE FROM audit.entry WHERE seq IN (
        SELECT seq FROM audit.entry WHERE at < ${before} ORDER BY seq LIMIT ${batch})`,
    opts,
  );
}

/** The leader's daily prune of the audit log past its retention. */
export function auditPruneTask(
  db: Database,
  clock: Clock,
  logger: Logger,
  retentionDays: number,
): PeriodicTask {
  return {
    name: 'audit-prune',
    intervalMs: DAY_MS,
    run: async () => {
      const pruned = await pruneAuditEntries(db, new Date(clock.now().getTime() - retentionDays * DAY_MS));
      if (pruned > 0) logger.info({ pruned, retentionDays }, 'pruned the audit log');
    },
  };
}
