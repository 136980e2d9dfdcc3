import { getOperation } from '../api/endpoints';
import type { Operation } from '../api/types';

export const isFinal = (op: Operation): boolean =>
  op.state === 'succeeded' ||
  op.state === 'partially_succeeded' ||
  op.state === 'failed' ||
  op.state === 'cancelled';

/** Polls an operation until it ends or `deadlineMs` pass (every wait bounded); `onUpdate` sees each state. */
export async function followOperation(
  op: Operation,
  onUpdate: (op: Operation) => void,
  opts: { everyMs?: number; deadlineMs?: number; signal?: AbortSignal } = {},
): Promise<Operation> {
  const until = Date.now() + (opts.deadlineMs ?? 15 * 60_000);
  let current = op;
  onUpdate(current);
  while (!isFinal(current) && Date.now() < until && !opts.signal?.aborted) {
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 700));
    if (opts.signal?.aborted) break;
    current = await getOperation(op.id);
    onUpdate(current);
  }
  return current;
}

/** An operation's failure in words. */
export function operationError(op: Operation): string {
  const e = op.error;
  if (!e) return `The operation ended ${op.state.replace(/_/g, ' ')}.`;
  return e.detail ?? e.title ?? JSON.stringify(e);
}
