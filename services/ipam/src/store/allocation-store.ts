import type { Tx } from '@testbed/kit';
import { formatIpv4, parseIpv4, type Ipv4 } from '@testbed/kit';
import type { Pool } from '../domain/pool';

export type AllocationState = 'held' | 'bound';

export interface Allocation {
  ip: string;
  pool: string;
  segment: string;
  state: AllocationState;
  owner: string;
  heldUntil: Date | null;
  containerId: string | null;
  requestId: string | null;
  createdAt: Date;
}

const fields = {
  ip: true,
  poolName: true,
  segment: true,
  state: true,
  owner: true,
  heldUntil: true,
  containerId: true,
  requestId: true,
  createdAt: true,
} as const;

type Row = { poolName: string } & Omit<Allocation, 'pool'>;
const toAllocation = ({ poolName, ...rest }: Row): Allocation => ({ pool: poolName, ...rest });

/**
 * Every allocation of one segment is decided under one transaction-scoped advisory lock, so
 * concurrent requests queue instead of racing for the same lowest address; the unique key on
 * (segment, address) stays the last word should anything else write.
 */
export async function lockSegment(tx: Tx, segment: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${'ipam:' + segment}))`;
}

export async function insertAllocations(
  tx: Tx,
  pool: Pool,
  ips: Ipv4[],
  fieldsOf: { owner: string; heldUntil: Date; requestId: string | null },
): Promise<Allocation[]> {
  const rows = await tx.allocation.createManyAndReturn({
    data: ips.map((ip) => ({
      poolName: pool.name,
      segment: pool.segment,
      ipNum: BigInt(ip),
      ip: formatIpv4(ip),
      owner: fieldsOf.owner,
      state: 'held' as const,
      heldUntil: fieldsOf.heldUntil,
      requestId: fieldsOf.requestId,
    })),
    select: fields,
  });
  return rows.map(toAllocation).sort((a, b) => (parseIpv4(a.ip) as Ipv4) - (parseIpv4(b.ip) as Ipv4));
}

export async function findAllocations(tx: Tx, segment: string, ips: Ipv4[]): Promise<Allocation[]> {
  const rows = await tx.allocation.findMany({
    where: { segment, ipNum: { in: ips.map((ip) => BigInt(ip)) } },
    select: fields,
    orderBy: { ipNum: 'asc' },
  });
  return rows.map(toAllocation);
}

export async function findByRequest(tx: Tx, requestId: string): Promise<Allocation[]> {
  const rows = await tx.allocation.findMany({
    where: { requestId },
    select: fields,
    orderBy: { ipNum: 'asc' },
  });
  return rows.map(toAllocation);
}

export async function listAllocations(
  tx: Tx,
  filter: { pool: string; state?: AllocationState; owner?: string; afterIp?: number },
  limit: number,
): Promise<Allocation[]> {
  const rows = await tx.allocation.findMany({
    where: {
      poolName: filter.pool,
      ...(filter.state ? { state: filter.state } : {}),
      ...(filter.owner ? { owner: filter.owner } : {}),
      ...(filter.afterIp !== undefined ? { ipNum: { gt: BigInt(filter.afterIp) } } : {}),
    },
    select: fields,
    orderBy: { ipNum: 'asc' },
    take: limit,
  });
  return rows.map(toAllocation);
}

export async function countUsed(tx: Tx, pool: Pool): Promise<number> {
  return tx.allocation.count({
    where: { segment: pool.segment, ipNum: { gte: BigInt(pool.rangeStart), lte: BigInt(pool.rangeEnd) } },
  });
}

/** Deletes the given live allocations and answers those that existed. */
export async function deleteAllocations(tx: Tx, segment: string, ips: Ipv4[]): Promise<Allocation[]> {
  const existing = await findAllocations(tx, segment, ips);
  if (existing.length > 0) {
    await tx.allocation.deleteMany({ where: { segment, ipNum: { in: ips.map((ip) => BigInt(ip)) } } });
  }
  return existing;
}

export async function markBound(tx: Tx, segment: string, ip: Ipv4, containerId: string): Promise<number> {
  const { count } = await tx.allocation.updateMany({
    where: { segment, ipNum: BigInt(ip) },
    data: { state: 'bound', heldUntil: null, containerId },
  });
  return count;
}

/** Holds past their deadline, oldest first, at most `limit`. */
export async function expiredHolds(tx: Tx, now: Date, limit: number): Promise<Allocation[]> {
  const rows = await tx.allocation.findMany({
    where: { state: 'held', heldUntil: { lt: now } },
    select: fields,
    orderBy: { heldUntil: 'asc' },
    take: limit,
  });
  return rows.map(toAllocation);
}

export async function findByOwner(tx: Tx, owner: string): Promise<Allocation[]> {
  const rows = await tx.allocation.findMany({ where: { owner }, select: fields, orderBy: { ipNum: 'asc' } });
  return rows.map(toAllocation);
}

export async function findByContainer(tx: Tx, containerId: string): Promise<Allocation[]> {
  const rows = await tx.allocation.findMany({
    where: { containerId },
    select: fields,
    orderBy: { ipNum: 'asc' },
  });
  return rows.map(toAllocation);
}
