import { Counter } from 'prom-client';
import {
  defineService,
  scopeDatabase,
  type Clock,
  type Database,
  type ServiceModule,
  type TokenIntrospector,
} from '@testbed/kit';
import type { QuotaConfig } from './config';
import { quotaRoutes } from './http/routes';
import { quotaSubscriptions } from './events/handlers';
import { seedNodes } from './use-cases/nodes';
import { runSchedulerPass } from './use-cases/scheduler';
import type { QuotaContext } from './use-cases/context';
import { registerQuotaUseGauge } from './metrics';
import { introspectApiToken } from './use-cases/api-tokens';

export {
  quotaConfigShape,
  embeddedQuotaConfigShape,
  defaultQuotaConfig,
  knownNodeNames,
  type QuotaConfig,
} from './config';
export * from './events/contracts';

/** The quota service: users and limits, admission, reservations, and the reservation scheduler. */
export const createQuotaService = defineService<QuotaConfig>('quota', (deps): ServiceModule => {
  const ctx: QuotaContext = { db: deps.db, clock: deps.clock, source: deps.source, config: deps.config };
  const passes = new Counter({
    name: 'quota_scheduler_passes_total',
    help: 'Reservation scheduler passes finished on this replica',
    registers: [deps.metrics],
  });
  registerQuotaUseGauge(deps.metrics, ctx);
  const emitted = new Counter({
    name: 'quota_reservation_lifecycle_events_total',
    help: 'reservation.started / ending / ended events this replica emitted',
    registers: [deps.metrics],
  });
  return {
    name: 'quota',
    routes: quotaRoutes(ctx),
    subscriptions: quotaSubscriptions(ctx),
    leaderTasks: [
      {
        name: 'quota-reservation-scheduler',
        intervalMs: deps.config.QUOTA_SCHEDULER_INTERVAL_MS,
        run: async () => {
          const count = await runSchedulerPass(ctx);
          emitted.inc(count);
          passes.inc();
        },
      },
    ],
    start: async () => {
      const added = await seedNodes(ctx);
      if (added > 0) deps.logger.info({ added }, 'seeded known nodes from QUOTA_KNOWN_NODES');
    },
  };
});

/**
 * API tokens checked in this process, for a host that runs quota itself (the embedded default)
 * and so needs no AUTH_TOKENS_URL; the database is scoped to quota's schema as the service's is.
 */
export function quotaTokenIntrospector(deps: {
  db: Database;
  clock: Clock;
  config: QuotaConfig;
}): TokenIntrospector {
  const ctx: QuotaContext = {
    db: scopeDatabase(deps.db, 'quota'),
    clock: deps.clock,
    source: 'quota',
    config: deps.config,
  };
  return (token) => introspectApiToken(ctx, token);
}
