import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import {
  createApiTokenAuthenticator,
  createCompositeAuthenticator,
  createInProcessBus,
  createKafkaBus,
  createKeyAuthenticator,
  httpTokenIntrospector,
  createLogger,
  loadOrCreateLocalKey,
  migrateDatabase,
  openDatabase,
  runHost,
  signLocalToken,
  systemClock,
  type Bus,
  type Clock,
  type Database,
  type Logger,
  type RateLimits,
  type Role,
  type RunningHost,
  type ServiceModule,
} from '@testbed/kit';
import { freshPostgresDatabase, randomSuffix, rigEnv } from './rig';

export interface TestHostDeps {
  db: Database;
  bus: Bus;
  logger: Logger;
  metrics: Registry;
  clock: Clock;
  source: string;
}

export interface TestHost {
  url: string;
  /** The database URL (to start a second replica on it). */
  databaseUrl: string;
  db: Database;
  bus: Bus;
  host: RunningHost;
  metrics: Registry;
  /** Prefix of this host's Kafka topics and groups (publish to `${kafkaNamespace}.<topic>`). */
  kafkaNamespace: string;
  token(subject: string, role?: Role): Promise<string>;
  /** fetch against the host with a token of `subject`. */
  call(subject: string, role: Role, pathname: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

const verify = { issuer: 'testbed-local', audience: 'testbed' };

/**
 * Starts service modules in this process the way the hosts do, on a port of its own, against
 * real components: PGlite or a fresh database on the rig's Postgres, the in-process bus or the
 * rig's Kafka.
 */
export async function startTestHost(opts: {
  name: string;
  /** PGlite in memory, a fresh database on the rig's Postgres, or an existing one (a second replica). */
  database: 'pglite' | 'postgres' | { url: string };
  bus: 'in-process' | 'kafka';
  modules: (deps: TestHostDeps) => ServiceModule[];
  clock?: Clock;
  /** Another host's namespace: replicas of one service share topics and consumer groups. */
  kafkaNamespace?: string;
  /**
   * API tokens (`tbk_…`) accepted next to the host's JWTs, checked at a quota service's URL
   * (`'self'`: this host runs quota) as AUTH_TOKENS_URL has a standalone host do. Absent: refused.
   */
  apiTokens?: { url: string | 'self'; cacheSeconds?: number };
  /** Per-subject limits of mutating requests, windows on `clock`; absent: none (the hosts' default is on). */
  rateLimit?: RateLimits;
}): Promise<TestHost> {
  const logger = createLogger({ name: opts.name, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name}-`));
  const fresh =
    opts.database === 'postgres' ? await freshPostgresDatabase(opts.name.replace(/\W/g, '_')) : undefined;
  const url = typeof opts.database === 'object' ? opts.database.url : (fresh?.url ?? 'pglite://memory');
  const db = await openDatabase({ url });
  await migrateDatabase({ database: db });
  const metrics = new Registry();
  const kafkaNamespace = opts.kafkaNamespace ?? `test-${randomSuffix()}`;
  const bus =
    opts.bus === 'kafka'
      ? createKafkaBus({
          brokers: (rigEnv('KAFKA_BROKERS').KAFKA_BROKERS as string).split(','),
          clientId: `${opts.name}-${path.basename(dataDir)}`,
          // Each test host has topics and groups of its own: test files never consume each other's events.
          namespace: kafkaNamespace,
          db,
          logger,
          metrics,
        })
      : createInProcessBus({ db, logger, metrics });
  const key = await loadOrCreateLocalKey(dataDir);
  const deps = { db, bus, logger, metrics, clock: opts.clock ?? systemClock, source: opts.name };
  const apiTokens = opts.apiTokens;
  let selfUrl = '';
  const host = await runHost({
    name: opts.name,
    port: 0,
    listenHost: '127.0.0.1',
    logger,
    metrics,
    authenticator: createCompositeAuthenticator(
      createKeyAuthenticator(key.publicKey, verify),
      apiTokens
        ? createApiTokenAuthenticator({
            // This host's own URL is known only once it listens, before any route is mounted.
            introspect: (token) =>
              httpTokenIntrospector(apiTokens.url === 'self' ? selfUrl : apiTokens.url)(token),
            cacheSeconds: apiTokens.cacheSeconds ?? 5,
            clock: deps.clock,
          })
        : undefined,
    ),
    open: async () => ({ db, bus, modules: opts.modules(deps) }),
    rateLimits: opts.rateLimit,
    clock: deps.clock,
  });
  selfUrl = host.url;
  const token = (subject: string, role: Role = 'user') => signLocalToken(key, { subject, role, ...verify });
  return {
    url: host.url,
    databaseUrl: url,
    db,
    bus,
    host,
    metrics,
    kafkaNamespace,
    token,
    async call(subject, role, pathname, init = {}) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${await token(subject, role)}`);
      if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
      return fetch(host.url + pathname, { ...init, headers });
    },
    async stop() {
      await host.stop();
      await fresh?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
