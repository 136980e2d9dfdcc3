import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  DomainError,
  inTransaction,
  type AfterCommit,
  type Principal,
  type Tx,
} from '@testbed/kit';
import { resizeRequestId } from '../domain/request-ids';
import type { OperationRecord, ResizeWork } from '../domain/operation-work';
import { askResize } from '../events/emit';
import { findContainer, updateContainer, type ContainerRecord } from '../store/container-store';
import { insertOperation, lockOperation, updateOperation } from '../store/operation-store';
import { endOperation } from '../operations/end-operation';
import type { OperationWorker } from '../operations/workers';
import { containerFor, dockerOf } from './containers';
import { waitForOperation } from './operations';
import { refuseConcurrent } from './interfaces';
import type { ProvisioningContext } from '../context';

/**
 * Live CPU and memory changes within the quota: quota decides the container's new size under the
 * user's lock (`quota.resize.requested`), then Docker applies it. A Docker failure puts quota's
 * figure back (a forced resize to the old size), so quota always counts what the container has.
 */
type ResizeOperation = OperationRecord<'container.update'>;

function askQuota(
  ctx: ProvisioningContext,
  tx: Tx,
  op: { id: string; owner: string },
  r: ResizeWork,
  undo: boolean,
) {
  const size = undo ? r.previous : r;
  return askResize(ctx, tx, {
    requestId: resizeRequestId(op.id, undo),
    containerId: r.containerId,
    user: op.owner,
    cpuMillis: size.cpuMillis,
    memoryBytes: size.memoryBytes,
    force: undo,
  });
}

/** The operation (pending) and quota's question, in one transaction. */
export async function startLimitsChange(
  ctx: ProvisioningContext,
  c: ContainerRecord,
  limits: { cpuMillis?: number; memoryBytes?: number },
): Promise<OperationRecord> {
  return inTransaction(ctx.db, async ({ tx }) => {
    const current = (await findContainer(tx, c.id))!;
    if (current.removedAt || !['running', 'stopped', 'exited'].includes(current.state))
      throw new ConflictError(`container '${c.id}' is ${current.state}`, { state: current.state });
    await refuseConcurrent(tx, c.id);
    const work: ResizeWork = {
      containerId: c.id,
      cpuMillis: limits.cpuMillis ?? current.cpuMillis,
      memoryBytes: limits.memoryBytes ?? Number(current.memoryBytes),
      previous: { cpuMillis: current.cpuMillis, memoryBytes: Number(current.memoryBytes) },
    };
    const op = await insertOperation(tx, {
      id: randomUUID(),
      kind: 'container.update',
      state: 'pending',
      owner: current.owner,
      request: { containerId: c.id, ...limits },
      saga: work,
      idempotencyKey: null,
    });
    await askQuota(ctx, tx, op, work, false);
    return op;
  });
}

async function lockResize(tx: Tx, id: string): Promise<ResizeOperation | null> {
  const op = await lockOperation(tx, id);
  return op?.kind === 'container.update' ? op : null;
}

/** quota's answer; a grant for an operation that ended meanwhile is undone at once. */
export async function onResizeAnswered(
  ctx: ProvisioningContext,
  tx: Tx,
  afterCommit: AfterCommit,
  operationId: string,
  answer: { granted: true } | { granted: false; code: string; status: number; reason: string },
): Promise<void> {
  const op = await lockResize(tx, operationId);
  if (!op) return;
  if (op.state !== 'pending') {
    if (answer.granted) await askQuota(ctx, tx, op, op.saga, true);
    return;
  }
  if (!answer.granted) {
    await endOperation(ctx, tx, op, {
      state: 'failed',
      error: { type: answer.code, status: answer.status, detail: answer.reason },
    });
    return;
  }
  await updateOperation(tx, operationId, { state: 'running' });
  afterCommit(() => ctx.kick(op.kind, op.id));
}

/** The Docker side of granted resizes, one worker per operation (resumed like the others). */
export function limitsWorker(ctx: ProvisioningContext): OperationWorker<'container.update'> {
  return {
    kinds: ['container.update'],
    async perform(op) {
      const r = op.saga;
      try {
        const c = await inTransaction(ctx.db, ({ tx }) => findContainer(tx, r.containerId));
        if (!c || c.removedAt) throw new ConflictError(`container '${r.containerId}' no longer exists`);
        const { docker, dockerId } = await dockerOf(ctx, c);
        await docker.update(dockerId, { cpuMillis: r.cpuMillis, memoryBytes: r.memoryBytes });
        await inTransaction(ctx.db, async ({ tx }) => {
          const locked = await lockResize(tx, op.id);
          if (!locked || locked.state !== 'running') return;
          await updateContainer(tx, c.id, { cpuMillis: r.cpuMillis, memoryBytes: BigInt(r.memoryBytes) });
          await endOperation(ctx, tx, locked, {
            state: 'succeeded',
            result: { cpuMillis: r.cpuMillis, memoryBytes: r.memoryBytes },
          });
        });
      } catch (err) {
        await inTransaction(ctx.db, async ({ tx }) => {
          const locked = await lockResize(tx, op.id);
          if (!locked || locked.state !== 'running') return;
          await askQuota(ctx, tx, locked, r, true);
          await endOperation(ctx, tx, locked, {
            state: 'failed',
            error: {
              type: 'update-failed',
              status: err instanceof DomainError ? err.status : 502,
              detail: err instanceof Error ? err.message : String(err),
            },
          });
        });
      }
    },
    expire: (tx, op) =>
      endOperation(ctx, tx, op, {
        state: 'failed',
        error: {
          type: 'saga-timeout',
          status: 504,
          detail: `no answer from quota within ${ctx.config.PROVISIONING_SAGA_DEADLINE_MS} ms`,
        },
      }),
  };
}

/**
 * PATCH /v1/containers/{id}: quota decides, Docker applies; waited for up to `waitSeconds`.
 * Answers the operation as it then is, and the container once the change is made.
 */
export async function changeLimits(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
  limits: { cpuMillis?: number; memoryBytes?: number },
  waitSeconds: number,
): Promise<{ operation: OperationRecord; container?: ContainerRecord }> {
  const op = await startLimitsChange(ctx, await containerFor(ctx, id, who), limits);
  const operation = await waitForOperation(ctx, op.id, waitSeconds);
  return operation.state === 'succeeded'
    ? { operation, container: await containerFor(ctx, id, who) }
    : { operation };
}
