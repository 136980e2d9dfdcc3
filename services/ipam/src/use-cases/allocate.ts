import { enqueueEvent, NotFoundError, type Tx } from '@testbed/kit';
import { AddressConflictError, planAllocation, type AllocationRequest } from '../domain/allocation-plan';
import { parseIpv4, type Ipv4 } from '@testbed/kit';
import { reservedAddresses, type Pool } from '../domain/pool';
import { findByRequest, insertAllocations, lockSegment, type Allocation } from '../store/allocation-store';
import { findPool, firstFreeAddress, takenAddresses } from '../store/pool-store';
import { IPAM_EVENTS, ipamEventTypes } from '../events/contracts';
import { inTransaction, type IpamContext } from './context';

export interface AllocateInput {
  pool: string;
  count: number;
  start?: string;
  ip?: string;
  owner: string;
  ttlSeconds?: number;
  /** The same request id answers the same allocation again (retried commands, replays). */
  requestId?: string;
}

export interface AllocateResult {
  pool: Pool;
  items: Allocation[];
  /** False when the request id had already been served. */
  created: boolean;
}

function requestOf(input: AllocateInput): AllocationRequest {
  const address = (text: string): Ipv4 => parseIpv4(text) as Ipv4; // shape checked by the schemas
  if (input.ip) return { kind: 'address', ip: address(input.ip) };
  if (input.start) return { kind: 'block', start: address(input.start), count: input.count };
  return { kind: 'next', count: input.count };
}

/**
 * The commonest request, one next free address, becomes a request for the address the database
 * finds first; the planner then checks it like any other.
 */
export async function narrowed(tx: Tx, pool: Pool, request: AllocationRequest): Promise<AllocationRequest> {
  if (request.kind !== 'next' || request.count !== 1) return request;
  const ip = await firstFreeAddress(tx, pool.segment, pool.rangeStart, pool.rangeEnd, [
    ...reservedAddresses(pool),
  ]);
  if (ip === undefined) throw new AddressConflictError(null, `pool '${pool.name}' has no free address`);
  return { kind: 'address', ip };
}

/** Only the addresses the plan can touch are read: one, a block, or the range for a run of N. */
export function takenFor(tx: Tx, pool: Pool, request: AllocationRequest): Promise<Set<Ipv4>> {
  switch (request.kind) {
    case 'address':
      return takenAddresses(tx, pool.segment, request.ip, request.ip);
    case 'block':
      return takenAddresses(tx, pool.segment, request.start, request.start + request.count - 1);
    case 'next':
      return takenAddresses(tx, pool.segment, pool.rangeStart, pool.rangeEnd);
  }
}

export async function loadPool(tx: Tx, name: string): Promise<Pool> {
  const pool = await findPool(tx, name);
  if (!pool) throw new NotFoundError('pool', name);
  return pool;
}

/**
 * Holds addresses of a pool: the next free one, a given one, or a contiguous block. Decided under
 * the segment's lock, written with the `ipam.allocated` event in the same transaction.
 */
export async function allocate(ctx: IpamContext, input: AllocateInput, outer?: Tx): Promise<AllocateResult> {
  return inTransaction(ctx, outer, async (tx) => {
    const pool = await loadPool(tx, input.pool);
    await lockSegment(tx, pool.segment);
    if (input.requestId) {
      const earlier = await findByRequest(tx, input.requestId);
      if (earlier.length > 0) return { pool, items: earlier, created: false };
    }
    const request = await narrowed(tx, pool, requestOf(input));
    const ips = planAllocation(pool, request, await takenFor(tx, pool, request));
    const ttl = input.ttlSeconds ?? ctx.config.IPAM_DEFAULT_HOLD_SECONDS;
    const heldUntil = new Date(ctx.clock.now().getTime() + ttl * 1000);
    const items = await insertAllocations(tx, pool, ips, {
      owner: input.owner,
      heldUntil,
      requestId: input.requestId ?? null,
    });
    await enqueueEvent(tx, {
      source: ctx.source,
      topic: IPAM_EVENTS,
      key: pool.name,
      type: ipamEventTypes.allocated,
      subject: pool.name,
      data: {
        requestId: input.requestId ?? null,
        pool: pool.name,
        owner: input.owner,
        items: items.map((a) => ({
          ip: a.ip,
          state: a.state,
          heldUntil: a.heldUntil?.toISOString() ?? null,
        })),
      },
    });
    return { pool, items, created: true };
  });
}
