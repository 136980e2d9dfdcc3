import { randomUUID } from 'node:crypto';
import {
  annotateSpan,
  ConflictError,
  InvalidError,
  inTransaction,
  recordAudit,
  type AfterCommit,
  type Tx,
} from '@testbed/kit';
import { countPerNode } from '../domain/placement';
import { admissionId, allocationId } from '../domain/request-ids';
import type { CreateSaga, OperationError, OperationRecord, PlannedItem } from '../domain/operation-work';
import { askAddresses, askAdmission, releaseAddresses, releaseAdmission } from '../events/emit';
import { findNode } from '../store/node-store';
import { insertContainers } from '../store/container-store';
import {
  findByIdempotencyKey,
  insertOperation,
  lockOperation,
  updateOperation,
} from '../store/operation-store';
import { endOperation } from '../operations/end-operation';
import type { ProvisioningContext } from '../context';

/**
 * The create saga's steps over the bus (DESIGN.md "Data flow"): the operation and one quota
 * admission per node; when every node is admitted, one ascending block of addresses from ipam;
 * with the addresses held, the containers' records, and the Docker work starts after the commit.
 */
export interface ProvisionRequest {
  kind: 'container.create' | 'batch.create';
  owner: string;
  request: unknown;
  plan: PlannedItem[];
  ip?: string;
  start?: string;
  spec: CreateSaga['spec'];
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
  return inTransaction(ctx.db, async ({ tx }) => {
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
    const op = await insertOperation(tx, {
      id,
      kind: req.kind,
      state: 'pending',
      owner: req.owner,
      request: req.request,
      saga: {
        pool: [...pools][0]!,
        admissions: Object.fromEntries([...perNode.keys()].map((n) => [n, 'pending' as const])),
        allocation: 'pending',
        ...(req.ip ? { ip: req.ip } : {}),
        ...(req.start ? { start: req.start } : {}),
        plan: req.plan,
        spec: req.spec,
      },
      idempotencyKey: req.idempotencyKey ?? null,
    });
    await req.alsoWrite?.(tx, id);
    const batchId = (req.request as { batchId?: unknown }).batchId;
    await recordAudit(tx, {
      result: 'accepted',
      ...(typeof batchId === 'string' ? { targetId: batchId } : {}),
      details: { operation: id, containers: req.plan.length, nodes: [...perNode.keys()] },
    });
    for (const [node, count] of perNode) {
      await askAdmission(ctx, tx, {
        requestId: admissionId(id, node),
        user: req.owner,
        node,
        count,
        cpuMillis: req.spec.cpuMillis,
        memoryBytes: req.spec.memoryBytes,
        addresses: 1,
      });
    }
    return op;
  });
}

/** What every container of a create gets: the request's image, keys and sizes, the configured defaults. */
export function containerSpec(
  ctx: ProvisioningContext,
  body: {
    image: string;
    cpuMillis?: number;
    memoryBytes?: number;
    sshPublicKeys: string[];
    command?: string[];
  },
): CreateSaga['spec'] {
  const cfg = ctx.config;
  return {
    image: body.image,
    cpuMillis: body.cpuMillis ?? cfg.PROVISIONING_DEFAULT_CPU_MILLIS,
    memoryBytes: body.memoryBytes ?? cfg.PROVISIONING_DEFAULT_MEMORY_BYTES,
    pidsLimit: cfg.PROVISIONING_DEFAULT_PIDS_LIMIT,
    sshPublicKeys: body.sshPublicKeys,
    ...(body.command ? { command: body.command } : {}),
  };
}

type CreateOperation = OperationRecord<'container.create' | 'batch.create'>;

/** The create under its row lock; the span of the saga step handling it names it and the step. */
async function lockCreate(tx: Tx, operationId: string, step: string): Promise<CreateOperation | null> {
  annotateSpan({ 'testbed.operation.id': operationId, 'testbed.saga.step': step });
  const op = await lockOperation(tx, operationId);
  return op && (op.kind === 'container.create' || op.kind === 'batch.create') ? op : null;
}

/** Saga step 2: an admission granted; when every node's is, one ascending block from ipam. */
export async function onAdmissionGranted(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  node: string,
): Promise<void> {
  const op = await lockCreate(tx, operationId, 'admission-granted');
  if (!op) return;
  if (op.state !== 'pending') {
    // The saga ended meanwhile (failed, cancelled): this late grant holds nothing for anyone.
    await releaseAdmission(ctx, tx, op.owner, admissionId(op.id, node));
    return;
  }
  const saga = op.saga;
  if (saga.admissions[node] !== 'pending') return;
  saga.admissions[node] = 'granted';
  if (Object.values(saga.admissions).every((s) => s === 'granted')) {
    await askAddresses(ctx, tx, {
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
  refusal: { reason: string; status: number; code: string },
): Promise<void> {
  const op = await lockCreate(tx, operationId, 'admission-rejected');
  if (!op || op.state !== 'pending') return;
  op.saga.admissions[node] = 'rejected';
  await failPending(ctx, tx, op, {
    type: refusal.code,
    status: refusal.status,
    detail: refusal.reason,
    node,
  });
}

/** Saga step 3: addresses held; the containers are recorded (creating) and the Docker work starts after commit. */
export async function onAllocated(
  ctx: ProvisioningContext,
  tx: Tx,
  afterCommit: AfterCommit,
  operationId: string,
  ips: string[],
): Promise<void> {
  const op = await lockCreate(tx, operationId, 'allocated');
  if (!op) return;
  if (op.state !== 'pending' || op.saga.allocation !== 'pending') {
    if (op.saga.allocation !== 'allocated')
      await releaseAddresses(ctx, tx, op.saga.pool, { allocationRequestId: allocationId(op.id) });
    return;
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
  afterCommit(() => ctx.kick(op.kind, op.id));
}

export async function onAllocateFailed(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  failure: { reason: string; status: number; firstConflict: string | null },
): Promise<void> {
  const op = await lockCreate(tx, operationId, 'allocate-failed');
  if (!op || op.state !== 'pending') return;
  op.saga.allocation = 'failed';
  await failPending(ctx, tx, op, {
    type: 'address-unavailable',
    status: failure.status,
    detail: failure.reason,
    firstConflict: failure.firstConflict,
  });
}

/** Compensation before any container exists: every admission and the allocation are released. */
export async function failPending(
  ctx: ProvisioningContext,
  tx: Tx,
  op: CreateOperation,
  error: OperationError,
  state: 'failed' | 'cancelled' = 'failed',
): Promise<void> {
  for (const node of Object.keys(op.saga.admissions))
    await releaseAdmission(ctx, tx, op.owner, admissionId(op.id, node));
  await releaseAddresses(ctx, tx, op.saga.pool, { allocationRequestId: allocationId(op.id) });
  await endOperation(ctx, tx, op, {
    state,
    error,
    saga: op.saga,
    items: op.saga.plan.map((p) => ({
      name: p.name,
      node: p.node,
      state,
      containerId: null,
      ip: null,
      error: error.detail,
    })),
  });
}

/** A pending saga past its deadline (quota or ipam never answered) fails and releases what it holds. */
export function expireCreate(ctx: ProvisioningContext, tx: Tx, op: CreateOperation): Promise<void> {
  return failPending(ctx, tx, op, {
    type: 'saga-timeout',
    status: 504,
    detail: `no answer from quota or ipam within ${ctx.config.PROVISIONING_SAGA_DEADLINE_MS} ms`,
  });
}
