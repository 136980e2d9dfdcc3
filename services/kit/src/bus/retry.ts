import { BusStoppedError } from './errors';
import type { RetryOptions } from './types';

export type RetryPolicy = Required<RetryOptions>;

export const defaultRetry: RetryPolicy = { attempts: 5, initialDelayMs: 200, maxDelayMs: 5000 };

export function retryPolicy(opts: RetryOptions | undefined): RetryPolicy {
  const p = { ...defaultRetry, ...opts };
  if (!Number.isInteger(p.attempts) || p.attempts < 1)
    throw new RangeError(`retry.attempts must be a positive integer, got ${p.attempts}`);
  if (p.initialDelayMs < 0 || p.maxDelayMs < p.initialDelayMs)
    throw new RangeError('retry delays must satisfy 0 <= initialDelayMs <= maxDelayMs');
  return p;
}

/** Delay after failed try number `attempt` (1-based): exponential, capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** Waits `ms`, or rejects with BusStoppedError as soon as `signal` aborts (so stop() is not held up). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new BusStoppedError());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new BusStoppedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
