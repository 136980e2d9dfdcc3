import { randomUUID } from 'node:crypto';
import { ConflictError, enqueueEvent, InvalidError, type Tx } from '@testbed/kit';
import { countPerNode } from '../domain/placement';
import {
  admissionId,
  allocationId,
  commandTypes,
  IPAM_COMMANDS,
  PROVISIONING_EVENTS,
  provisioningEventTypes,
  QUOTA_COMMANDS,
} from '../events/contracts';
import { findNode } from '../store/node-store';
import { insertContainers } from '../store/container-store';
import {
  findByIdempotencyKey,
  insertOperation,
  lockOperation,
  updateOperation,
  TERMINAL,
  type OperationRecord,
  type PlannedItem,
  type Saga,
} from '../store/operation-store';
import type { ProvisioningContext } from './context';

export interface ProvisionRequest {
  kind: 'container.create' | 'batch.create';
  owner: string;
  request: unknown;
  plan: PlannedItem[];
  ip?: string;
  start?: string;
  spec: Saga['spec'];
  idempotencyKey?: string;
  /** Rows written with the operation in its transaction (the batch record). */
  alsoWrite?: (tx: Tx, operationId: string) => Promise<void>;
}

/**
 * Saga step 1: the operation (pending) and one quota admission per node, in one transaction.
 * The nodes must exist, be schedulable and share one experiment pool (one block of addresses).
 */
export async function startProvisioning(
  ctx: ProvisioningContext,
  req: ProvisionRequest,
): Promise<OperationRecord> {
  return ctx.db.prisma.$transaction(async (tx) => {
    if (req.idempotencyKey) {
      const earlier = await findByIdempotencyKey(tx, req.idempotencyKey);
      if (earlier) return earlier;
    }
    const perNode = countPerNode(req.plan);
    const pools = new Set<string>();
    for (const name of perNode.keys()) {
      const node = await findNode(tx, name);
      if (!node) throw InvalidError.field('node', `unknown node '${name}'`);
      if (!node.schedulable) throw new ConflictError(`node '${name}' is not schedulable`, { node: name });
      pools.add(node.experimentPool);
    }
    if (pools.size !== 1)
      throw InvalidError.field(
        'nodes',
        `the nodes use different experiment pools (${[...pools].join(', ')})`,
      );
    const id = randomUUID();
    const saga: Saga = {
      pool: [...pools][0]!,
      admissions: Object.fromEntries([...perNode.keys()].map((n) => [n, 'pending' as const])),
      allocation: 'pending',
      ...(req.ip ? { ip: req.ip } : {}),
      ...(req.start ? { start: req.start } : {}),
      plan: req.plan,
      spec: req.spec,
    };
    await insertOperation(tx, {
      id,
      kind: req.kind,
      state: 'pending',
      owner: req.owner,
      request: req.request,
      saga,
      idempotencyKey: req.idempotencyKey ?? null,
    });
    await req.alsoWrite?.(tx, id);
    for (const [node, count] of perNode) {
      await command(ctx, tx, QUOTA_COMMANDS, commandTypes.quotaReserve, req.owner, {
        requestId: admissionId(id, node),
        user: req.owner,
        node,
        count,
        cpuMillis: req.spec.cpuMillis,
        memoryBytes: req.spec.memoryBytes,
        addresses: 1,
      });
    }
    return (await lockOperation(tx, id))!;
  });
}

export function command(
  ctx: ProvisioningContext,
  tx: Tx,
  topic: string,
  type: string,
  key: string,
  data: object,
) {
  return enqueueEvent(tx, { source: ctx.source, topic, key, type, data, time: ctx.clock.now() });
}

/** Saga step 2: an admission granted; when every node's is, one ascending block from ipam. */
export async function onAdmissionGranted(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  node: string,
): Promise<void> {
  const op = await lockOperation(tx, operationId);
  if (!op) return;
  if (op.state !== 'pending') {
    // The saga ended meanwhile (failed, cancelled): this late grant holds nothing for anyone.
    await command(ctx, tx, QUOTA_COMMANDS, commandTypes.quotaRelease, op.owner, {
      requestId: admissionId(op.id, node),
    });
    return;
  }
  const saga = op.saga;
  if (saga.admissions[node] !== 'pending') return;
  saga.admissions[node] = 'granted';
  if (Object.values(saga.admissions).every((s) => s === 'granted')) {
    await command(ctx, tx, IPAM_COMMANDS, commandTypes.ipamAllocate, saga.pool, {
      requestId: allocationId(op.id),
      pool: saga.pool,
      count: saga.plan.length,
      ...(saga.ip ? { ip: saga.ip } : {}),
      ...(saga.start ? { start: saga.start } : {}),
      owner: op.owner,
      ttlSeconds: ctx.config.PROVISIONING_ADDRESS_HOLD_SECONDS,
    });
  }
  await updateOperation(tx, op.id, { saga });
}

