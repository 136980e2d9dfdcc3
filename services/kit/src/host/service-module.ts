import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger';
import type { Database } from '../db';
import type { Bus, RecordSubscription, Subscription } from '../bus';
import type { UpgradeRoute } from '../http/upgrade';
import type { Clock } from '../time/clock';
import type { RouteSpec } from '../http/route';
import type { ReadinessCheck } from '../http/readiness';
import type { PeriodicTask } from '../leader/periodic';

/** What a host hands every service factory; a service never builds these itself. */
export interface ServiceDeps {
  logger: Logger;
  db: Database;
  clock: Clock;
  metrics: Registry;
  /** Stable name of the emitting service in CloudEvents `source`. */
  source: string;
}

/** What a service contributes to whichever host runs it. */
export interface ServiceModule {
  name: string;
  routes?: RouteSpec[];
  subscriptions?: Subscription[];
  /** Record streams (samples) this service consumes. */
  recordSubscriptions?: RecordSubscription[];
  /** HTTP upgrades (WebSocket) this service answers, authenticated like its routes. */
  upgrades?: UpgradeRoute[];
  /** Run only on the leader replica. */
  leaderTasks?: PeriodicTask[];
  readiness?: ReadinessCheck[];
  start?(): Promise<void>;
  /**
   * Shutdown has begun: end long-lived responses (event streams, WebSockets) so the server can
   * close; runs before the server stops taking connections.
   */
  closeStreams?(): void;
  stop?(): Promise<void>;
}

export type ServiceFactory<C = unknown> = (deps: ServiceDeps & { config: C; bus: Bus }) => ServiceModule;
