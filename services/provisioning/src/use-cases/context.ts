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
  /** Starts the Docker work of an operation whose addresses are allocated (after the commit). */
  kick(operationId: string): void;
  /** Starts the Docker work of an interface operation (attach, move, detach). */
  kickInterface(operationId: string): void;
  /** Starts the stops of an ended reservation's containers. */
  kickReservationStop(operationId: string): void;
  /** Starts the Docker side of a granted live resize. */
  kickLimitsChange(operationId: string): void;
}

export function inTransaction<T>(
  ctx: ProvisioningContext,
  tx: Tx | undefined,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  return tx ? work(tx) : ctx.db.prisma.$transaction(work, { timeout: 30_000 });
}
