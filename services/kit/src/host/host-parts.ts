import { openDatabase, type Database } from '../db';
import type { Logger } from '../log/logger';
import type { BusRetention } from '../bus/prune';
import type { RateLimits } from '../http/rate-limit';

/** How long the bus keeps what it published and processed, as every host's configuration says. */
export const busRetentionOf = (config: {
  BUS_OUTBOX_RETENTION_HOURS: number;
  BUS_DEDUP_RETENTION_HOURS: number;
}): BusRetention => ({
  outboxHours: config.BUS_OUTBOX_RETENTION_HOURS,
  dedupHours: config.BUS_DEDUP_RETENTION_HOURS,
});

/** The per-subject limits of mutating requests, as every host's configuration says (0: off). */
export const rateLimitsOf = (config: {
  RATE_LIMIT_PER_MINUTE: number;
  RATE_LIMIT_SERVICE_PER_MINUTE: number;
}): RateLimits => ({
  userPerMinute: config.RATE_LIMIT_PER_MINUTE,
  servicePerMinute: config.RATE_LIMIT_SERVICE_PER_MINUTE,
});

/** A host's database: a connection the server ends while idle is logged and replaced, never fatal. */
export const openHostDatabase = (
  url: string,
  logger: Logger,
  opts: { pgliteSeed?: string } = {},
): Promise<Database> =>
  openDatabase({
    url,
    ...opts,
    onPoolError: (err) =>
      logger.warn({ err: err.message }, 'a database connection ended; the pool opens another'),
  });
