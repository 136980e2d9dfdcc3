import { enqueueEvent, NotFoundError, type Tx } from '@testbed/kit';
import { parseIpv4, type Ipv4 } from '@testbed/kit';
import {
  deleteAllocations,
  expiredHolds,
  findAllocations,
  findByContainer,
  findByRequest,
  lockSegment,
  markBound,
  type Allocation,
} from '../store/allocation-store';
import { IPAM_EVENTS, ipamEventTypes } from '../events/contracts';
import { loadPool } from './allocate';
import { inTransaction, type IpamContext } from './context';

export type ReleaseReason = 'requested' | 'expired' | 'container-removed' | 'compensation';

const ipsOf = (list: Allocation[]): Ipv4[] => list.map((a) => parseIpv4(a.ip) as Ipv4);

/**
 * Releases allocations chosen by `select`, which runs under each segment's lock so that what it
 * sees (e.g. "still held and expired") is still true when the rows are deleted. Announces them
 * per pool in the caller's transaction.
 */
async function releaseUnderLock(
  ctx: IpamContext,
  tx: Tx,
  segments: Iterable<string>,
  select: (segment: string) => Promise<Allocation[]>,
  reason: ReleaseReason,
): Promise<Allocation[]> {
  const released: Allocation[] = [];
  for (const segment of [...new Set(segments)].sort()) {
    await lockSegment(tx, segment);
    released.push(...(await deleteAllocations(tx, segment, ipsOf(await select(segment)))));
  }
  const byPool = new Map<string, Allocation[]>();
  for (const a of released) byPool.set(a.pool, [...(byPool.get(a.pool) ?? []), a]);
  for (const [pool, list] of byPool) {
    await enqueueEvent(tx, {
      source: ctx.source,
      topic: IPAM_EVENTS,
      key: pool,
      type: ipamEventTypes.released,
      subject: pool,
      data: {
        pool,
        reason,
        items: list.map((a) => ({ ip: a.ip, owner: a.owner, containerId: a.containerId })),
      },
    });
  }
  return released;
}

/** Releases one address of a pool; 404 when it is not allocated from that pool. */
export async function releaseAddress(ctx: IpamContext, poolName: string, ip: string): Promise<Allocation> {
  const [released] = await releaseAddresses(ctx, poolName, [ip]);
  if (!released) throw new NotFoundError('allocation', `${poolName}/${ip}`);
  return released;
}

export async function releaseAddresses(
  ctx: IpamContext,
  poolName: string,
  ips: string[],
  outer?: Tx,
): Promise<Allocation[]> {
  return inTransaction(ctx, outer, async (tx) => {
    const pool = await loadPool(tx, poolName);
    const wanted = ips.map((ip) => parseIpv4(ip) as Ipv4);
    return releaseUnderLock(
      ctx,
      tx,
      [pool.segment],
      async (segment) => (await findAllocations(tx, segment, wanted)).filter((a) => a.pool === pool.name),
      'requested',
    );
  });
}

/** Releases what one request allocated (saga compensation); nothing when it allocated nothing. */
export async function releaseRequest(ctx: IpamContext, requestId: string, outer?: Tx): Promise<Allocation[]> {
  return inTransaction(ctx, outer, async (tx) => {
    const seen = await findByRequest(tx, requestId);
    return releaseUnderLock(
      ctx,
      tx,
      seen.map((a) => a.segment),
      async (segment) => (await findByRequest(tx, requestId)).filter((a) => a.segment === segment),
      'compensation',
    );
  });
}

export async function releaseContainer(
  ctx: IpamContext,
  containerId: string,
  outer?: Tx,
): Promise<Allocation[]> {
  return inTransaction(ctx, outer, async (tx) => {
    const seen = await findByContainer(tx, containerId);
    return releaseUnderLock(
      ctx,
      tx,
      seen.map((a) => a.segment),
      async (segment) => (await findByContainer(tx, containerId)).filter((a) => a.segment === segment),
      'container-removed',
    );
  });
}

/** The janitor's pass: holds past their deadline come back to the pool. */
export async function releaseExpiredHolds(ctx: IpamContext, limit = 1000, outer?: Tx): Promise<number> {
  return inTransaction(ctx, outer, async (tx) => {
    const now = ctx.clock.now();
    const seen = await expiredHolds(tx, now, limit);
    const released = await releaseUnderLock(
      ctx,
      tx,
      seen.map((a) => a.segment),
      async (segment) => (await expiredHolds(tx, now, limit)).filter((a) => a.segment === segment),
      'expired',
    );
    return released.length;
  });
}

/** A container started: its address is bound to it and no longer expires. */
export async function bindAddress(
  ctx: IpamContext,
  poolName: string,
  ip: string,
  containerId: string,
  outer?: Tx,
): Promise<Allocation> {
  return inTransaction(ctx, outer, async (tx) => {
    const address = parseIpv4(ip);
    const bound = address === undefined ? undefined : await markBound(tx, poolName, address, containerId);
    if (bound) return bound;
    await loadPool(tx, poolName); // an unknown pool is named as such
    throw new NotFoundError('allocation', `${poolName}/${ip}`);
  });
}
