import { ForbiddenError, NotFoundError, actsForOthers, type Principal } from '@testbed/kit';
import { containersOfOperation } from '../store/container-store';
import {
  findOperation,
  lockOperation,
  updateOperation,
  type OperationRecord,
} from '../store/operation-store';
import { failPending, isTerminal } from './saga';
import { itemView } from './runner';
import type { ProvisioningContext } from './context';

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
}

export async function operationView(ctx: ProvisioningContext, op: OperationRecord): Promise<OperationView> {
  let items = op.items as unknown[];
  if (!isTerminal(op.state)) {
    const rows = await ctx.db.prisma.$transaction((tx) => containersOfOperation(tx, op.id));
    items =
      rows.length > 0
        ? rows.map(itemView)
        : (op.saga.plan ?? []).map((p) => ({
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
  };
}

export async function operationFor(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
): Promise<OperationRecord> {
  const op = await ctx.db.prisma.$transaction((tx) => findOperation(tx, id));
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
  for (;;) {
    const op = (await ctx.db.prisma.$transaction((tx) => findOperation(tx, id)))!;
    if (isTerminal(op.state) || Date.now() >= deadline) return op;
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(10, deadline - Date.now()))));
  }
}

/** Cancel: a pending saga releases its holds at once; a running one stops and removes what it made. */
export async function cancelOperation(ctx: ProvisioningContext, id: string): Promise<void> {
  await ctx.db.prisma.$transaction(async (tx) => {
    const op = await lockOperation(tx, id);
    if (!op || isTerminal(op.state)) return;
    if (op.state === 'pending') {
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
}

export function parsePreferWait(header: string | undefined): number | undefined {
  const m = header ? /(?:^|[,;\s])wait=(\d+)/.exec(header) : null;
  return m ? Math.min(Number(m[1]), 120) : undefined;
}