/** An admission refused: the operation fails with quota's reason; nothing stays held. */
export async function onAdmissionRejected(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  node: string,
  reason: string,
  status: number,
  code: string,
): Promise<void> {
  const op = await lockOperation(tx, operationId);
  if (!op || op.state !== 'pending') return;
  op.saga.admissions[node] = 'rejected';
  await failPending(ctx, tx, op, { type: code, status, detail: reason, node });
}

/** Saga step 3: addresses held; the containers are recorded (creating) and the Docker work starts after commit. */
export async function onAllocated(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  ips: string[],
): Promise<boolean> {
  const op = await lockOperation(tx, operationId);
  if (!op) return false;
  if (op.state !== 'pending' || op.saga.allocation !== 'pending') {
    if (op.saga.allocation !== 'allocated') {
      await command(ctx, tx, IPAM_COMMANDS, commandTypes.ipamRelease, op.saga.pool, {
        allocationRequestId: allocationId(op.id),
      });
    }
    return false;
  }
  const saga = op.saga;
  saga.allocation = 'allocated';
  await insertContainers(
    tx,
    saga.plan.map((item, i) => ({
      id: randomUUID(),
      name: item.name,
      node: item.node,
      owner: op.owner,
      image: saga.spec.image,
      state: 'creating',
      pool: saga.pool,
      ip: ips[i]!,
      cpuMillis: saga.spec.cpuMillis,
      memoryBytes: BigInt(saga.spec.memoryBytes),
      pidsLimit: saga.spec.pidsLimit,
      operationId: op.id,
      admissionId: admissionId(op.id, item.node),
      itemIndex: i,
    })),
  );
  await updateOperation(tx, op.id, { saga, state: 'running', claimedBy: null, claimedAt: null });
  return true;
}

export async function onAllocateFailed(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  reason: string,
  status: number,
  firstConflict: string | null,
): Promise<void> {
  const op = await lockOperation(tx, operationId);
  if (!op || op.state !== 'pending') return;
  op.saga.allocation = 'failed';
  await failPending(ctx, tx, op, { type: 'address-unavailable', status, detail: reason, firstConflict });
}

/** Compensation before any container exists: every admission and the allocation are released. */
export async function failPending(
  ctx: ProvisioningContext,
  tx: Tx,
  op: OperationRecord,
  error: Record<string, unknown>,
  state: 'failed' | 'cancelled' = 'failed',
): Promise<void> {
  for (const node of Object.keys(op.saga.admissions)) {
    await command(ctx, tx, QUOTA_COMMANDS, commandTypes.quotaRelease, op.owner, {
      requestId: admissionId(op.id, node),
    });
  }
  await command(ctx, tx, IPAM_COMMANDS, commandTypes.ipamRelease, op.saga.pool, {
    allocationRequestId: allocationId(op.id),
  });
  const items = op.saga.plan.map((p) => ({
    name: p.name,
    node: p.node,
    state: state,
    containerId: null,
    ip: null,
    error: error.detail ?? null,
  }));
  await updateOperation(tx, op.id, { state, saga: op.saga, error, items });
  await announceOperation(ctx, tx, op.id, op.owner, state);
}

export async function announceOperation(
  ctx: ProvisioningContext,
  tx: Tx,
  id: string,
  owner: string,
  state: string,
): Promise<void> {
  const type = `operation.${state}`;
  await enqueueEvent(tx, {
    source: ctx.source,
    topic: PROVISIONING_EVENTS,
    key: id,
    type,
    subject: id,
    data: { operationId: id, owner, state },
    time: ctx.clock.now(),
  });
}

/** Pending sagas past their deadline (quota or ipam never answered) fail and release what they hold. */
export async function expirePendingSagas(ctx: ProvisioningContext, ids: string[]): Promise<void> {
  for (const id of ids) {
    await ctx.db.prisma.$transaction(async (tx) => {
      const op = await lockOperation(tx, id);
      if (!op || op.state !== 'pending') return;
      await failPending(ctx, tx, op, {
        type: 'saga-timeout',
        status: 504,
        detail: `no answer from quota or ipam within ${ctx.config.PROVISIONING_SAGA_DEADLINE_MS} ms`,
      });
    });
  }
}

export const isTerminal = (state: string) => (TERMINAL as string[]).includes(state);
export { provisioningEventTypes };
