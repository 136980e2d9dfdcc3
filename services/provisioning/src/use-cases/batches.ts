import { randomUUID } from 'node:crypto';
import {
  ForbiddenError,
  InvalidError,
  inTransaction,
  recordAudit,
  NotFoundError,
  actsForOthers,
  requireNodesInScope,
  type Principal,
} from '@testbed/kit';
import { placeBatch, type Placement } from '../domain/placement';
import type { OperationRecord } from '../domain/operation-work';
import { containersOfOperation, type ContainerRecord } from '../store/container-store';
import { findNode } from '../store/node-store';
import { findBatch, insertBatch, type BatchRecord } from '../store/batch-store';
import { findByIdempotencyKey, insertOperation, lockOperation } from '../store/operation-store';
import { boundedEach } from '../operations/bounded-each';
import { endOperation } from '../operations/end-operation';
import type { OperationWorker } from '../operations/workers';
import { containerSpec, startProvisioning } from './create-saga';
import { removeContainer } from './containers';
import { operationFor, operationView, type OperationView } from './operations';
import type { ProvisioningContext } from '../context';

export interface BatchInput {
  namePrefix: string;
  count: number;
  image: string;
  nodes: string[];
  baseIp?: string;
  placement: Placement;
  cpuMillis?: number;
  memoryBytes?: number;
  sshPublicKeys: string[];
  command?: string[];
}

/** POST /v1/batches: N containers named prefix-1..N over the nodes, ascending addresses from `baseIp`. */
export async function createBatch(
  ctx: ProvisioningContext,
  who: Principal,
  body: BatchInput,
  idempotencyKey: string | undefined,
): Promise<OperationRecord> {
  requireNodesInScope(who, body.nodes);
  const owner = who.subject;
  const cfg = ctx.config;
  let plan;
  try {
    plan = placeBatch(
      body.namePrefix,
      body.count,
      [...new Set(body.nodes)],
      body.placement,
      cfg.PROVISIONING_PACK_PER_NODE,
    );
  } catch (err) {
    throw InvalidError.field('body.count', (err as Error).message);
  }
  const batchId = randomUUID();
  return startProvisioning(ctx, {
    kind: 'batch.create',
    owner,
    request: { ...body, batchId },
    plan,
    ...(body.baseIp ? { start: body.baseIp } : {}),
    spec: containerSpec(ctx, body),
    ...(idempotencyKey ? { idempotencyKey } : {}),
    alsoWrite: (tx, operationId) =>
      insertBatch(tx, {
        id: batchId,
        operationId,
        owner,
        namePrefix: body.namePrefix,
        count: body.count,
        nodes: body.nodes,
        placement: body.placement,
      }).then(() => undefined),
  });
}

async function batchFor(ctx: ProvisioningContext, id: string, who: Principal): Promise<BatchRecord> {
  const batch = await inTransaction(ctx.db, ({ tx }) => findBatch(tx, id));
  if (!batch) throw new NotFoundError('batch', id);
  if (batch.owner !== who.subject && !actsForOthers(who))
    throw new ForbiddenError(`batch '${id}' belongs to another user`);
  return batch;
}

/** GET /v1/batches/{id}: the batch and its create operation (with its items). */
export async function getBatch(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
): Promise<{ batch: BatchRecord; operation: OperationView }> {
  const batch = await batchFor(ctx, id, who);
  return { batch, operation: await operationView(ctx, await operationFor(ctx, batch.operationId, who)) };
}

/**
 * DELETE /v1/batches/{id}: removing every container of a batch is an operation (`batch.remove`),
 * run by a worker like the others, so a process that dies midway leaves it to the resume task.
 * The same batch's removal asked twice answers the one operation.
 */
export async function startBatchRemoval(
  ctx: ProvisioningContext,
  id: string,
  who: Principal,
): Promise<OperationRecord> {
  const batch = await batchFor(ctx, id, who);
  return inTransaction(ctx.db, async ({ tx, afterCommit }) => {
    const key = `batch-remove:${batch.id}`;
    const earlier = await findByIdempotencyKey(tx, key);
    if (earlier && (earlier.state === 'running' || earlier.state === 'pending')) return earlier;
    const op = await insertOperation(tx, {
      id: randomUUID(),
      kind: 'batch.remove',
      state: 'running',
      owner: batch.owner,
      request: { batchId: batch.id },
      saga: { batchId: batch.id, createOperationId: batch.operationId },
      // A finished removal leaves the key free for another (a batch whose removal partly failed).
      idempotencyKey: earlier ? null : key,
    });
    await recordAudit(tx, { result: 'accepted', targetId: batch.id, details: { operation: op.id } });
    afterCommit(() => ctx.kick(op.kind, op.id));
    return op;
  });
}

export function batchRemovalWorker(ctx: ProvisioningContext): OperationWorker<'batch.remove'> {
  return {
    kinds: ['batch.remove'],
    async perform(op) {
      const rows = await inTransaction(ctx.db, ({ tx }) =>
        containersOfOperation(tx, op.saga.createOperationId),
      );
      const live = rows.filter((r) => !r.removedAt && r.state !== 'creating' && r.state !== 'error');
      const errors: { containerId: string; error: string }[] = [];
      // Like a create: every node at once, each as many at a time as its daemon takes.
      const byNode = new Map<string, typeof live>();
      for (const c of live) byNode.set(c.node, [...(byNode.get(c.node) ?? []), c]);
      const failed = (c: ContainerRecord) => (err: Error) => {
        errors.push({ containerId: c.id, error: err.message });
      };
      await Promise.all(
        [...byNode].map(async ([nodeName, items]) => {
          const node = await inTransaction(ctx.db, ({ tx }) => findNode(tx, nodeName));
          // A node no longer registered: each container is named with the reason, as one by one.
          const docker = node ? ctx.dockers.for(node) : undefined;
          await boundedEach(items, ctx.config.PROVISIONING_PARALLELISM_PER_NODE, (c) =>
            removeContainer(ctx, c, true, docker).catch(failed(c)),
          );
        }),
      );
      const removed = live.length - errors.length;
      await inTransaction(ctx.db, async ({ tx }) => {
        const locked = await lockOperation(tx, op.id);
        if (!locked || locked.state !== 'running') return;
        await endOperation(ctx, tx, locked, {
          state: errors.length === 0 ? 'succeeded' : removed > 0 ? 'partially_succeeded' : 'failed',
          result: { removed, errors },
          error:
            errors.length === 0
              ? null
              : {
                  type: 'remove-failed',
                  status: 502,
                  detail: `${errors.length} container(s) not removed`,
                  errors,
                },
        });
      });
    },
  };
}
