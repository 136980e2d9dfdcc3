import type { Tx } from '@testbed/kit';
import { formatCidr, formatIpv4, parseIpv4, type Ipv4 } from '@testbed/kit';
import { definePool, type Pool } from '../domain/pool';

type PoolRow = {
  name: string;
  cidr: string;
  rangeStart: string;
  rangeEnd: string;
  gateway: string | null;
  exclude: string[];
  segment: string;
};

function toPool(row: PoolRow): Pool {
  return definePool(row);
}

export function toRow(pool: Pool): PoolRow {
  return {
    name: pool.name,
    cidr: formatCidr(pool.cidr),
    rangeStart: formatIpv4(pool.rangeStart),
    rangeEnd: formatIpv4(pool.rangeEnd),
    gateway: pool.gateway === null ? null : formatIpv4(pool.gateway),
    exclude: pool.exclude.map(formatIpv4),
    segment: pool.segment,
  };
}

export async function findPool(tx: Tx, name: string): Promise<Pool | undefined> {
  const row = await tx.pool.findUnique({ where: { name } });
  return row ? toPool(row) : undefined;
}

export async function listPools(tx: Tx, after: string | undefined, limit: number): Promise<Pool[]> {
  const rows = await tx.pool.findMany({
    where: after === undefined ? {} : { name: { gt: after } },
    orderBy: { name: 'asc' },
    take: limit,
  });
  return rows.map(toPool);
}

/** Creates the pool unless one of that name exists; answers whether it created it. */
export async function insertPool(tx: Tx, pool: Pool): Promise<boolean> {
  const created = await tx.pool.createMany({ data: [toRow(pool)], skipDuplicates: true });
  return created.count === 1;
}

/** Addresses in use on the segment within [from, to], whichever pool handed them out. */
export async function takenAddresses(tx: Tx, segment: string, from: Ipv4, to: Ipv4): Promise<Set<Ipv4>> {
  const rows = await tx.allocation.findMany({
    where: { segment, ipNum: { gte: BigInt(from), lte: BigInt(to) } },
    select: { ipNum: true },
  });
  return new Set(rows.map((r) => Number(r.ipNum)));
}

/**
 * The lowest address of [from, to] that is neither reserved nor taken on the segment, found by
 * the database walking the unique index: no need to load every taken address of a large pool.
 */
export async function firstFreeAddress(
  tx: Tx,
  segment: string,
  from: Ipv4,
  to: Ipv4,
  reserved: Ipv4[],
): Promise<Ipv4 | undefined> {
  const rows = await tx.$queryRaw<{ n: bigint }[]>`
    SELECT n FROM generate_series(${BigInt(from)}::bigint, ${BigInt(to)}::bigint) AS n
    WHERE NOT (n = ANY(${reserved.map(BigInt)}::bigint[]))
      AND NOT EXISTS (SELECT 1 FROM ipam.allocation a WHERE a.segment = ${segment} AND a.ip_num = n)
    ORDER BY n
    LIMIT 1`;
  return rows[0] === undefined ? undefined : Number(rows[0].n);
}

export function ipOf(text: string): Ipv4 {
  const ip = parseIpv4(text);
  if (ip === undefined) throw new Error(`not an IPv4 address: ${text}`);
  return ip;
}
