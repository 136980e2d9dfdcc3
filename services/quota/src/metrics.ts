import { Gauge, type Registry } from 'prom-client';
import { listUsers } from './store/user-store';
import { getUsage } from './use-cases/users';
import { transaction, type QuotaContext } from './use-cases/context';

/** Users scraped at most: the gauge stays bounded on a platform with very many users. */
const MAX_USERS = 2000;
const RESOURCES = ['containers', 'cpuMillis', 'memoryBytes', 'addresses'] as const;

/**
 * `quota_use_ratio{user, resource}`: what a user has running or held against their limit, read
 * from the database when Prometheus scrapes (any replica answers the same); users who use
 * nothing are left out, so the series are those of the users who matter.
 */
export function registerQuotaUseGauge(registry: Registry, ctx: QuotaContext): void {
  new Gauge({
    name: 'quota_use_ratio',
    help: 'A user’s running plus held use of a resource over their limit (1 = at the limit)',
    labelNames: ['user', 'resource'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const users = await transaction(ctx, (tx) => listUsers(tx, undefined, MAX_USERS));
      for (const u of users) {
        const usage = await getUsage(ctx, u.name);
        for (const r of RESOURCES) {
          const { limit, inUse, held } = usage[r];
          if (inUse + held > 0 && limit > 0) this.set({ user: u.name, resource: r }, (inUse + held) / limit);
        }
      }
    },
  });
}
