import type { Clock, Database, Tx } from '@testbed/kit';
import type { QuotaConfig } from '../config';
import type { Limits } from '../domain/limits';

/** What quota's use cases need; handed in by the service factory. */
export interface QuotaContext {
  db: Database;
  clock: Clock;
  /** CloudEvents `source` of what quota emits. */
  source: string;
  config: QuotaConfig;
}

/**
 * Prisma's interactive-transaction defaults (2 s to get a connection, 5 s to finish) turn a busy
 * moment into a 500: a burst of bookings queues for the pool's connections, and a booking waits
 * for a concurrent one's conflicting slot to commit. These bounds still end a stuck transaction.
 */
const TRANSACTION_BOUNDS = { maxWait: 10_000, timeout: 30_000 };

/** Runs `work` in a new transaction of quota's own. */
export function transaction<T>(ctx: QuotaContext, work: (tx: Tx) => Promise<T>): Promise<T> {
  return ctx.db.prisma.$transaction(work, TRANSACTION_BOUNDS);
}

/** Runs `work` in the caller's transaction (a bus handler's) or in a new one. */
export function inTransaction<T>(
  ctx: QuotaContext,
  tx: Tx | undefined,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  return tx ? work(tx) : transaction(ctx, work);
}

/** The configured limits of a user without overrides. */
export function defaultLimits(config: QuotaConfig): Limits {
  return {
    maxContainers: config.QUOTA_MAX_CONTAINERS,
    maxCpuMillis: config.QUOTA_MAX_CPU_MILLIS,
    maxMemoryBytes: config.QUOTA_MAX_MEMORY_BYTES,
    maxAddresses: config.QUOTA_MAX_ADDRESSES,
    maxConcurrentReservations: config.QUOTA_MAX_CONCURRENT_RESERVATIONS,
  };
}
