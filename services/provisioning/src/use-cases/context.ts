import type { Clock, Database, Logger, Tx } from '@testbed/kit';
import type { ProvisioningConfig } from '../config';
import type { NodeDockers } from '../docker/node-dockers';

/** What provisioning's use cases need; handed in by the service factory. */
export interface ProvisioningContext {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** CloudEvents `source` of what provisioning emits. */
  source: string;
  config: ProvisioningConfig;
  dockers: NodeDockers;
  /** This process's identity in operation claims (a restarted process is another worker). */
  workerId: string;
  /**
   * Starts the work of an operation of `kind` in this process, after the caller's transaction
   * commits (the worker waits for it); the resume task calls it for operations a dead process left.
   */
  kick(kind: string, operationId: string): void;
}

export function inTransaction<T>(
  ctx: ProvisioningContext,
  tx: Tx | undefined,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  return tx ? work(tx) : ctx.db.prisma.$transaction(work, { timeout: 30_000 });
}
