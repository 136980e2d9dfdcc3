import { RecordedProblemError, type DomainError, type Principal } from '@testbed/kit';
import type { OperationRecord } from '../domain/operation-work';
import { parsePreferWait, settledView, type OperationView } from '../use-cases/operations';
import type { ProvisioningContext } from '../context';

/** The Idempotency-Key of a caller: keys are per user, so two users' keys never meet. */
export const idempotencyKeyOf = (p: Principal, key: string | undefined) =>
  key ? `${p.subject}:${key}` : undefined;

const ended = (view: OperationView) => view.state !== 'pending' && view.state !== 'running';
const made = (view: OperationView) => view.state === 'succeeded' || view.state === 'partially_succeeded';

/**
 * The answer to a request that started an operation that makes something: 202 with it while it
 * runs, or, when it ended within `Prefer: wait=N`, 201 (it made something) or 200 (it failed or
 * was cancelled).
 */
export function answerOperation(view: OperationView, waited: number | undefined) {
  return answered(view, waited, made(view) ? 201 : ended(view) ? 200 : 202);
}

/** The answer to a request that started a removal: 202 while it runs, 200 once it ended. */
export function answerRemoval(view: OperationView, waited: number | undefined) {
  return answered(view, waited, ended(view) ? 200 : 202);
}

/** A request that started an operation (making something): answered as `Prefer: wait=N` asks. */
export async function answerStarted(
  ctx: ProvisioningContext,
  op: OperationRecord,
  prefer: string | undefined,
) {
  const wait = parsePreferWait(prefer);
  return answerOperation((await settledView(ctx, op, wait)).view, wait);
}

/** A request that started a removal: answered as `Prefer: wait=N` asks. */
export async function answerStartedRemoval(
  ctx: ProvisioningContext,
  op: OperationRecord,
  prefer: string | undefined,
) {
  const wait = parsePreferWait(prefer);
  return answerRemoval((await settledView(ctx, op, wait)).view, wait);
}

function answered(view: OperationView, waited: number | undefined, status: number) {
  return {
    status,
    body: view,
    headers: {
      Location: `/v1/operations/${view.id}`,
      ...(waited ? { 'Preference-Applied': `wait=${waited}` } : {}),
    },
  };
}

/**
 * A failed operation as the problem a synchronous-looking request answers (limits, interfaces):
 * with the status and type its cause recorded (404, 409, 422, 502, 503, 504), never a guess.
 */
export function operationProblem(op: OperationRecord): DomainError {
  const e = op.error;
  return new RecordedProblemError(
    {
      status: e?.status ?? 500,
      slug: e?.type ?? 'operation-failed',
      detail: e?.detail ?? `operation ${op.id} failed`,
    },
    { operation: op.id, ...(e?.type ? { code: e.type } : {}) },
  );
}
