import { trace } from '@opentelemetry/api';
import type { DbTransaction } from '../db/database';
import { currentAuditRequest, type AuditRequest } from './audit-context';
import { insertAuditEntries, insertAuditEntry, type AuditResult, type NewAuditEntry } from './audit-store';

export interface AuditFacts {
  /** Defaults to the route's action (`container.start`). */
  action?: string;
  targetType?: string;
  /** Defaults to the route's target parameter; a create names what it made. */
  targetId?: string;
  /** Defaults to `succeeded`. */
  result?: AuditResult;
  reason?: string;
  details?: Record<string, unknown>;
  /** For background work (no request): the service, and who it acts for. */
  source?: string;
  actor?: string;
}

const traceIdNow = () => {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && ctx.traceId !== '00000000000000000000000000000000' ? ctx.traceId : undefined;
};

/**
 * The entry for a change made for `request` (the router's facts of a request; none in background
 * work, where the platform itself is the actor).
 */
export function auditEntryOf(
  facts: AuditFacts,
  request: AuditRequest | undefined,
  traceId: string | undefined,
): NewAuditEntry {
  const action = facts.action ?? request?.action;
  const targetType = facts.targetType ?? request?.targetType;
  if (!action || !targetType)
    throw new TypeError('an audit entry outside a request must name its action and target');
  const targetId = facts.targetId ?? request?.targetId;
  return {
    source: facts.source ?? request?.source ?? 'platform',
    actor: request?.actor ?? facts.actor ?? 'system',
    role: request?.role ?? 'system',
    ...(request?.tokenId ? { tokenId: request.tokenId } : {}),
    action,
    targetType,
    ...(targetId !== undefined ? { targetId } : {}),
    result: facts.result ?? 'succeeded',
    ...(facts.reason !== undefined ? { reason: facts.reason } : {}),
    ...(request?.sourceIp ? { sourceIp: request.sourceIp } : {}),
    ...(request?.userAgent ? { userAgent: request.userAgent } : {}),
    ...(request?.requestId ? { requestId: request.requestId } : {}),
    ...(traceId ? { traceId } : {}),
    inTransaction: true,
    ...(facts.details ? { details: facts.details } : {}),
  };
}

/**
 * Records the change the caller is making, in the caller's transaction: the entry commits if and
 * only if the change does. Inside a request it takes who, from where and what from the router's
 * facts; in background work (no request) the platform itself is the actor.
 */
export async function recordAudit(
  tx: Pick<DbTransaction, '$executeRaw'>,
  facts: AuditFacts = {},
): Promise<void> {
  const request = currentAuditRequest();
  const entry = auditEntryOf(facts, request, traceIdNow());
  await insertAuditEntry(tx, entry);
  if (request && entry.action === request.action) request.recorded = true;
}

/** What a request's change needs for its entry later, taken while the request is at hand. */
export interface AuditCapture {
  request: AuditRequest | undefined;
  traceId: string | undefined;
}

export function captureAudit(): AuditCapture {
  return { request: currentAuditRequest(), traceId: traceIdNow() };
}

/**
 * Records several requests' changes in one statement of the transaction that serves them all;
 * each entry is its own request's (who, from where, its trace).
 */
export async function recordAudits(
  tx: Pick<DbTransaction, '$executeRaw'>,
  items: readonly { capture: AuditCapture; facts: AuditFacts }[],
): Promise<void> {
  const entries = items.map(({ capture, facts }) => auditEntryOf(facts, capture.request, capture.traceId));
  await insertAuditEntries(tx, entries);
  items.forEach(({ capture }, i) => {
    if (capture.request && entries[i]!.action === capture.request.action) capture.request.recorded = true;
  });
}
