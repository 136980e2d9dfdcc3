/**
 * A process-local note that an outbox row was just written (in a transaction not yet committed):
 * the relays of this process stop waiting out their poll interval and pass again within a few
 * milliseconds, so a saga's hop through the outbox costs a commit, not half a poll. Rows written
 * by other processes are still found by polling; the note only ever shortens a wait.
 */
const listeners = new Set<() => void>();

export function onOutboxWrite(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function noteOutboxWrite(): void {
  for (const l of listeners) l();
}
