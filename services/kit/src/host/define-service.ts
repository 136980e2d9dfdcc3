import { scopeDatabase, scopeTransaction } from '../db/ownership';
import type { Bus } from '../bus';
import type { ServiceDeps, ServiceModule } from './service-module';

/**
 * A service factory whose database is its own schema (and the bus's) only, whichever host runs
 * it: the host hands in the whole database, the service gets it scoped, and so does the
 * transaction each of its bus handlers runs in. `schema` is the Postgres schema it owns.
 */
export function defineService<C, Extra extends object = object>(
  schema: string,
  create: (deps: ServiceDeps & { config: C; bus: Bus } & Extra) => ServiceModule,
): (deps: ServiceDeps & { config: C; bus: Bus } & Extra) => ServiceModule {
  return (deps) => {
    const module: ServiceModule = create({ ...deps, db: scopeDatabase(deps.db, schema) });
    return {
      ...module,
      ...(module.subscriptions
        ? {
            subscriptions: module.subscriptions.map((sub) => ({
              ...sub,
              handle: (event, ctx) =>
                sub.handle(event, { ...ctx, tx: scopeTransaction(deps.db, ctx.tx, schema) }),
            })),
          }
        : {}),
    };
  };
}
