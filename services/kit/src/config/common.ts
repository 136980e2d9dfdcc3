import { z } from 'zod';

/** Shared building blocks of every service's configuration schema. */
export const port = z.coerce.number().int().min(0).max(65535);
export const positiveInt = z.coerce.number().int().positive();
export const boolFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const databaseUrl = z
  .string()
  .regex(/^(postgres(ql)?:\/\/.+|pglite:\/\/.+)$/, 'must be postgresql://… or pglite://<folder>|memory');

/** Comma separated host:port list. */
export const brokerList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'each broker must be host:port')).min(1));

/** Variables every service understands. */
export const baseConfigShape = {
  LOG_LEVEL: logLevel.default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(60000).default(0),
  /** JWKS of the identity provider; without it the local key in DATA_DIR signs and verifies. */
  AUTH_JWKS_URL: z.url().optional(),
  AUTH_ISSUER: z.string().min(1).default('testbed-local'),
  AUTH_AUDIENCE: z.string().min(1).default('testbed'),
  /** Base URL of the quota service, which checks API tokens (`tbk_…`); unset: they are refused. */
  AUTH_TOKENS_URL: z.url().optional(),
  /** How long an API token's check (valid or not) is remembered: a revoked token works this long at most. */
  AUTH_TOKEN_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  /** Published outbox rows are deleted after this many hours (the leader prunes hourly). */
  BUS_OUTBOX_RETENTION_HOURS: z.coerce.number().int().min(1).max(100_000).default(24),
  /** Processed-event marks (the consumers' de-duplication) are deleted after this many hours. */
  BUS_DEDUP_RETENTION_HOURS: z.coerce.number().int().min(1).max(100_000).default(168),
  /** Audit entries are deleted after this many days (the leader prunes daily); 0: kept for good. */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(400),
  /** Mutating requests a user may make to one service per minute (every replica counts together); 0: no limit. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(300),
  /** The same for operators and the service role, which act for many users; 0: no limit. */
  RATE_LIMIT_SERVICE_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(3000),
};
