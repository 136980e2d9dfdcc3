import type { Tier } from './tiers';

/**
 * Each tier's table is partitioned by time into spans of fixed length (aligned on 1970-01-01):
 * the end of retention drops whole partitions, which costs nothing, where deleting rows would
 * cost a scan, dead tuples and a vacuum.
 */
const DAY_MS = 86_400_000;

export const PARTITION_SPAN_MS: Record<Tier, number> = {
  raw: DAY_MS,
  minute: 7 * DAY_MS,
  hour: 30 * DAY_MS,
};

export const TIER_TABLE: Record<Tier, string> = {
  raw: 'sample_raw',
  minute: 'rollup_minute',
  hour: 'rollup_hour',
};

export interface Partition {
  tier: Tier;
  /** Table name within the `stats` schema, e.g. `sample_raw_p20261201`. */
  name: string;
  fromMs: number;
  toMs: number;
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

export function partitionOf(tier: Tier, tMs: number): Partition {
  const span = PARTITION_SPAN_MS[tier];
  const fromMs = Math.floor(tMs / span) * span;
  return { tier, name: `${TIER_TABLE[tier]}_p${stamp(fromMs)}`, fromMs, toMs: fromMs + span };
}

/** The partitions covering [fromMs, toMs]. */
export function partitionsCovering(tier: Tier, fromMs: number, toMs: number): Partition[] {
  const out: Partition[] = [];
  for (let p = partitionOf(tier, fromMs); p.fromMs <= toMs; p = partitionOf(tier, p.toMs)) out.push(p);
  return out;
}

/** Parses a partition's table name back; undefined for any other table. */
export function parsePartitionName(tier: Tier, name: string): Partition | undefined {
  const m = new RegExp(`^${TIER_TABLE[tier]}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
  if (!m) return undefined;
  const fromMs = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const p = partitionOf(tier, fromMs);
  return p.fromMs === fromMs && p.name === name ? p : undefined;
}

/** A partition is dropped once all of it is older than the tier's retention. */
export function isExpired(p: Partition, nowMs: number, retentionMs: number): boolean {
  return p.toMs <= nowMs - retentionMs;
}
