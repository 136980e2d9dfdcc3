import { annotateSpan, markSpanFailed, recordAudit, type Tx } from '@testbed/kit';
import { announceOperation } from '../events/emit';
import type { OperationError, OperationRecord } from '../domain/operation-work';
import { updateOperation } from '../store/operation-store';
import { noteOperationEnding } from './ended-notes';
import type { ProvisioningContext } from '../context';

export type EndState = 'succeeded' | 'partially_succeeded' | 'failed' | 'cancelled';

/** How an operation ended: its state, what it made, what went wrong, per-item outcomes. */
export interface Outcome {
  state: EndState;
  result?: unknown;
  error?: OperationError | null;
  items?: unknown[];
  /** The work data as it stands at the end (a saga's admissions and allocation). */
  saga?: unknown;
}

/**
 * The one way an operation of any kind ends: its outcome recorded, its claim cleared,
 * `operation.<state>` announced, all in the caller's transaction (which holds the row's lock).
 */
export async function endOperation(
  ctx: ProvisioningContext,
  tx: Tx,
  op: Pick<OperationRecord, 'id' | 'owner'> & { kind?: string; createdAt?: Date; request?: unknown },
  outcome: Outcome,
): Promise<void> {
  await updateOperation(tx, op.id, {
    state: outcome.state,
    result: outcome.result ?? null,
    error: outcome.error ?? null,
    ...(outcome.items ? { items: outcome.items } : {}),
    ...(outcome.saga !== undefined ? { saga: outcome.saga } : {}),
    claimedBy: null,
    claimedAt: null,
  });
  await announceOperation(ctx, tx, op, outcome.state);
  noteOperationEnding(op.id);
  // The end of the work a request started is on record with it: same operation, its outcome.
  const kind = op.kind ?? 'operation';
  const failed = outcome.state === 'failed' || outcome.state === 'cancelled';
  await recordAudit(tx, {
    action: kind,
    ...targetOf(kind, op.request),
    result: failed ? 'failed' : 'succeeded',
    ...(failed ? { reason: outcome.error?.detail ?? outcome.state } : {}),
    details: { operation: op.id, state: outcome.state },
    source: 'provisioning',
    actor: op.owner,
  });
  if (op.kind && op.createdAt)
    ctx.metrics.operationEnded(
      op.kind,
      outcome.state,
      (ctx.clock.now().getTime() - op.createdAt.getTime()) / 1000,
    );
  // The span it ended in (its worker's, or the answer's that failed it) says how, and why.
  annotateSpan({ 'testbed.operation.id': op.id, 'testbed.operation.state': outcome.state });
  if (outcome.state === 'failed')
    markSpanFailed(new Error(outcome.error?.detail ?? `operation ${op.id} failed`));
}

/** What an operation worked on, as its request names it (a container's change, a batch). */
function targetOf(kind: string, request: unknown): { targetType: string; targetId?: string } {
  const r = (request ?? {}) as { containerId?: unknown; batchId?: unknown };
  if (typeof r.containerId === 'string') return { targetType: 'container', targetId: r.containerId };
  if (typeof r.batchId === 'string') return { targetType: 'batch', targetId: r.batchId };
  return { targetType: kind.split('.')[0]! };
}
