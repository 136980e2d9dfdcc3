import { createHash } from 'node:crypto';
import {
  DependencyFailedError,
  DependencyTimeoutError,
  UnauthorizedError,
  UnavailableError,
} from '../http/errors';
import { systemClock, type Clock } from '../time/clock';
import {
  apiTokenIdOf,
  isApiToken,
  tokenIntrospection,
  type InactiveReason,
  type TokenIntrospection,
  type TokenIntrospector,
} from './api-token';
import type { Authenticator, Principal } from './principal';

const REASONS: Record<InactiveReason, string> = {
  unknown: 'token unknown',
  revoked: 'token revoked',
  expired: 'token expired',
  malformed: 'token malformed',
};

interface Cached {
  answer: TokenIntrospection;
  until: number;
}

function principalOf(answer: TokenIntrospection, now: number): Principal {
  if (!answer.active) throw new UnauthorizedError(REASONS[answer.reason ?? 'unknown']);
  if (answer.exp !== undefined && answer.exp * 1000 <= now) throw new UnauthorizedError(REASONS.expired);
  if (!answer.subject || !answer.role) throw new UnauthorizedError('token has no subject or role');
  return {
    subject: answer.subject,
    role: answer.role,
    ...(answer.tokenId ? { tokenId: answer.tokenId } : {}),
    ...(answer.nodes ? { nodes: answer.nodes } : {}),
  };
}

/**
 * API tokens (`tbk_…`), checked by asking their owner and remembering the answer, good or bad,
 * for `cacheSeconds` (never past the token's expiry). That bound is how long a revoked token
 * still works on a replica; `maxEntries` bounds the memory a flood of made-up tokens can take.
 * The cache is keyed by the token's SHA-256, so no secret stays in memory.
 */
export function createApiTokenAuthenticator(opts: {
  introspect: TokenIntrospector;
  cacheSeconds: number;
  maxEntries?: number;
  clock?: Clock;
}): Authenticator {
  const clock = opts.clock ?? systemClock;
  const ttlMs = opts.cacheSeconds * 1000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const cache = new Map<string, Cached>();
  // Concurrent requests with one token share one introspection.
  const asking = new Map<string, Promise<TokenIntrospection>>();

  function remember(key: string, answer: TokenIntrospection, now: number): void {
    if (ttlMs <= 0) return;
    const until =
      answer.active && answer.exp !== undefined ? Math.min(now + ttlMs, answer.exp * 1000) : now + ttlMs;
    cache.delete(key);
    if (cache.size >= maxEntries) {
      for (const [k, c] of cache) if (c.until <= now) cache.delete(k);
      // Still full: the oldest answers go first (a Map iterates in insertion order).
      for (const k of cache.keys()) {
        if (cache.size < maxEntries) break;
        cache.delete(k);
      }
    }
    cache.set(key, { answer, until });
  }

  async function answerOf(token: string): Promise<TokenIntrospection> {
    const key = createHash('sha256').update(token).digest('hex');
    const cached = cache.get(key);
    if (cached && cached.until > clock.now().getTime()) return cached.answer;
    const pending = asking.get(key);
    if (pending) return pending;
    const asked = opts.introspect(token).then((answer) => {
      remember(key, answer, clock.now().getTime());
      return answer;
    });
    asking.set(key, asked);
    try {
      return await asked;
    } finally {
      asking.delete(key);
    }
  }

  return {
    async verify(token) {
      if (apiTokenIdOf(token) === undefined) throw new UnauthorizedError(REASONS.malformed);
      return principalOf(await answerOf(token), clock.now().getTime());
    },
  };
}

/** Introspection over HTTP at the quota service (`AUTH_TOKENS_URL`), each call within a deadline. */
export function httpTokenIntrospector(baseUrl: string, opts: { timeoutMs?: number } = {}): TokenIntrospector {
  const url = `${baseUrl.replace(/\/+$/, '')}/v1/tokens/introspect`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  return async (token) => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ token }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError')
        throw new DependencyTimeoutError(
          `the token service at ${baseUrl} did not answer within ${timeoutMs} ms`,
        );
      throw new UnavailableError(
        `the token service at ${baseUrl} does not answer: ${(err as Error).message}`,
      );
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new DependencyFailedError(`the token service at ${baseUrl} answered ${res.status}`);
    }
    const parsed = tokenIntrospection.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success)
      throw new DependencyFailedError(
        `the token service at ${baseUrl} answered something not an introspection`,
      );
    return parsed.data;
  };
}

/**
 * Identity-provider JWTs and API tokens on one bearer header, told apart by the `tbk_` prefix.
 * Without an API-token authenticator (no AUTH_TOKENS_URL), API tokens are refused by name.
 */
export function createCompositeAuthenticator(
  jwt: Authenticator,
  apiTokens: Authenticator | undefined,
): Authenticator {
  return {
    verify(token) {
      if (!isApiToken(token)) return jwt.verify(token);
      if (!apiTokens) return Promise.reject(new UnauthorizedError('API tokens are not enabled here'));
      return apiTokens.verify(token);
    },
  };
}
