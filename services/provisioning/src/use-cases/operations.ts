import {
  ForbiddenError,
  inTransaction,
  recordAudit,
  NotFoundError,
  actsForOthers,
  traceIdOf,
  type Principal,
} from '@testbed/kit';
import { itemView } from '../domain/create-outcome';
import { isKind, isTerminal, type OperationRecord } from '../domain/operation-work';
import { containersOfOperation } from '../store/container-store';
import {
  findOperation,
  listOperations,
  lockOperation,
  operationProgress,
  updateOperation,
} from '../store/operation-store';
import { failPending } from './create-saga';
import { onOperationEnding } from '../operations/ended-notes';
import type { ProvisioningContext } from '../context';

export interface OperationView {
  id: string;
  kind: string;
  state: string;
  createdAt: string;
  updatedAt: string;
  owner: string;
  request: unknown;
  result: unknown;
  error: unknown;
  items: unknown[];
  /** The trace of the request that started it, when that request was traced. */
  traceId?: string;
}

/** The operation as clients see it: a create's items from its container records while it runs. */
export async function operationView(ctx: ProvisioningContext, op: OperationRecord): Promise<OperationView> {
  let items = op.items;
  if (!isTerminal(op.state) && isKind(op, 'container.create', 'batch.create')) {
    const rows = await inTransaction(ctx.db, ({ tx }) => containersOfOperation(tx, op.id));
    items =
      rows.length > 0
        ? rows.map(itemView)
        : op.saga.plan.map((p) => ({
            name: p.name,
            node: p.node,
            state: 'pending',
            containerId: null,
            ip: null,
            error: null,
          }));
  }
  return {
    id: op.id,
    kind: op.kind,
    state: op.state,
    createdAt: op.createdAt.toISOString(),
    updatedAt: op.updatedAt.toISOString(),
    owner: op.owner,
    request: op.request,
    result: op.result ?? null,
    error: op.error ?? null,
    items,
    ...(traceIdOf(op.traceParent) ? { traceId: traceIdOf(op.traceParent) } : {}),
  };
}

export async function operationFor(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
): Promise<OperationRecord> {
  const op = await inTransaction(ctx.db, ({ tx }) => findOperation(tx, id));
  if (!op) throw new NotFoundError('operation', id);
  if (op.owner !== who.subject && !actsForOthers(who))
    throw new ForbiddenError(`operation '${id}' belongs to another user`);
  return op;
}

/** `Prefer: wait=N`: the operation once it ends, or as it is after N seconds (bounded poll). */
export async function waitForOperation(
  ctx: ProvisioningContext,
  id: string,
  seconds: number,
): Promise<OperationRecord> {
  const deadline = Date.now() + Math.min(seconds, 120) * 1000;
  // Ending in this process: read again after 2, 4, 8 … ms (until its transaction commits).
  let quick = 0;
  let wake: (() => void) | undefined;
  const stop = onOperationEnding(id, () => {
    if (quick === 0) quick = 1;
    wake?.();
  });
  // Ended elsewhere (another replica's worker): seen by a poll that starts at 200 ms and slows to
  // 1 s, each a read of the state alone; the whole row is read once, at the end.
  let poll = 200;
  try {
    for (;;) {
      const progress = await operationProgress(ctx.db.prisma, id);
      if (!progress || isTerminal(progress.state) || Date.now() >= deadline)
        return (await inTransaction(ctx.db, ({ tx }) => findOperation(tx, id)))!;
      const left = Math.max(10, deadline - Date.now());
      const ms = quick > 0 ? Math.min(left, (quick *= 2)) : Math.min(poll, left);
      if (quick === 0) poll = Math.min(1_000, Math.round(poll * 1.5));
      if (quick >= 200) quick = 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        if (quick === 0) wake = done;
      });
    }
  } finally {
    stop();
  }
}

/** An operation a request started, as its answer: at once, or once ended within `waitSeconds`. */
export async function settledView(
  ctx: ProvisioningContext,
  op: OperationRecord,
  waitSeconds: number | undefined,
): Promise<{ operation: OperationRecord; view: OperationView }> {
  const operation = waitSeconds ? await waitForOperation(ctx, op.id, waitSeconds) : op;
  return { operation, view: await operationView(ctx, operation) };
}

/** GET /v1/operations/{id}: the caller's operation, waited for when asked. */
export async function getOperation(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
  waitSeconds?: number,
) {
  return (await settledView(ctx, await operationFor(ctx, id, who), waitSeconds)).view;
}

/** GET /v1/operations: a user's own, or anyone's (`owner` to filter) for operators and services. */
export async function operationsPage(
  ctx: ProvisioningContext,
  who: Principal,
  filter: { owner?: string; state?: string; afterId?: string },
  limit: number,
): Promise<{ ops: OperationRecord[]; views: OperationView[] }> {
  const owner = actsForOthers(who) ? filter.owner : who.subject;
  const ops = await inTransaction(ctx.db, ({ tx }) => listOperations(tx, { ...filter, owner }, limit));
  return { ops, views: await Promise.all(ops.map((o) => operationView(ctx, o))) };
}

/**
 * Cancel: a pending create releases its holds at once; a running one stops and removes what it
 * made (its worker sees the request between items). Answers the operation as it then is.
 */
export async function cancelOperation(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
): Promise<OperationView> {
  await operationFor(ctx, id, who);
  await inTransaction(ctx.db, async ({ tx }) => {
    const op = await lockOperation(tx, id);
    if (!op || isTerminal(op.state)) return;
    await recordAudit(tx, { details: { operation: id, kind: op.kind } });
    if (op.state === 'pending' && isKind(op, 'container.create', 'batch.create')) {
      await failPending(
        ctx,
        tx,
        op,
        { type: 'cancelled', status: 409, detail: 'cancelled by the client' },
        'cancelled',
      );
      return;
    }
    await updateOperation(tx, id, { cancelRequested: true });
  });
  return operationView(ctx, await operationFor(ctx, id, who));
}

export function parsePreferWait(header: string | undefined): number | undefined {
  const m = header ? /(?:^|[,;\s])wait=(\d+)/.exec(header) : null;
  return m ? Math.min(Number(m[1]), 120) : undefined;
}
