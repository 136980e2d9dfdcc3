import { inTransaction } from '@testbed/kit';
import type { OperationRecord } from '../domain/operation-work';
import { lockOperation, renewClaim, updateOperation } from '../store/operation-store';
import type { ProvisioningContext } from '../context';

/**
 * Who works on an operation: the row holds a claim (worker id, time) that its worker renews while
 * it works. A claim older than PROVISIONING_CLAIM_STALE_MS belongs to a process that died, and the
 * leader's resume task hands the operation to a live one.
 */

/** The claim time before which a running operation's worker counts as dead. */
export const staleBefore = (ctx: ProvisioningContext) =>
  new Date(ctx.clock.now().getTime() - ctx.config.PROVISIONING_CLAIM_STALE_MS);

/** Takes a running operation for this process unless another live worker holds it; the operation, or null. */
export function claimOperation(ctx: ProvisioningContext, id: string): Promise<OperationRecord | null> {
  return inTransaction(ctx.db, async ({ tx }) => {
    const op = await lockOperation(tx, id);
    if (!op || op.state !== 'running') return null;
    const heldByOther =
      op.claimedBy &&
      op.claimedBy !== ctx.workerId &&
      op.claimedAt &&
      op.claimedAt.getTime() >= staleBefore(ctx).getTime();
    if (heldByOther) return null;
    const now = ctx.clock.now();
    await updateOperation(tx, id, { claimedBy: ctx.workerId, claimedAt: now });
    return { ...op, claimedBy: ctx.workerId, claimedAt: now };
  });
}

/**
 * Renews this process's claim while `work` runs. A renewal that fails is counted and logged, and
 * the next beat tries again (a third of the stale time later, so two may fail before the claim
 * goes stale); one that finds the operation taken over by another worker is logged.
 */
export async function whileClaimed<T>(
  ctx: ProvisioningContext,
  op: Pick<OperationRecord, 'id' | 'kind'>,
  work: () => Promise<T>,
): Promise<T> {
  const renew = async () => {
    try {
      const held = await inTransaction(ctx.db, ({ tx }) =>
        renewClaim(tx, op.id, ctx.workerId, ctx.clock.now()),
      );
      if (!held) ctx.logger.debug({ operationId: op.id }, 'the claim is no longer this worker’s');
    } catch (err) {
      ctx.metrics.claimRenewalFailed(op.kind);
      ctx.logger.warn(
        { err, operationId: op.id, kind: op.kind },
        'renewing the claim failed; the next beat retries',
      );
    }
  };
  const heartbeat = setInterval(
    () => void renew(),
    Math.max(200, Math.floor(ctx.config.PROVISIONING_CLAIM_STALE_MS / 3)),
  );
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
  }
}
