import { parsePartitionName, TIER_TABLE, type Partition } from '../domain/partitions';
import type { Tier } from '../domain/tiers';
import type { SqlSession } from './sql';

/** Postgres' codes for "that table is already there": two makers racing for one partition. */
const ALREADY_THERE = new Set(['42P07', '23505']);

/** Makes the partition unless it exists; safe when several replicas make it at once. */
export async function createPartition(sql: SqlSession, p: Partition): Promise<boolean> {
  try {
    await sql.query(
      `CREATE TABLE IF NOT EXISTS stats."${p.name}" PARTITION OF stats."${TIER_TABLE[p.tier]}" ` +
        `FOR VALUES FROM ('${new Date(p.fromMs).toISOString()}') TO ('${new Date(p.toMs).toISOString()}')`,
    );
    return true;
  } catch (err) {
    if (ALREADY_THERE.has((err as { code?: string }).code ?? '')) return false;
    throw err;
  }
}

/** The tier's partitions as the catalogue has them. */
export async function listPartitions(sql: SqlSession, tier: Tier): Promise<Partition[]> {
  const rows = await sql.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
      WHERE n.nspname = 'stats' AND p.relname = $1`,
    [TIER_TABLE[tier]],
  );
  return rows.flatMap((r) => parsePartitionName(tier, r.name) ?? []);
}

export async function dropPartition(sql: SqlSession, p: Partition): Promise<void> {
  await sql.query(`DROP TABLE IF EXISTS stats."${p.name}"`);
}
