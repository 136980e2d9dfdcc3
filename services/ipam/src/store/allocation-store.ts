import { Prisma, type Tx } from '@testbed/kit';
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

/** An allocation row as raw SQL returns it (`state` cast to text). */
interface RawAllocation {
  ip: string;
  pool: string;
  segment: string;
  state: AllocationState;
  owner: string;
  held_until: Date | null;
  container_id: string | null;
  request_id: string | null;
  created_at: Date;
}
const fromRaw = (r: RawAllocation): Allocation => ({
  ip: r.ip,
  pool: r.pool,
  segment: r.segment,
  state: r.state,
  owner: r.owner,
  heldUntil: r.held_until,
  containerId: r.container_id,
  requestId: r.request_id,
  createdAt: r.created_at,
});

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
  // A writer that takes no lock may have inserted one of them meanwhile: skipped, not an error
  // that would end the transaction; the caller sees the shortfall.
  const rows = await tx.allocation.createManyAndReturn({
    skipDuplicates: true,
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

/**
 * The lowest `count` addresses of the pool's range that are neither reserved nor taken on its
 * segment, numbered k = 1.. in order: the body of a `free` CTE. The database walks the unique
 * index. `from` adds a FROM item (a CTE that yields no row when the statement must do nothing).
 */
export function lowestFree(
  pool: Pool,
  reserved: readonly Ipv4[],
  count: number,
  from?: Prisma.Sql,
): Prisma.Sql {
  return Prisma.sql`
      SELECT n, row_number() OVER (ORDER BY n) AS k FROM (
        SELECT n FROM ${from ? Prisma.sql`${from}, ` : Prisma.empty}generate_series(${BigInt(pool.rangeStart)}::bigint, ${BigInt(pool.rangeEnd)}::bigint) AS n
        WHERE NOT (n = ANY(${reserved.map(BigInt)}::bigint[]))
          AND NOT EXISTS (SELECT 1 FROM ipam.allocation a WHERE a.segment = ${pool.segment} AND a.ip_num = n)
        ORDER BY n
        LIMIT ${count}
      ) f`;
}

export interface NextRequestRow {
  owner: string;
  heldUntil: Date;
  requestId: string | null;
}

/**
 * Takes the lowest free addresses of [from, to] on the segment, one per request, and records
 * them, in one statement: the database walks the unique index for the free addresses and inserts
 * them with their requests' owners, deadlines and ids. Fewer rows than requests come back when the
 * range runs out (the first requests are served) or when a writer that takes no lock (see
 * next-addresses-statement.ts) inserted one of the addresses meanwhile: the unique key skips it.
 * The caller holds the segment's lock.
 */
export async function insertNextFree(
  tx: Tx,
  pool: Pool,
  reserved: Ipv4[],
  requests: readonly NextRequestRow[],
): Promise<Allocation[]> {
  if (requests.length === 0) return [];
  const rows = await tx.$queryRaw<(RawAllocation & { k: bigint | number })[]>`
    WITH free AS (${lowestFree(pool, reserved, requests.length)}), req AS (
      SELECT * FROM unnest(
        ${requests.map((r) => r.owner)}::text[],
        ${requests.map((r) => r.heldUntil.toISOString())}::timestamptz[],
        ${requests.map((r) => r.requestId)}::text[]
      ) WITH ORDINALITY AS r(owner, held_until, request_id, k)
    ), inserted AS (
      INSERT INTO ipam.allocation (pool, segment, ip_num, ip, owner, state, held_until, request_id, updated_at)
      SELECT ${pool.name}, ${pool.segment}, free.n, host('0.0.0.0'::inet + free.n), req.owner,
        'held'::ipam.allocation_state, req.held_until, req.request_id, now()
      FROM free JOIN req USING (k)
      ON CONFLICT (segment, ip_num) DO NOTHING
      RETURNING ip_num, ip, pool, segment, state, owner, held_until, container_id, request_id, created_at
    )
    SELECT inserted.ip, inserted.pool, inserted.segment, inserted.state::text AS state, inserted.owner,
      inserted.held_until, inserted.container_id, inserted.request_id, inserted.created_at, free.k
    FROM inserted JOIN free ON free.n = inserted.ip_num
    ORDER BY free.k`;
  return rows.map(fromRaw);
}

export async function findByRequests(tx: Tx, requestIds: string[]): Promise<Map<string, Allocation[]>> {
  const rows = await tx.allocation.findMany({
    where: { requestId: { in: requestIds } },
    select: fields,
    orderBy: { ipNum: 'asc' },
  });
  const out = new Map<string, Allocation[]>();
  for (const row of rows.map(toAllocation)) {
    const list = out.get(row.requestId!) ?? [];
    list.push(row);
    out.set(row.requestId!, list);
  }
  return out;
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

/**
 * Binds a pool's address to its container in one statement (it runs for every container that
 * starts): the pool's segment is looked up and its lock taken inside the statement, so a release
 * that holds the lock (an expiring hold) finishes first and the address is then gone. None when
 * the pool holds no such address, or there is no such pool.
 */
export async function markBound(
  tx: Tx,
  pool: string,
  ip: Ipv4,
  containerId: string,
): Promise<Allocation | undefined> {
  const [row] = await tx.$queryRaw<RawAllocation[]>`
    WITH p AS (SELECT segment FROM ipam.pool WHERE name = ${pool}),
      locked AS (SELECT pg_advisory_xact_lock(hashtext('ipam:' || p.segment)) FROM p)
    UPDATE ipam.allocation a
      SET state = 'bound'::ipam.allocation_state, held_until = NULL, container_id = ${containerId},
        updated_at = now()
    FROM p, locked
    WHERE a.segment = p.segment AND a.ip_num = ${BigInt(ip)}::bigint AND a.pool = ${pool}
    RETURNING a.ip, a.pool, a.segment, a.state::text AS state, a.owner, a.held_until, a.container_id,
      a.request_id, a.created_at`;
  return row ? fromRaw(row) : undefined;
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
