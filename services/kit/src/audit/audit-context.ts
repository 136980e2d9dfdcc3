import { AsyncLocalStorage } from 'node:async_hooks';
import type { Role } from '../auth/principal';

/** Who asked for the change, and from where: what the router knows of the request at hand. */
export interface AuditRequest {
  actor: string;
  role: Role;
  tokenId?: string;
  sourceIp?: string;
  userAgent?: string;
  requestId?: string;
  /** The service the route belongs to. */
  source: string;
  /** What the route does (`container.start`), on which resource. */
  action: string;
  targetType: string;
  targetId?: string;
  /** Set once a use case wrote an entry in its transaction: the router then writes none. */
  recorded: boolean;
}

const storage = new AsyncLocalStorage<AuditRequest>();

/**
 * Runs a request's handler with its audit facts at hand, so a use case records who and from where
 * without every signature carrying them.
 */
export function withAuditRequest<T>(request: AuditRequest, work: () => Promise<T>): Promise<T> {
  return storage.run(request, work);
}

/** The request being handled, if any (none in background work: sagas, drift, timers). */
export function currentAuditRequest(): AuditRequest | undefined {
  return storage.getStore();
}
