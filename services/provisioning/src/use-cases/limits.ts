import { randomUUID } from 'node:crypto';
import { ConflictError, type Tx } from '@testbed/kit';
import { QUOTA_COMMANDS } from '../events/contracts';
import { findContainer, updateContainer, type ContainerRecord } from '../store/container-store';
import {
  findOperation,
  insertOperation,
  lockOperation,
  pendingOlderThan,
  unclaimedRunning,
  updateOperation,
  type OperationRecord,
} from '../store/operation-store';
import { dockerOf } from './containers';
import { ClaimedOperations, endOperation, staleBefore } from './claims';
import { refuseConcurrent } from './interfaces';
import { command } from './saga';
import type { ProvisioningContext } from './context';

/**
 * Live CPU and memory changes within the quota: quota decides the container's new size under the
 * user's lock (`quota.resize.requested`), then Docker applies it. A Docker failure puts quota's
 * figure back (a forced resize to the old size), so quota always counts what the container has.
 */
export const CONTAINER_UPDATE = 'container.update';
const KINDS = [CONTAINER_UPDATE] as const;

export const quotaResize = {
  requested: 'quota.resize.requested',
  granted: 'quota.resize.granted',
  rejected: 'quota.resize.rejected',
} as const;

interface Resize {
  containerId: string;
  cpuMillis: number;
  memoryBytes: number;
  previous: { cpuMillis: number; memoryBytes: number };
}

export const resizeRequestId = (operationId: string) => `prov-up:${operationId}`;
export function parseResizeRequestId(requestId: unknown): string | undefined {
  const m = typeof requestId === 'string' ? /^prov-up:([0-9a-f-]{36})$/.exec(requestId) : null;
  return m?.[1];
}

const resizeOf = (op: OperationRecord) => op.saga as unknown as Resize;

function askQuota(
  ctx: ProvisioningContext,
  tx: Tx,
  op: { id: string; owner: string },
  r: Resize,
  force: boolean,
) {
  const size = force ? r.previous : r;
  return command(ctx, tx, QUOTA_COMMANDS, quotaResize.requested, op.owner, {
    requestId: resizeRequestId(op.id) + (force ? ':undo' : ''),
    containerId: r.containerId,
    user: op.owner,
    cpuMillis: size.cpuMillis,
    memoryBytes: size.memoryBytes,
    force,
  });
}

/** The operation (pending) and quota's question, in one transaction. */
export async function startLimitsChange(
  ctx: ProvisioningContext,
  c: ContainerRecord,
  limits: { cpuMillis?: number; memoryBytes?: number },
): Promise<OperationRecord> {
  return ctx.db.prisma.$transaction(async (tx) => {
    const current = (await findContainer(tx, c.id))!;
    if (current.removedAt || !['running', 'stopped', 'exited'].includes(current.state))
      throw new ConflictError(`container '${c.id}' is ${current.state}`, { state: current.state });
    await refuseConcurrent(tx, c.id);
    const resize: Resize = {
      containerId: c.id,
      cpuMillis: limits.cpuMillis ?? current.cpuMillis,
      memoryBytes: limits.memoryBytes ?? Number(current.memoryBytes),
      previous: { cpuMillis: current.cpuMillis, memoryBytes: Number(current.memoryBytes) },
    };
    const id = randomUUID();
    await insertOperation(tx, {
      id,
      kind: CONTAINER_UPDATE,
      state: 'pending',
      owner: current.owner,
      request: { containerId: c.id, ...limits },
      saga: resize as never,
      idempotencyKey: null,
    });
    await askQuota(ctx, tx, { id, owner: current.owner }, resize, false);
    return (await findOperation(tx, id))!;
  });
}

/** quota's answer; a grant for an operation that ended meanwhile is undone at once. */
export async function onResizeAnswered(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  answer: { granted: true } | { granted: false; code: string; status: number; reason: string },
): Promise<boolean> {
  const op = await lockOperation(tx, operationId);
  if (!op) return false;
  if (op.state !== 'pending') {
    if (answer.granted) await askQuota(ctx, tx, op, resizeOf(op), true);
    return false;
  }
  if (!answer.granted) {
    await endOperation(ctx, tx, op, 'failed', null, {
      type: answer.code,
      status: answer.status,
      detail: answer.reason,
    });
    return false;
  }
  await updateOperation(tx, operationId, { state: 'running' });
  return true;
}

/** The Docker side of granted resizes, one worker per operation (resumed like the others). */
export class LimitsChanges extends ClaimedOperations {
  constructor(ctx: ProvisioningContext) {
    super(ctx, 'limits change');
  }

  protected async perform(op: OperationRecord): Promise<void> {
    const { ctx } = this;
    const operationId = op.id;
    const r = resizeOf(op);
    try {
      const c = await ctx.db.prisma.$transaction((tx) => findContainer(tx, r.containerId));
      if (!c || c.removedAt) throw new Error(`container '${r.containerId}' no longer exists`);
      const { docker, dockerId } = await dockerOf(ctx, c);
      await docker.update(dockerId, { cpuMillis: r.cpuMillis, memoryBytes: r.memoryBytes });
      await ctx.db.prisma.$transaction(async (tx) => {
        const locked = await lockOperation(tx, operationId);
        if (!locked || locked.state !== 'running') return;
        await updateContainer(tx, c.id, { cpuMillis: r.cpuMillis, memoryBytes: BigInt(r.memoryBytes) });
        await endOperation(
          ctx,
          tx,
          locked,
          'succeeded',
          { cpuMillis: r.cpuMillis, memoryBytes: r.memoryBytes },
          null,
        );
      });
    } catch (err) {
      await ctx.db.prisma.$transaction(async (tx) => {
        const locked = await lockOperation(tx, operationId);
        if (!locked || locked.state !== 'running') return;
        await askQuota(ctx, tx, locked, r, true);
        await endOperation(ctx, tx, locked, 'failed', null, {
          type: 'update-failed',
          status: 502,
          detail: err instanceof Error ? err.message : String(err),
        });
      });
    }
  }
}

/** Resume task: granted changes whose worker died run again; ones quota never answered fail. */
export async function resumeLimitsChanges(ctx: ProvisioningContext): Promise<void> {
  const deadline = new Date(ctx.clock.now().getTime() - ctx.config.PROVISIONING_SAGA_DEADLINE_MS);
  const { stale, expired } = await ctx.db.prisma.$transaction(async (tx) => ({
    stale: await unclaimedRunning(tx, KINDS, staleBefore(ctx)),
    expired: await pendingOlderThan(tx, KINDS, deadline),
  }));
  for (const { id } of stale) ctx.kick(CONTAINER_UPDATE, id);
  for (const { id } of expired) {
    await ctx.db.prisma.$transaction(async (tx) => {
      const op = await lockOperation(tx, id);
      if (!op || op.state !== 'pending') return;
      await endOperation(ctx, tx, op, 'failed', null, {
        type: 'saga-timeout',
        status: 504,
        detail: `no answer from quota within ${ctx.config.PROVISIONING_SAGA_DEADLINE_MS} ms`,
      });
    });
  }
}
