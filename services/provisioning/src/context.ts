import type { Clock, Database, Logger } from '@testbed/kit';
import type { ProvisioningConfig } from './config';
import type { NodeDockers } from './docker/node-dockers';
import type { ProvisioningMetrics } from './metrics';

/** What provisioning's use cases need; handed in by the service factory. */
export interface ProvisioningContext {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** CloudEvents `source` of what provisioning emits. */
  source: string;
  config: ProvisioningConfig;
  dockers: NodeDockers;
  metrics: ProvisioningMetrics;
  /** This process's identity in operation claims (a restarted process is another worker). */
  workerId: string;
  /**
   * Starts the work of a running operation in this process (the worker registered for its kind).
   * Call it once the transaction that made the operation runnable has committed (`afterCommit`).
   */
  kick(kind: string, operationId: string): void;
  /**
   * Records this process's create workers are making right now (still `creating`): the Docker
   * events of their containers are the runner's to record, so the watcher skips their lookup.
   */
  making?: Set<string>;
  /**
   * Containers those workers recorded running whose Docker `start` event (a no-op for a row that
   * says running) has not come yet; a `die` takes one out, the operation's end the rest.
   */
  startedHere?: Set<string>;
}
