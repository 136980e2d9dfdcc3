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

/** Collects after-commit work; `run` starts it (each on its own: one failing stops none of the others). */
export class AfterCommitQueue {
  private readonly pending: (() => unknown)[] = [];
  readonly add: AfterCommit = (work) => {
    this.pending.push(work);
  };

  run(onError: (err: unknown) => void = () => undefined): void {
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
  const result = await db.prisma.$transaction((tx) => work({ tx, afterCommit: queue.add }), txOptions);
  queue.run(onAfterCommitError);
  return result;
}
