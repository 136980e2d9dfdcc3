import { AsyncLocalStorage } from 'node:async_hooks';
import type { Database, DbTransaction } from './database';

/**
 * Registers work to start once the surrounding transaction has committed: a worker that must see
 * the rows the transaction wrote starts then, instead of polling for them. Nothing registered
 * runs when the transaction rolls back.
 */
export type AfterCommit = (work: () => unknown) => void;

/** What a unit of work in a transaction gets: the transaction, and the after-commit hook. */
export interface TransactionScope {
  tx: DbTransaction;
  afterCommit: AfterCommit;
}

export interface TransactionOptions {
  maxWait?: number;
  timeout?: number;
  /** A failure of after-commit work (it runs detached from the caller). */
  onAfterCommitError?: (err: unknown) => void;
}

/** The after-commit queue of the transaction the running code is in (see `afterCurrentCommit`). */
const openQueue = new AsyncLocalStorage<AfterCommitQueue>();

/** Collects after-commit work; `run` starts it (each on its own: one failing stops none of the others). */
export class AfterCommitQueue {
  private readonly pending: (() => unknown)[] = [];
  /** Committed or rolled back: nothing more is collected. */
  private settled = false;
  readonly add: AfterCommit = (work) => {
    this.pending.push(work);
  };

  /** Runs `work` as this queue's transaction's code, so `afterCurrentCommit` adds here. */
  within<T>(work: () => T): T {
    return openQueue.run(this, work);
  }

  /** `work` once, however often asked; false when this transaction has already settled. */
  addOnce(work: () => unknown): boolean {
    if (this.settled) return false;
    if (!this.pending.includes(work)) this.pending.push(work);
    return true;
  }

  /** The transaction rolled back: nothing collected runs. */
  discard(): void {
    this.settled = true;
    this.pending.length = 0;
  }

  run(onError: (err: unknown) => void = () => undefined): void {
    this.settled = true;
    for (const work of this.pending.splice(0)) {
      try {
        const result = work();
        if (result instanceof Promise) result.catch(onError);
      } catch (err) {
        onError(err);
      }
    }
  }

  clear(): void {
    this.pending.length = 0;
  }
}

/** `prisma.$transaction` with an after-commit hook; the hook's work starts when the commit is done. */
export async function inTransaction<T>(
  db: Pick<Database, 'prisma'>,
  work: (scope: TransactionScope) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const queue = new AfterCommitQueue();
  const { onAfterCommitError, ...txOptions } = options;
  let result: T;
  try {
    result = await db.prisma.$transaction(
      (tx) => queue.within(() => work({ tx, afterCommit: queue.add })),
      txOptions,
    );
  } catch (err) {
    queue.discard();
    throw err;
  }
  queue.run(onAfterCommitError);
  return result;
}

/**
 * `work` once after the commit of the transaction the calling code runs in, when that is one of
 * `inTransaction` or an event's delivery; false otherwise (another transaction, or none), when
 * the caller must do without. For signals that only shorten a wait (an outbox row to relay): a
 * signal at write time sends its reader to look before the row is visible.
 */
export function afterCurrentCommit(work: () => unknown): boolean {
  return openQueue.getStore()?.addOnce(work) ?? false;
}
