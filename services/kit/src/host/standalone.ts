import path from 'node:path';
import { z } from 'zod';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { baseConfigShape, brokerList, databaseUrl, port } from '../config/common';
import { ConfigError, loadConfig } from '../config/load-config';
import { createLogger, type Logger } from '../log/logger';
import { createJwksAuthenticator, createKeyAuthenticator } from '../auth/jwt-authenticator';
import { loadOrCreateLocalKey } from '../auth/local-key';
import {
  createApiTokenAuthenticator,
  createCompositeAuthenticator,
  httpTokenIntrospector,
} from '../auth/api-token-authenticator';
import type { TokenIntrospector } from '../auth/api-token';
import type { Authenticator } from '../auth/principal';
import { createKafkaBus } from '../bus';
import { systemClock } from '../time/clock';
import { leaderElectorFromEnv } from '../leader/kubernetes-lease';
import { runHost, stopOnSignals, type RunningHost } from './run-host';
import { busRetentionOf, openHostDatabase, rateLimitsOf } from './host-parts';
import type { ServiceFactory } from './service-module';

/** What every standalone service process reads, next to its own variables. */
export const standaloneConfigShape = {
  ...baseConfigShape,
  PORT: port,
  LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: databaseUrl,
  KAFKA_BROKERS: brokerList,
  /** Prefix of the Kafka topic and group names, for several platforms on one cluster. */
  KAFKA_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-'")
    .optional(),
  /** Holds the local signing key when no AUTH_JWKS_URL is set (a shared folder on one machine). */
  DATA_DIR: z.string().min(1).default('.data'),
};
const standaloneSchema = z.object(standaloneConfigShape);
export type StandaloneConfig = z.infer<typeof standaloneSchema>;

async function jwtAuthenticatorFor(config: {
  AUTH_JWKS_URL?: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
  DATA_DIR: string;
}): Promise<Authenticator> {
  const verify = { issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE };
  if (config.AUTH_JWKS_URL) return createJwksAuthenticator({ ...verify, jwksUrl: config.AUTH_JWKS_URL });
  const key = await loadOrCreateLocalKey(path.resolve(config.DATA_DIR));
  return createKeyAuthenticator(key.publicKey, verify);
}

/**
 * JWTs of the identity provider (or the local key), and API tokens checked by `introspect` or
 * else at AUTH_TOKENS_URL; with neither, API tokens are refused.
 */
export async function authenticatorFor(
  config: {
    AUTH_JWKS_URL?: string;
    AUTH_ISSUER: string;
    AUTH_AUDIENCE: string;
    AUTH_TOKENS_URL?: string;
    AUTH_TOKEN_CACHE_SECONDS: number;
    DATA_DIR: string;
  },
  opts: { introspect?: TokenIntrospector } = {},
): Promise<Authenticator> {
  const introspect =
    opts.introspect ?? (config.AUTH_TOKENS_URL ? httpTokenIntrospector(config.AUTH_TOKENS_URL) : undefined);
  return createCompositeAuthenticator(
    await jwtAuthenticatorFor(config),
    introspect
      ? createApiTokenAuthenticator({ introspect, cacheSeconds: config.AUTH_TOKEN_CACHE_SECONDS })
      : undefined,
  );
}

/**
 * The standalone host: one service per process (one pod), Postgres and Kafka. The service's own
 * configuration schema is merged with the standard one and checked in one pass.
 */
export async function runStandalone<S extends z.ZodObject, C extends StandaloneConfig & z.infer<S>>(opts: {
  name: string;
  configShape: S;
  /**
   * Settings read from the whole environment (variables named by other variables, such as a
   * node's NODEn_DOCKER_HOST), checked in the same pass: add an issue per problem.
   */
  configTransform?: (
    config: StandaloneConfig & z.infer<S> & Record<string, unknown>,
    ctx: z.RefinementCtx,
  ) => C;
  factory: ServiceFactory<NoInfer<C>>;
  onStopped?: () => Promise<void>;
}): Promise<{ host: RunningHost; logger: Logger }> {
  const transform = opts.configTransform;
  const schema = transform
    ? z
        .looseObject(standaloneConfigShape)
        .extend(opts.configShape.shape)
        .transform((c, ctx) => transform(c as StandaloneConfig & z.infer<S> & Record<string, unknown>, ctx))
    : standaloneSchema.extend(opts.configShape.shape);
  let config: C;
  try {
    config = loadConfig(schema) as C;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${opts.name}: cannot start.\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ name: opts.name, level: config.LOG_LEVEL });
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const host = await runHost({
    name: opts.name,
    port: config.PORT,
    listenHost: config.LISTEN_HOST,
    logger,
    metrics,
    authenticator: await authenticatorFor(config),
    busRetention: busRetentionOf(config),
    rateLimits: rateLimitsOf(config),
    auditRetentionDays: config.AUDIT_RETENTION_DAYS,
    open: async () => {
      const db = await openHostDatabase(config.DATABASE_URL, logger);
      const bus = createKafkaBus({
        brokers: config.KAFKA_BROKERS,
        namespace: config.KAFKA_NAMESPACE,
        clientId: opts.name,
        db,
        sources: [opts.name],
        logger,
        metrics,
      });
      const module = opts.factory({
        config,
        logger,
        db,
        bus,
        clock: systemClock,
        metrics,
        source: opts.name,
      });
      return { db, bus, modules: [module] };
    },
    // A Kubernetes Lease in a cluster, so one replica runs the janitors; always leader alone.
    leader: leaderElectorFromEnv(process.env, logger),
    shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
    onStopped: opts.onStopped,
  });
  stopOnSignals(host, logger);
  return { host, logger };
}
