import { ConflictError, UnavailableError, type DomainError } from '@testbed/kit';
import { operationView, parsePreferWait, waitForOperation } from '../use-cases/operations';
import type { OperationRecord } from '../store/operation-store';
import type { ProvisioningContext } from '../use-cases/context';

/**
 * The answer to a request that started an operation: 202 with it, or, when the client sent
 * `Prefer: wait=N` and it ended in time, 201 (it made something) or 200 (it failed or was cancelled).
 */
export async function answerOperation(
  ctx: ProvisioningContext,
  op: OperationRecord,
  prefer: string | undefined,
) {
  const wait = parsePreferWait(prefer);
  const current = wait ? await waitForOperation(ctx, op.id, wait) : op;
  const status =
    current.state === 'succeeded' || current.state === 'partially_succeeded'
      ? 201
      : current.state === 'failed' || current.state === 'cancelled'
        ? 200
        : 202;
  return {
    status,
    body: await operationView(ctx, current),
    headers: {
      Location: `/v1/operations/${op.id}`,
      ...(wait ? { 'Preference-Applied': `wait=${wait}` } : {}),
    },
  };
}

/** A failed operation as the problem a synchronous-looking request answers (PATCH of limits). */
export function operationProblem(op: OperationRecord): DomainError {
  const e = (op.error ?? {}) as { type?: string; status?: number; detail?: string };
  const detail = e.detail ?? `operation ${op.id} failed`;
  const extensions = { operation: op.id, ...(e.type ? { code: e.type } : {}) };
  if (e.status === 409) return new ConflictError(detail, extensions, e.type ?? 'conflict');
  return new UnavailableError(detail, extensions);
}
