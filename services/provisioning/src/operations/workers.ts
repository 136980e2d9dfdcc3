import { contextOfTraceParent, inSpan, inTransaction, type Tx } from '@testbed/kit';
import { isKind, type OperationKind, type OperationRecord } from '../domain/operation-work';
import {
  lockOperation,
  pendingOlderThan,
  unclaimedRunning,
  UnreadableOperationError,
} from '../store/operation-store';
import { endOperation } from './end-operation';
import { claimOperation, staleBefore, whileClaimed } from './claims';
import type { ProvisioningContext } from '../context';

/** The worker of some kinds of operation: what runs them, and what becomes of those left behind. */
export interface OperationWorker<K extends OperationKind = OperationKind> {
  readonly kinds: readonly K[];
  /** The work of a running operation whose claim this process holds. */
  perform(op: OperationRecord<K>): Promise<void>;
  /**
   * A pending operation older than PROVISIONING_SAGA_DEADLINE_MS (quota or ipam never answered):
   * ends it, releasing what it holds, in the caller's transaction (the row is locked).
   */
  expire?(tx: Tx, op: OperationRecord<K>): Promise<void>;
  /**
   * A running operation whose worker died is run again unless this says it is past saving; then
   * `abandon` ends it (the row is locked, its claim stale).
   */
  pastSaving?(op: Pick<OperationRecord, 'createdAt'>): boolean;
  abandon?(tx: Tx, op: OperationRecord<K>): Promise<void>;
}

/**
 * The operation workers of this process, found by kind: `kick` runs an operation's work in the
 * background once (claim, renew while working), and the leader's resume pass hands out what dead
 * processes left and ends what waited too long.
 */
export class OperationWorkers {
  private readonly byKind = new Map<string, OperationWorker>();
  private readonly active = new Map<string, Promise<void>>();

  constructor(private readonly ctx: ProvisioningContext) {}

  register<K extends OperationKind>(worker: OperationWorker<K>): this {
    for (const kind of worker.kinds) {
      if (this.byKind.has(kind)) throw new Error(`two workers for operations of kind ${kind}`);
      this.byKind.set(kind, worker as unknown as OperationWorker);
    }
    return this;
  }

  private workerFor(op: OperationRecord): OperationWorker | undefined {
    return this.byKind.get(op.kind);
  }

  /** Runs the operation's work in this process, unless it already runs here. */
  kick(kind: string, operationId: string): void {
    if (this.active.has(operationId)) return;
    if (!this.byKind.has(kind)) {
      this.ctx.logger.error({ operationId, kind }, 'no worker for this kind of operation');
      return;
    }
    const run = this.run(operationId)
      .catch((err: unknown) =>
        this.ctx.logger.error({ err, operationId, kind }, 'operation work failed; the resume task retries'),
      )
      .finally(() => this.active.delete(operationId));
    this.active.set(operationId, run);
  }

  private async run(operationId: string): Promise<void> {
    let op: OperationRecord | null;
    try {
      op = await claimOperation(this.ctx, operationId);
    } catch (err) {
      if (err instanceof UnreadableOperationError) return this.failUnreadable(operationId, err);
      throw err;
    }
    const worker = op && this.workerFor(op);
    if (!op || !worker) return;
    const claimed = op;
    await inSpan(
      `operation ${claimed.kind}`,
      {
        parent: contextOfTraceParent(claimed.traceParent),
        attributes: { 'testbed.operation.id': claimed.id, 'testbed.operation.kind': claimed.kind },
      },
      () => whileClaimed(this.ctx, claimed, () => worker.perform(claimed)),
    );
  }

  /** A row its kind's schema does not describe ends failed, with why: it is never retried in a loop. */
  private async failUnreadable(operationId: string, err: UnreadableOperationError): Promise<void> {
    await inTransaction(this.ctx.db, async ({ tx }) => {
      await tx.$executeRaw`SELECT 1 FROM provisioning.operation WHERE id = ${operationId}::uuid FOR UPDATE`;
      const row = await tx.operation.findUnique({
        where: { id: operationId },
        select: { owner: true, state: true, kind: true, createdAt: true },
      });
      if (!row || (row.state !== 'running' && row.state !== 'pending')) return;
      await endOperation(
        this.ctx,
        tx,
        { id: operationId, owner: row.owner, kind: row.kind, createdAt: row.createdAt },
        { state: 'failed', error: { type: 'unreadable-operation', status: 500, detail: err.message } },
      );
    });
    this.ctx.logger.error({ err, operationId }, 'an operation that cannot be read was failed');
  }

  /** Waits for the work in hand (graceful stop). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.active.values());
  }

  /**
   * The leader's resume pass: running operations nobody works on go to a worker here (or are
   * abandoned when past saving); pending ones whose answer never came expire.
   */
  async resume(): Promise<void> {
    const { ctx } = this;
    const kinds = [...this.byKind.keys()];
    const deadline = new Date(ctx.clock.now().getTime() - ctx.config.PROVISIONING_SAGA_DEADLINE_MS);
    const { stale, expired } = await inTransaction(ctx.db, async ({ tx }) => ({
      stale: await unclaimedRunning(tx, kinds, staleBefore(ctx)),
      expired: await pendingOlderThan(
        tx,
        kinds.filter((k) => this.byKind.get(k)?.expire),
        deadline,
      ),
    }));
    for (const op of stale) {
      const worker = this.byKind.get(op.kind);
      if (worker?.pastSaving?.(op) && worker.abandon) await this.settle(op.id, 'running', worker.abandon);
      else this.kick(op.kind, op.id);
    }
    for (const op of expired) {
      const worker = this.byKind.get(op.kind);
      if (worker?.expire) await this.settle(op.id, 'pending', worker.expire);
    }
  }

  /** Runs `end` on the operation under its lock if it is still in `state` (and, running, still unclaimed). */
  private async settle(
    id: string,
    state: 'pending' | 'running',
    end: (tx: Tx, op: OperationRecord) => Promise<void>,
  ): Promise<void> {
    await inTransaction(this.ctx.db, async ({ tx }) => {
      const op = await lockOperation(tx, id);
      if (!op || op.state !== state) return;
      if (state === 'running' && op.claimedAt && op.claimedAt >= staleBefore(this.ctx)) return;
      const worker = this.workerFor(op);
      if (worker && isKind(op, ...worker.kinds)) await end(tx, op);
    });
  }
}
