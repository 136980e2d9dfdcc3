import type { Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import { ROLES, type Principal, type Role } from '../auth/principal';
import type { Database } from '../db/database';
import type { Logger } from '../log/logger';
import type { Clock } from '../time/clock';
import type { PeriodicTask } from '../leader/periodic';
import { RateLimitedError } from './errors';
import { countRequest, pruneRateLimitWindows } from './rate-limit-store';
import type { RouteSpec } from './route';

/** Mutating requests one subject may make to one service per minute, by role; 0 turns a limit off. */
export interface RateLimits {
  userPerMinute: number;
  /** Operators and the service role: the portal's backend and the reservation system act for many users. */
  servicePerMinute: number;
}

export const RATE_LIMIT_WINDOW_MS = 60_000;

const MUTATING = new Set<string>(['post', 'put', 'patch', 'delete']);

export function limitFor(limits: RateLimits, role: Role): number {
  return role === 'user' ? limits.userPerMinute : limits.servicePerMinute;
}

/**
 * Whether a route can answer 429 under these limits: it changes something, it has a subject to
 * count (public routes have none; counting them all as "anonymous" would let one caller lock
 * everyone out), and a role it admits is limited. The router and the OpenAPI document both ask
 * this, so the document names a 429 exactly where one can come.
 */
export function isRateLimited(route: RouteSpec, limits: RateLimits | undefined): boolean {
  if (!limits || !MUTATING.has(route.method) || route.roles === 'public') return false;
  return (route.roles ?? ROLES).some((role) => limitFor(limits, role) > 0);
}

export interface RateLimiter {
  readonly limits: RateLimits;
  /**
   * Counts a request of `principal` to `scope` (a service) and sets the RateLimit headers on
   * `res`; throws RateLimitedError over the limit. A database failure lets the request through.
   */
  admit(req: { scope: string; route: RouteSpec; principal: Principal; res: Response }): Promise<void>;
}

/**
 * Fixed one-minute windows counted in the database every replica shares, so the limit holds
 * however many replicas take the requests. Windows start on the clock's minute; replicas' clocks
 * a little apart only blur the edge of a window.
 */
export function createRateLimiter(opts: {
  db: Database;
  limits: RateLimits;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
}): RateLimiter {
  const refused = new Counter({
    name: 'http_rate_limited_total',
    help: 'Requests answered 429 because their subject was over its rate limit, by route',
    labelNames: ['route'] as const,
    registers: [opts.metrics],
  });
  const failed = new Counter({
    name: 'http_rate_limit_failures_total',
    help: 'Requests let through unlimited because the rate limiter could not reach the database',
    registers: [opts.metrics],
  });
  let lastWarning = 0;

  return {
    limits: opts.limits,
    async admit({ scope, route, principal, res }) {
      const limit = limitFor(opts.limits, principal.role);
      if (limit <= 0 || !isRateLimited(route, opts.limits)) return;
      const now = opts.clock.now().getTime();
      const windowStart = now - (now % RATE_LIMIT_WINDOW_MS);
      let count: number;
      try {
        count = await countRequest(opts.db, {
          scope,
          subject: principal.subject,
          windowStart: new Date(windowStart),
        });
      } catch (err) {
        // A limiter must never turn a request into a 5xx: the request goes on, the failure shows.
        failed.inc();
        if (now - lastWarning >= RATE_LIMIT_WINDOW_MS) {
          lastWarning = now;
          opts.logger.warn({ err, scope }, 'rate limiter cannot reach the database; requests pass unlimited');
        }
        return;
      }
      const retryAfter = Math.max(1, Math.ceil((windowStart + RATE_LIMIT_WINDOW_MS - now) / 1000));
      res.setHeader('RateLimit-Limit', String(limit));
      res.setHeader('RateLimit-Remaining', String(Math.max(0, limit - count)));
      res.setHeader('RateLimit-Reset', String(retryAfter));
      if (count <= limit) return;
      refused.inc({ route: route.path });
      throw new RateLimitedError(
        `at most ${limit} changes a minute for ${principal.role} '${principal.subject}' in ${scope}; ` +
          `try again in ${retryAfter} s`,
        retryAfter,
        { limit, windowSeconds: RATE_LIMIT_WINDOW_MS / 1000 },
      );
    },
  };
}

/** The leader's task that deletes past windows (a window is read only while it is current). */
export function rateLimitPruneTask(db: Database, clock: Clock, logger: Logger): PeriodicTask {
  return {
    name: 'rate-limit-prune',
    intervalMs: 5 * RATE_LIMIT_WINDOW_MS,
    run: async () => {
      const pruned = await pruneRateLimitWindows(
        db,
        new Date(clock.now().getTime() - 2 * RATE_LIMIT_WINDOW_MS),
      );
      if (pruned > 0) logger.debug({ pruned }, 'pruned past rate-limit windows');
    },
  };
}
