import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  InvalidError,
  inTransaction,
  type AfterCommit,
  type Principal,
  type Tx,
} from '@testbed/kit';
import { IFNAME, poolHolding } from '../domain/interface-addresses';
import { interfaceRequestId } from '../domain/request-ids';
import {
  INTERFACE_KINDS,
  isKind,
  type InterfaceKind,
  type InterfaceWork,
  type OperationError,
  type OperationRecord,
} from '../domain/operation-work';
import { askAddresses, releaseAddresses } from '../events/emit';
import { findContainer, type ContainerRecord } from '../store/container-store';
import { findNode, type NodeRecord } from '../store/node-store';
import { findNetwork } from '../store/network-store';
import {
  containerChangeInProgress,
  insertOperation,
  lockOperation,
  updateOperation,
} from '../store/operation-store';
import { endOperation } from '../operations/end-operation';
import { containerFor } from './containers';
import { waitForOperation } from './operations';
import type { ProvisioningContext } from '../context';

/**
 * The second interface (eth1): attach to the node's secondary network (an internal bridge per
 * node, the original testbed's placeholder network) or to a user-defined network, move it to
 * another free address, detach. Addresses come from ipam over the bus like the create saga's;
 * the Docker work (interface-worker.ts) runs after the address is held, and every failure
 * releases what was taken.
 */

/** The Docker network an attach goes to, and the pool its address comes from. */
async function attachTarget(
  ctx: ProvisioningContext,
  tx: Tx,
  node: NodeRecord,
  body: { pool?: string; network?: string },
  owner: string,
): Promise<{ pool: string; network: string }> {
  if (body.network) {
    const net = await findNetwork(tx, body.network);
    // Another user's network is as unknown as one that does not exist (GET /v1/networks/{name} is a 404 too).
    if (!net || net.owner !== owner)
      throw InvalidError.field('body.network', `unknown network '${body.network}'`);
    if (!net.nodes.includes(node.name))
      throw InvalidError.field('body.network', `network '${net.name}' is not on node '${node.name}'`);
    if (body.pool && body.pool !== net.pool)
      throw InvalidError.field('body.pool', `network '${net.name}' takes addresses from pool '${net.pool}'`);
    return { pool: net.pool, network: net.name };
  }
  const pool = body.pool ?? node.secondaryPool;
  if (pool !== node.secondaryPool)
    throw InvalidError.field(
      'body.pool',
      `node '${node.name}' attaches second interfaces from pool '${node.secondaryPool}'; for another pool create a network (POST /v1/networks) and give its name`,
    );
  return { pool, network: ctx.config.PROVISIONING_SECONDARY_NETWORK_NAME };
}

/** Checks `secondary` of a create request up front, so that a bad one is a 422, not a later failed attach. */
export async function checkSecondary(
  ctx: ProvisioningContext,
  tx: Tx,
  nodeName: string,
  body: { pool?: string; network?: string },
  owner: string,
): Promise<void> {
  const node = await findNode(tx, nodeName);
  if (!node) return; // the saga names an unknown node itself
  try {
    await attachTarget(ctx, tx, node, body, owner);
  } catch (err) {
    if (err instanceof InvalidError)
      throw InvalidError.field(
        err.errors[0]!.path.replace(/^body\./, 'body.secondary.'),
        err.errors[0]!.message,
      );
    throw err;
  }
}

/** The pool of a network: the node's secondary pool for the default one, the network's own otherwise. */
export async function poolOfNetwork(
  ctx: ProvisioningContext,
  tx: Tx,
  node: NodeRecord,
  network: string | null,
) {
  if (!network || network === ctx.config.PROVISIONING_SECONDARY_NETWORK_NAME) return node.secondaryPool;
  return (await findNetwork(tx, network))?.pool ?? node.secondaryPool;
}

/** One change of a container at a time: attach, move, detach and live updates exclude each other. */
export async function refuseConcurrent(tx: Tx, containerId: string): Promise<void> {
  const busy = await containerChangeInProgress(tx, containerId);
  if (busy)
    throw new ConflictError(`container '${containerId}' has a ${busy.kind} in progress`, {
      operation: busy.id,
    });
}

/**
 * A container's interfaces change only while it runs: the helper that names and addresses them
 * works in the container's network namespace, which a stopped container does not have.
 */
function requireRunning(c: ContainerRecord): void {
  if (c.removedAt || c.state !== 'running')
    throw new ConflictError(
      `container '${c.id}' is ${c.removedAt ? 'removed' : c.state}: its interfaces change only while it runs; start it first`,
      { state: c.removedAt ? 'removed' : c.state },
      'container-not-running',
    );
}

