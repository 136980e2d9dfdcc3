import type { Tx } from '@testbed/kit';
import {
  findOperation,
  lockOperation,
  renewClaim,
  updateOperation,
  type OperationRecord,
  type OperationState,
} from '../store/operation-store';
import { announceOperation } from './saga';
import type { ProvisioningContext } from './context';

/**
 * Who works on an operation: the row holds a claim (worker id, time) that its worker renews while
 * it works. A claim older than PROVISIONING_CLAIM_STALE_MS belongs to a process that died, and the
 * leader's resume task hands the operation to a live one. Every kind of operation (the create
 * saga's Docker work, interfaces, images) uses these.
 */

/** Runs `work` for an operation in the background, at most once at a time per process. */
export class OperationWorkers {
  private readonly active = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: ProvisioningContext,
    private readonly what: string,
    private readonly work: (operationId: string) => Promise<void>,
  ) {}

  kick(operationId: string): void {
    if (this.active.has(operationId)) return;
    const run = this.work(operationId)
      .catch((err: unknown) =>
        this.ctx.logger.error({ err, operationId }, `${this.what} failed; the resume task retries`),
      )
      .finally(() => this.active.delete(operationId));
    this.active.set(operationId, run);
  }

  /** Waits for the work in hand (graceful stop). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.active.values());
  }
}

/**
 * The worker of one kind of operation: `kick` runs `perform` for an operation once it is running
 * and this process holds its claim, renewing the claim meanwhile.
 */
export abstract class ClaimedOperations {
  private readonly workers: OperationWorkers;

  constructor(
    protected readonly ctx: ProvisioningContext,
    what: string,
  ) {
    this.workers = new OperationWorkers(ctx, what, async (id) => {
      const op = await runningOperation(ctx, id);
      if (!op || !(await claimOperation(ctx, id))) return;
      await whileClaimed(ctx, id, () => this.perform(op));
    });
  }

  kick(operationId: string): void {
    this.workers.kick(operationId);
  }

  drain(): Promise<void> {
    return this.workers.drain();
  }

  protected abstract perform(op: OperationRecord): Promise<void>;
}

/** The operation once it is running or ended, polled (bounded): a kick can come before its transaction commits. */
export async function runningOperation(
  ctx: ProvisioningContext,
  id: string,
): Promise<OperationRecord | null> {
  let op: OperationRecord | null = null;
  for (let i = 0; i < 100; i++) {
    op = await ctx.db.prisma.$transaction((tx) => findOperation(tx, id));
    if (!op || op.state !== 'pending') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return op?.state === 'running' ? op : null;
}

/** Takes the operation for this process unless another live worker holds it. */
export async function claimOperation(ctx: ProvisioningContext, id: string): Promise<boolean> {
  return ctx.db.prisma.$transaction(async (tx) => {
    const op = await lockOperation(tx, id);
    if (!op || op.state !== 'running') return false;
    const staleBefore = ctx.clock.now().getTime() - ctx.config.PROVISIONING_CLAIM_STALE_MS;
    const heldByOther =
      op.claimedBy && op.claimedBy !== ctx.workerId && op.claimedAt && op.claimedAt.getTime() >= staleBefore;
    if (heldByOther) return false;
    await updateOperation(tx, id, { claimedBy: ctx.workerId, claimedAt: ctx.clock.now() });
    return true;
  });
}

/** Renews this process's claim while `work` runs. */
export async function whileClaimed<T>(
  ctx: ProvisioningContext,
  id: string,
  work: () => Promise<T>,
): Promise<T> {
  const heartbeat = setInterval(
    () => {
      void ctx.db.prisma
        .$transaction((tx) => renewClaim(tx, id, ctx.workerId, ctx.clock.now()))
        .catch(() => undefined);
    },
    Math.max(200, Math.floor(ctx.config.PROVISIONING_CLAIM_STALE_MS / 3)),
  );
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
  }
}

/** The claim time before which a running operation's worker counts as dead. */
export const staleBefore = (ctx: ProvisioningContext) =>
  new Date(ctx.clock.now().getTime() - ctx.config.PROVISIONING_CLAIM_STALE_MS);

/** Ends an operation: its outcome recorded, its claim cleared, `operation.<state>` announced. */
export async function endOperation(
  ctx: ProvisioningContext,
  tx: Tx,
  op: Pick<OperationRecord, 'id' | 'owner'>,
  state: OperationState,
  result: unknown,
  error: unknown,
): Promise<void> {
  await updateOperation(tx, op.id, {
    state,
    result: result as never,
    error: error as never,
    claimedBy: null,
    claimedAt: null,
  });
  await announceOperation(ctx, tx, op.id, op.owner, state);
}
