import { afterCurrentCommit } from '../db/transaction';

/**
 * A process-local note that an outbox row was written: the relays of this process stop waiting
 * out their poll interval and pass again, so a saga's hop through the outbox costs a commit, not
 * half a poll. The note goes out when the writing transaction commits (once, however many rows
 * it wrote) where the kit knows that transaction, at once otherwise: a pass before the commit
 * finds nothing and looks again, which cost about four reads of the outbox per container of a
 * batch. Rows written by other processes are still found by polling; a note only shortens a wait.
 */
const listeners = new Set<() => void>();
const notify = () => {
  for (const l of listeners) l();
};

export function onOutboxWrite(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function noteOutboxWrite(): void {
  if (!afterCurrentCommit(notify)) notify();
}
