/**
 * A process-local note that an operation is ending (in a transaction not yet committed), so a
 * request waiting for it (`Prefer: wait=N`) reads it again within milliseconds instead of at its
 * next poll. An operation ended by another process is still seen by polling.
 */
const waiters = new Map<string, Set<() => void>>();

export function onOperationEnding(operationId: string, listener: () => void): () => void {
  const set = waiters.get(operationId) ?? new Set();
  set.add(listener);
  waiters.set(operationId, set);
  return () => {
    set.delete(listener);
    if (set.size === 0 && waiters.get(operationId) === set) waiters.delete(operationId);
  };
}

export function noteOperationEnding(operationId: string): void {
  for (const l of waiters.get(operationId) ?? []) l();
}
