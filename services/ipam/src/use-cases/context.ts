import type { Clock, Database } from '@testbed/kit';
import type { IpamConfig } from '../config';

/** What ipam's use cases need; handed in by the service factory. */
export interface IpamContext {
  db: Database;
  clock: Clock;
  /** CloudEvents `source` of what ipam emits. */
  source: string;
  config: IpamConfig;
}

/** Runs `work` in the caller's transaction (a bus handler's) or in a new one. */
export function inTransaction<T>(
  ctx: IpamContext,
  tx: import('@testbed/kit').Tx | undefined,
  work: (tx: import('@testbed/kit').Tx) => Promise<T>,
): Promise<T> {
  return tx ? work(tx) : ctx.db.prisma.$transaction(work);
}
