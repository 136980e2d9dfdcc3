import {
  inTransaction,
  listAuditEntries,
  type AuditEntry,
  type AuditFilter,
  type Principal,
} from '@testbed/kit';
import { containerFor } from './containers';
import type { ProvisioningContext } from '../context';

/** GET /v1/audit (operators): the platform's audit log, newest first. */
export function auditPage(
  ctx: ProvisioningContext,
  filter: AuditFilter,
  limit: number,
): Promise<AuditEntry[]> {
  return inTransaction(ctx.db, ({ tx }) => listAuditEntries(tx, filter, 'desc', limit));
}

/**
 * A container's action list (its owner, operators, the service role), oldest first: what was
 * asked of it and by whom, with the outcome of each operation that made or changed it.
 */
export async function containerActions(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
  page: { afterSeq?: number },
  limit: number,
): Promise<AuditEntry[]> {
  const c = await containerFor(ctx, id, who);
  return inTransaction(ctx.db, ({ tx }) =>
    listAuditEntries(
      tx,
      { history: { targetType: 'container', targetId: c.id, operations: [c.operationId] }, ...page },
      'asc',
      limit,
    ),
  );
}
