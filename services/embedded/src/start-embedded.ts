import fs from 'node:fs';
import path from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { embeddedPortalConfig, portalRouter } from '@testbed/portal';
import { quotaTokenIntrospector } from '@testbed/quota';
import {
  ROLES,
  UnavailableError,
  authenticatorFor,
  createInProcessBus,
  createLogger,
  busRetentionOf,
  rateLimitsOf,
  migrateDatabase,
  openHostDatabase,
  PGLITE_SEED_FILE,
  runHost,
  systemClock,
  type Bus,
  type Logger,
  type RunningHost,
  type ServiceModule,
  type TokenIntrospector,
} from '@testbed/kit';
import type { EmbeddedConfig } from './config';
import { embeddedModules } from './modules';

export interface EmbeddedPlatform {
  host: RunningHost;
  logger: Logger;
  /** The in-process bus (its record streams take node agents' sample batches). */
  bus: Bus;
}

/** Starts every service in this process; used by `npm start` and by tests of the embedded default. */
export async function startEmbedded(
  config: EmbeddedConfig,
  opts: { onStopped?: () => Promise<void>; logger?: Logger } = {},
): Promise<EmbeddedPlatform> {
  const logger = opts.logger ?? createLogger({ name: 'testbed', level: config.LOG_LEVEL });
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });

  let bus: Bus | undefined;
  // quota runs in this process: API tokens are checked here, against the database opened below
  // (no route is mounted before it is).
  let introspect: TokenIntrospector | undefined;
  const host = await runHost({
    name: 'testbed',
    port: config.PORT,
    listenHost: config.LISTEN_HOST,
    logger,
    metrics,
    authenticator: await authenticatorFor(config, {
      introspect: (token) =>
        introspect ? introspect(token) : Promise.reject(new UnavailableError('the database is not open yet')),
    }),
    // The portal at `/`: its pages, assets and /portal-config.json, after the API's routes.
    extraRouters: [
      portalRouter({ distDir: config.PORTAL_DIST_DIR, config: embeddedPortalConfig(config, ROLES) }),
    ],
    busRetention: busRetentionOf(config),
    rateLimits: rateLimitsOf(config),
    auditRetentionDays: config.AUDIT_RETENTION_DAYS,
    open: async () => {
      // Beside the compiled bundle (the build writes it); a run from source has none and runs initdb.
      const db = await openHostDatabase(config.DATABASE_URL, logger, {
        pgliteSeed: path.join(__dirname, PGLITE_SEED_FILE),
      });
      if (db.seeded) logger.info("new database folder made from the build's migrated seed");
      const { applied } = await migrateDatabase({ database: db });
      if (applied.length > 0) logger.info({ applied }, 'database migrated');
      bus = createInProcessBus({ db, logger, metrics });
      introspect = quotaTokenIntrospector({ db, clock: systemClock, config });
      const modules: ServiceModule[] = embeddedModules({
        logger,
        db,
        bus,
        clock: systemClock,
        metrics,
        config,
      });
      return { db, bus, modules };
    },
    shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
    onStopped: opts.onStopped,
  });
  return { host, logger, bus: bus! };
}
