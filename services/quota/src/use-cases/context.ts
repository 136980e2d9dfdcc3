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

/** Runs `work` in the caller's transaction (a bus handler's) or in a new one. */
export function inTransaction<T>(
  ctx: QuotaContext,
  tx: Tx | undefined,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  return tx ? work(tx) : ctx.db.prisma.$transaction(work);
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
