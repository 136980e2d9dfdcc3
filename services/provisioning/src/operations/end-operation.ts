import { annotateSpan, markSpanFailed, type Tx } from '@testbed/kit';
import { announceOperation } from '../events/emit';
import type { OperationError, OperationRecord } from '../domain/operation-work';
import { updateOperation } from '../store/operation-store';
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
  op: Pick<OperationRecord, 'id' | 'owner'> & { kind?: string; createdAt?: Date },
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
