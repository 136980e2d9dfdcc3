import { randomUUID } from 'node:crypto';
import { cidrContains, ConflictError, InvalidError, parseCidr, parseIpv4, type Tx } from '@testbed/kit';
import { poolNetworks } from '../config';
import { commandTypes, IPAM_COMMANDS, provisioningEventTypes } from '../events/contracts';
import { findContainer, updateContainer, type ContainerRecord } from '../store/container-store';
import { findNode, type NodeRecord } from '../store/node-store';
import { inspectImage, pullImage } from '../docker/node-images';
import { findNetwork } from '../store/network-store';
import {
  containerChangeInProgress,
  findOperation,
  insertOperation,
  lockOperation,
  pendingOlderThan,
  unclaimedRunning,
  updateOperation,
  type OperationRecord,
} from '../store/operation-store';
import { command } from './saga';
import { ClaimedOperations, endOperation, staleBefore } from './claims';
import { emitContainerEvent } from './runner';
import type { ProvisioningContext } from './context';

/**
 * The second interface (eth1): attach to the node's secondary network (an internal bridge per
 * node, the original testbed's placeholder network) or to a user-defined network, move it to
 * another free address, detach. Addresses come from ipam over the bus like the create saga's;
 * the Docker work runs after the address is held, and every failure releases what was taken.
 *
 * An address outside the network's subnet (e.g. in the experiment range) cannot be given by
 * Docker, so it is set inside the container's namespace; Docker's endpoint keeps the address it
 * gave, and the platform keeps that one held too (`secondaryEndpointIp`) until the interface goes.
 */
export const INTERFACE_KINDS = ['interface.attach', 'interface.move', 'interface.detach'] as const;
export type InterfaceKind = (typeof INTERFACE_KINDS)[number];
export const IFNAME = 'eth1';

export interface InterfaceWork {
  containerId: string;
  /** Pool and network of the address the interface gets (attach, move). */
  pool?: string;
  network?: string;
  ip?: string;
  allocation?: 'pending' | 'allocated';
}

export const interfaceRequestId = (operationId: string) => `prov-if:${operationId}`;
export function parseInterfaceRequestId(requestId: unknown): string | undefined {
  const m = typeof requestId === 'string' ? /^prov-if:([0-9a-f-]{36})$/.exec(requestId) : null;
  return m?.[1];
}

const workOf = (op: OperationRecord) => op.saga as unknown as InterfaceWork;