/** Starts attach, move or detach: the operation, and the address request when one is needed. */
export async function startInterfaceOperation(
  ctx: ProvisioningContext,
  c: ContainerRecord,
  kind: InterfaceKind,
  body: { pool?: string; network?: string; ip?: string },
): Promise<OperationRecord> {
  return inTransaction(ctx.db, async ({ tx, afterCommit }) => {
    const current = (await findContainer(tx, c.id))!;
    requireRunning(current);
    await refuseConcurrent(tx, c.id);
    const node = await findNode(tx, current.node);
    if (!node) throw new ConflictError(`node '${current.node}' is no longer registered`);
    let work: InterfaceWork = { containerId: c.id };
    if (kind === 'interface.attach') {
      if (current.secondaryIp) throw new ConflictError(`container '${c.id}' already has ${IFNAME}`);
      work = { ...work, ...(await attachTarget(ctx, tx, node, body, current.owner)), allocation: 'pending' };
    } else if (!current.secondaryIp || !current.secondaryNetwork) {
      throw new ConflictError(`container '${c.id}' has no ${IFNAME}`);
    }
    if (kind === 'interface.move') {
      const endpointPool = await poolOfNetwork(ctx, tx, node, current.secondaryNetwork);
      const candidates = [...new Set([endpointPool, node.experimentPool, node.secondaryPool])];
      const pool = body.pool ?? poolHolding(ctx.config.PROVISIONING_POOL_NETWORKS, candidates, body.ip!);
      if (!pool || !candidates.includes(pool))
        throw InvalidError.field(
          'body.ip',
          `${body.ip} is in none of the pools ${IFNAME} may use (${candidates.join(', ')})`,
        );
      if (body.ip === current.secondaryIp)
        throw InvalidError.field('body.ip', `${IFNAME} already has ${body.ip}`);
      work = { ...work, pool, network: current.secondaryNetwork!, allocation: 'pending' };
    }
    const op = await insertOperation(tx, {
      id: randomUUID(),
      kind,
      state: work.allocation === 'pending' ? 'pending' : 'running',
      owner: current.owner,
      request: { containerId: c.id, ifname: IFNAME, ...body },
      saga: work,
      idempotencyKey: null,
    });
    if (work.allocation === 'pending' && work.pool) {
      await askAddresses(ctx, tx, {
        requestId: interfaceRequestId(op.id),
        pool: work.pool,
        count: 1,
        ...(body.ip ? { ip: body.ip } : {}),
        owner: current.owner,
        ttlSeconds: ctx.config.PROVISIONING_ADDRESS_HOLD_SECONDS,
      });
    } else {
      afterCommit(() => ctx.kick(op.kind, op.id));
    }
    return op;
  });
}

type InterfaceOperation = OperationRecord<InterfaceKind>;

async function lockInterfaceOperation(tx: Tx, id: string): Promise<InterfaceOperation | null> {
  const op = await lockOperation(tx, id);
  return op && isKind(op, ...INTERFACE_KINDS) ? op : null;
}

/** Gives back what an interface operation asked ipam for. */
export const releaseInterfaceAddress = (ctx: ProvisioningContext, tx: Tx, op: InterfaceOperation) =>
  releaseAddresses(ctx, tx, op.saga.pool ?? '', { allocationRequestId: interfaceRequestId(op.id) });

/** ipam held the address: the Docker work starts once this transaction commits. */
export async function onInterfaceAllocated(
  ctx: ProvisioningContext,
  tx: Tx,
  afterCommit: AfterCommit,
  operationId: string,
  ip: string,
): Promise<void> {
  const op = await lockInterfaceOperation(tx, operationId);
  if (!op) return;
  if (op.state !== 'pending' || op.saga.allocation !== 'pending') {
    // Cancelled or expired meanwhile: the late address goes back.
    if (op.saga.allocation !== 'allocated') await releaseInterfaceAddress(ctx, tx, op);
    return;
  }
  await updateOperation(tx, operationId, {
    state: 'running',
    saga: { ...op.saga, ip, allocation: 'allocated' },
  });
  afterCommit(() => ctx.kick(op.kind, op.id));
}

export async function onInterfaceAllocateFailed(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  error: OperationError,
): Promise<void> {
  const op = await lockInterfaceOperation(tx, operationId);
  if (!op || op.state !== 'pending') return;
  await endOperation(ctx, tx, op, { state: 'failed', error });
}

/** A pending change ipam never answered fails, and whatever ipam holds for it goes back. */
export async function expireInterfaceOperation(ctx: ProvisioningContext, tx: Tx, op: InterfaceOperation) {
  await releaseInterfaceAddress(ctx, tx, op);
  await endOperation(ctx, tx, op, {
    state: 'failed',
    error: {
      type: 'saga-timeout',
      status: 504,
      detail: `no answer from ipam within ${ctx.config.PROVISIONING_SAGA_DEADLINE_MS} ms`,
    },
  });
}

/**
 * POST/PATCH/DELETE …/interfaces: the caller's container's eth1 changed, waited for up to
 * `waitSeconds`; answers the operation as it then is.
 */
export async function changeInterface(
  ctx: ProvisioningContext,
  kind: InterfaceKind,
  containerId: string,
  who: Principal,
  body: { pool?: string; network?: string; ip?: string },
  waitSeconds: number,
): Promise<OperationRecord> {
  const op = await startInterfaceOperation(ctx, await containerFor(ctx, containerId, who), kind, body);
  return waitForOperation(ctx, op.id, waitSeconds);
}
