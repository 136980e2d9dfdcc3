import { Gauge } from 'prom-client';
import { defineService, type ServiceModule } from '@testbed/kit';
import type { IpamConfig } from './config';
import { ipamRoutes } from './http/routes';
import { ipamSubscriptions } from './events/handlers';
import { releaseExpiredHolds } from './use-cases/release';
import { seedPools, utilisation } from './use-cases/pools';
import type { IpamContext } from './use-cases/context';

export { ipamConfigShape, defaultIpamConfig, type IpamConfig } from './config';
export * from './events/contracts';

/** The ipam service: pools and allocations, their API, bus handlers and the hold janitor. */
export const createIpamService = defineService<IpamConfig>('ipam', (deps): ServiceModule => {
  const ctx: IpamContext = { db: deps.db, clock: deps.clock, source: deps.source, config: deps.config };
  new Gauge({
    name: 'ipam_pool_utilisation_ratio',
    help: 'Fraction of each pool’s assignable addresses that are held or bound',
    labelNames: ['pool'] as const,
    registers: [deps.metrics],
    async collect() {
      for (const { pool, used, size } of await utilisation(ctx))
        this.set({ pool }, size === 0 ? 0 : used / size);
    },
  });
  return {
    name: 'ipam',
    routes: ipamRoutes(ctx),
    subscriptions: ipamSubscriptions(ctx),
    leaderTasks: [
      {
        name: 'ipam-hold-janitor',
        intervalMs: deps.config.IPAM_JANITOR_INTERVAL_MS,
        run: async () => {
          const released = await releaseExpiredHolds(ctx);
          if (released > 0) deps.logger.info({ released }, 'expired address holds released');
        },
      },
    ],
    start: async () => {
      if (!deps.config.IPAM_SEED_POOLS) return;
      const created = await seedPools(ctx);
      if (created.length > 0) deps.logger.info({ created }, 'seeded address pools');
    },
  };
});