/** The Docker network an attach goes to, and the pool its address comes from. */
async function attachTarget(
  ctx: ProvisioningContext,
  tx: Tx,
  node: NodeRecord,
  body: { pool?: string; network?: string },
): Promise<{ pool: string; network: string }> {
  if (body.network) {
    const net = await findNetwork(tx, body.network);
    if (!net) throw InvalidError.field('body.network', `unknown network '${body.network}'`);
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
  nodeName: string,
  body: { pool?: string; network?: string },
): Promise<void> {
  await ctx.db.prisma.$transaction(async (tx) => {
    const node = await findNode(tx, nodeName);
    if (!node) return; // the saga names an unknown node itself
    try {
      await attachTarget(ctx, tx, node, body);
    } catch (err) {
      if (err instanceof InvalidError)
        throw InvalidError.field(
          err.errors[0]!.path.replace(/^body\./, 'body.secondary.'),
          err.errors[0]!.message,
        );
      throw err;
    }
  });
}

/** The pool of a network: the node's secondary pool for the default one, the network's own otherwise. */
async function poolOfNetwork(tx: Tx, node: NodeRecord, network: string, ctx: ProvisioningContext) {
  if (network === ctx.config.PROVISIONING_SECONDARY_NETWORK_NAME) return node.secondaryPool;
  return (await findNetwork(tx, network))?.pool ?? node.secondaryPool;
}

/** The pool among those the interface may use whose subnet holds `ip`. */
function poolHolding(ctx: ProvisioningContext, candidates: string[], ip: string): string | undefined {
  const address = parseIpv4(ip);
  const nets = poolNetworks(ctx.config);
  return candidates.find((p) => {
    const cidr = nets.get(p) && parseCidr(nets.get(p)!.subnet);
    return cidr && address !== undefined && cidrContains(cidr, address);
  });
}

/** One change of a container at a time: attach, move, detach and live updates exclude each other. */
export async function refuseConcurrent(tx: Tx, containerId: string): Promise<void> {
  const busy = await containerChangeInProgress(tx, containerId);
  if (busy)
    throw new ConflictError(`container '${containerId}' has a ${busy.kind} in progress`, {
      operation: busy.id,
    });
}

/** Starts attach, move or detach: the operation, and the address request when one is needed. */
export async function startInterfaceOperation(
  ctx: ProvisioningContext,
  c: ContainerRecord,
  kind: InterfaceKind,
  body: { pool?: string; network?: string; ip?: string },
): Promise<OperationRecord> {
  const op = await ctx.db.prisma.$transaction(async (tx) => {
    const current = (await findContainer(tx, c.id))!;
    if (current.removedAt || !['running', 'stopped', 'exited'].includes(current.state))
      throw new ConflictError(`container '${c.id}' is ${current.state}`, { state: current.state });
    await refuseConcurrent(tx, c.id);
    const node = await findNode(tx, current.node);
    if (!node) throw new ConflictError(`node '${current.node}' is no longer registered`);
    const work: InterfaceWork = { containerId: c.id };
    if (kind === 'interface.attach') {
      if (current.secondaryIp) throw new ConflictError(`container '${c.id}' already has ${IFNAME}`);
      Object.assign(work, await attachTarget(ctx, tx, node, body), { allocation: 'pending' });
    } else {
      if (!current.secondaryIp || !current.secondaryNetwork)
        throw new ConflictError(`container '${c.id}' has no ${IFNAME}`);
    }
    if (kind === 'interface.move') {
      const endpointPool = await poolOfNetwork(tx, node, current.secondaryNetwork!, ctx);
      const candidates = [...new Set([endpointPool, node.experimentPool, node.secondaryPool])];
      const pool = body.pool ?? poolHolding(ctx, candidates, body.ip!);
      if (!pool || !candidates.includes(pool))
        throw InvalidError.field(
          'body.ip',
          `${body.ip} is in none of the pools ${IFNAME} may use (${candidates.join(', ')})`,
        );
      if (body.ip === current.secondaryIp)
        throw InvalidError.field('body.ip', `${IFNAME} already has ${body.ip}`);
      Object.assign(work, { pool, network: current.secondaryNetwork!, allocation: 'pending' });
    }
    const id = randomUUID();
    await insertOperation(tx, {
      id,
      kind,
      state: work.allocation === 'pending' ? 'pending' : 'running',
      owner: current.owner,
      request: { containerId: c.id, ifname: IFNAME, ...body },
      saga: work as never,
      idempotencyKey: null,
    });
    if (work.allocation === 'pending') {
      await command(ctx, tx, IPAM_COMMANDS, commandTypes.ipamAllocate, work.pool!, {
        requestId: interfaceRequestId(id),
        pool: work.pool,
        count: 1,
        ...(body.ip ? { ip: body.ip } : {}),
        owner: current.owner,
        ttlSeconds: ctx.config.PROVISIONING_ADDRESS_HOLD_SECONDS,
      });
    }
    return (await findOperation(tx, id))!;
  });
  if (op.state === 'running') ctx.kick(op.kind, op.id);
  return op;
}

/** ipam held the address: the Docker work may start (after this transaction commits). */
export async function onInterfaceAllocated(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  ip: string,
): Promise<boolean> {
  const op = await lockOperation(tx, operationId);
  if (!op) return false;
  const work = workOf(op);
  if (op.state !== 'pending' || work.allocation !== 'pending') {
    // Cancelled or expired meanwhile: the late address goes back.
    if (work.allocation !== 'allocated')
      await command(ctx, tx, IPAM_COMMANDS, commandTypes.ipamRelease, work.pool ?? '', {
        allocationRequestId: interfaceRequestId(operationId),
      });
    return false;
  }
  await updateOperation(tx, operationId, {
    state: 'running',
    saga: { ...work, ip, allocation: 'allocated' } as never,
  });
  return true;
}

export async function onInterfaceAllocateFailed(
  ctx: ProvisioningContext,
  tx: Tx,
  operationId: string,
  error: Record<string, unknown>,
): Promise<void> {
  const op = await lockOperation(tx, operationId);
  if (!op || op.state !== 'pending') return;
  await endOperation(ctx, tx, op, 'failed', null, error);
}

interface Held {
  pool: string;
  ip: string;
}

/** The addresses an interface holds: the one it has, and Docker's endpoint address when that differs. */
async function heldBy(
  ctx: ProvisioningContext,
  tx: Tx,
  c: ContainerRecord,
  node: NodeRecord,
): Promise<Held[]> {
  if (!c.secondaryIp || !c.secondaryPool) return [];
  const held = [{ pool: c.secondaryPool, ip: c.secondaryIp }];
  if (c.secondaryEndpointIp && c.secondaryEndpointIp !== c.secondaryIp)
    held.push({ pool: await poolOfNetwork(tx, node, c.secondaryNetwork!, ctx), ip: c.secondaryEndpointIp });
  return held;
}

/**
 * The Docker work of interface operations, one worker per operation (a claim like the create
 * runner's). Every step is idempotent, so the resume task can run an operation again after its
 * process died.
 */
export class InterfaceRunner extends ClaimedOperations {
  constructor(ctx: ProvisioningContext) {
    super(ctx, 'interface operation');
  }

  protected async perform(op: OperationRecord): Promise<void> {
    try {
      await this.apply(op);
    } catch (err) {
      await this.fail(op, err);
    }
  }

  private async apply(op: OperationRecord): Promise<void> {
    const { ctx } = this;
    const work = workOf(op);
    const { c, node } = await ctx.db.prisma.$transaction(async (tx) => {
      const c = await findContainer(tx, work.containerId);
      return { c, node: c ? await findNode(tx, c.node) : null };
    });
    if (!c || c.removedAt || !c.dockerId) throw new Error(`container '${work.containerId}' no longer exists`);
    if (!node) throw new Error(`node '${c.node}' is no longer registered`);
    const docker = ctx.dockers.for(node);
    const nets = poolNetworks(ctx.config);

    const helperImage = ctx.config.PROVISIONING_HELPER_IMAGE;
    // A node that never ran the helper pulls its image first (once; a pull is idempotent).
    if (!(await inspectImage(docker, helperImage))) await pullImage(docker, helperImage);
    if (op.kind === 'interface.detach') {
      const ep = await docker.endpointOn(c.dockerId, c.secondaryNetwork!);
      if (ep) await docker.detachInterface(c.secondaryNetwork!, c.dockerId, ep.mac, helperImage);
      await this.commit(
        op,
        c,
        node,
        { secondaryIp: null, secondaryPool: null, secondaryNetwork: null, secondaryEndpointIp: null },
        null,
      );
      return;
    }

    const network = work.network!;
    const ip = work.ip!;
    const endpointPool = await ctx.db.prisma.$transaction((tx) => poolOfNetwork(tx, node, network, ctx));
    const endpointNet = nets.get(endpointPool);
    if (!endpointNet)
      throw new Error(`no network settings for pool '${endpointPool}' in PROVISIONING_POOL_NETWORKS`);
    await docker.ensureNetwork({
      name: network,
      subnet: endpointNet.subnet,
      ...(endpointNet.gateway ? { gateway: endpointNet.gateway } : {}),
      platform: ctx.config.PROVISIONING_PLATFORM_ID,
      internal: true,
    });

    let ep = await docker.endpointOn(c.dockerId, network);
    let endpointIp: string | null = null;
    let cidr: string | undefined;
    if (work.pool === endpointPool) {
      // Docker can give this address itself: (re)connect with it.
      if (ep && ep.ip !== ip) await docker.detachInterface(network, c.dockerId, ep.mac, helperImage);
      if (!ep || ep.ip !== ip) await docker.connect(network, c.dockerId, ip);
      ep = await docker.endpointOn(c.dockerId, network);
      if (!ep) throw new Error(`${IFNAME} of '${c.name}' did not connect to '${network}'`);
    } else {
      if (!ep) throw new Error(`${IFNAME} of '${c.name}' is not connected to '${network}'`);
      const target = nets.get(work.pool!);
      const prefix = target ? parseCidr(target.subnet)?.prefix : undefined;
      if (prefix === undefined) throw new Error(`no network settings for pool '${work.pool}'`);
      cidr = `${ip}/${prefix}`;
      endpointIp = ep.ip;
    }
    await docker.configureInterface(
      c.dockerId,
      ep.mac,
      { name: IFNAME, ...(cidr ? { cidr } : {}) },
      helperImage,
    );
    await this.commit(
      op,
      c,
      node,
      {
        secondaryIp: ip,
        secondaryPool: work.pool!,
        secondaryNetwork: network,
        secondaryEndpointIp: endpointIp,
      },
      { name: IFNAME, pool: work.pool!, ip, mac: ep?.mac ?? null, network },
    );
  }

  /** The record, ipam's view (bind what is new, release what is no longer held) and the operation, at once. */
  private async commit(
    op: OperationRecord,
    c: ContainerRecord,
    node: NodeRecord,
    next: Pick<ContainerRecord, 'secondaryIp' | 'secondaryPool' | 'secondaryNetwork' | 'secondaryEndpointIp'>,
    result: unknown,
  ): Promise<void> {
    const { ctx } = this;
    await ctx.db.prisma.$transaction(async (tx) => {
      const locked = await lockOperation(tx, op.id);
      if (!locked || locked.state !== 'running') return;
      const before = await heldBy(ctx, tx, c, node);
      const row = await updateContainer(tx, c.id, next);
      const after = await heldBy(ctx, tx, row, node);
      const released = before.filter((b) => !after.some((a) => a.ip === b.ip));
      const added = after.filter((a) => !before.some((b) => b.ip === a.ip));
      const data = { containerId: c.id, owner: c.owner, node: c.node };
      if (released.length > 0)
        await emitContainerEvent(ctx, tx, provisioningEventTypes.interfaceDetached, row, {
          ...data,
          interfaces: released.map((h) => ({ name: IFNAME, ...h })),
        });
      if (added.length > 0)
        await emitContainerEvent(ctx, tx, provisioningEventTypes.interfaceAttached, row, {
          ...data,
          interfaces: added.map((h) => ({ name: IFNAME, ...h })),
        });
      await endOperation(ctx, tx, locked, 'succeeded', result, null);
    });
  }

  /** A failed attach or move gives its new address back; the interface keeps what it had. */
  private async fail(op: OperationRecord, err: unknown): Promise<void> {
    const { ctx } = this;
    const work = workOf(op);
    const detail = err instanceof Error ? err.message : String(err);
    if (op.kind === 'interface.attach' && work.network) {
      const c = await ctx.db.prisma.$transaction((tx) => findContainer(tx, work.containerId));
      const node = c && (await ctx.db.prisma.$transaction((tx) => findNode(tx, c.node)));
      if (c?.dockerId && node && !c.secondaryIp)
        await ctx.dockers
          .for(node)
          .disconnect(work.network, c.dockerId)
          .catch(() => undefined);
    }
    await ctx.db.prisma.$transaction(async (tx) => {
      const locked = await lockOperation(tx, op.id);
      if (!locked || locked.state !== 'running') return;
      if (work.allocation === 'allocated')
        await command(ctx, tx, IPAM_COMMANDS, commandTypes.ipamRelease, work.pool ?? '', {
          allocationRequestId: interfaceRequestId(op.id),
        });
      await endOperation(ctx, tx, locked, 'failed', null, { type: 'interface-failed', status: 502, detail });
    });
  }
}

/** Resume task: interface operations whose worker died run again; ones ipam never answered fail. */
export async function resumeInterfaceOperations(ctx: ProvisioningContext): Promise<void> {
  const { stale, expired } = await ctx.db.prisma.$transaction(async (tx) => ({
    stale: await unclaimedRunning(tx, INTERFACE_KINDS, staleBefore(ctx)),
    expired: await pendingOlderThan(
      tx,
      INTERFACE_KINDS,
      new Date(ctx.clock.now().getTime() - ctx.config.PROVISIONING_SAGA_DEADLINE_MS),
    ),
  }));
  for (const { id, kind } of stale) ctx.kick(kind, id);
  for (const { id } of expired) {
    await ctx.db.prisma.$transaction(async (tx) => {
      const op = await lockOperation(tx, id);
      if (!op || op.state !== 'pending') return;
      await command(ctx, tx, IPAM_COMMANDS, commandTypes.ipamRelease, workOf(op).pool ?? '', {
        allocationRequestId: interfaceRequestId(id),
      });
      await endOperation(ctx, tx, op, 'failed', null, {
        type: 'saga-timeout',
        status: 504,
        detail: `no answer from ipam within ${ctx.config.PROVISIONING_SAGA_DEADLINE_MS} ms`,
      });
    });
  }
}
