import { trace } from '@opentelemetry/api';
import type { DbTransaction } from '../db/database';
import { currentAuditRequest } from './audit-context';
import { insertAuditEntry, type AuditResult, type NewAuditEntry } from './audit-store';

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
 * Records the change the caller is making, in the caller's transaction: the entry commits if and
 * only if the change does. Inside a request it takes who, from where and what from the router's
 * facts; in background work (no request) the platform itself is the actor.
 */
export async function recordAudit(
  tx: Pick<DbTransaction, '$executeRaw'>,
  facts: AuditFacts = {},
): Promise<void> {
  const request = currentAuditRequest();
  const action = facts.action ?? request?.action;
  const targetType = facts.targetType ?? request?.targetType;
  if (!action || !targetType)
    throw new TypeError('an audit entry outside a request must name its action and target');
  const targetId = facts.targetId ?? request?.targetId;
  const entry: NewAuditEntry = {
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
    ...(traceIdNow() ? { traceId: traceIdNow() } : {}),
    inTransaction: true,
    ...(facts.details ? { details: facts.details } : {}),
  };
  await insertAuditEntry(tx, entry);
  if (request && entry.action === request.action) request.recorded = true;
}
