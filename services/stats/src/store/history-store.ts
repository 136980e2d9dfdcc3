import { TIER_TABLE } from '../domain/partitions';
import type { Tier } from '../domain/tiers';
import { WEIGHTED_MEMORY, weightedAvg } from './rollup-sql';
import type { SqlSession } from './sql';

/** One bucket of one container's history (several series of one container add up in time). */
export interface HistoryRow {
  t: number;
  cpu: number | null;
  cpuMax: number | null;
  mem: number;
  memMax: number;
  rxBytes: number;
  txBytes: number;
  rxRate: number | null;
  txRate: number | null;
  pids: number;
  cpuLimit: number | null;
  memLimit: number | null;
}

/** Per tier: the expressions of one bucket's figures over the tier's rows. */
const FIGURES: Record<Tier, string> = {
  raw: `avg(cpu_pct) AS cpu, max(cpu_pct) AS cpu_max, avg(mem_bytes) AS mem, max(mem_bytes) AS mem_max,
        max(rx_bytes) AS rx_bytes, max(tx_bytes) AS tx_bytes, avg(rx_rate) AS rx_rate, avg(tx_rate) AS tx_rate,
        max(pids) AS pids, max(cpu_limit_millis) AS cpu_limit, max(mem_limit) AS mem_limit`,
  minute: rollupFigures(),
  hour: rollupFigures(),
};

function rollupFigures(): string {
  return `${weightedAvg('cpu')} AS cpu, max(cpu_max) AS cpu_max,
          ${WEIGHTED_MEMORY} AS mem, max(mem_max) AS mem_max,
          max(rx_bytes_last) AS rx_bytes, max(tx_bytes_last) AS tx_bytes,
          ${weightedAvg('rx_rate')} AS rx_rate, ${weightedAvg('tx_rate')} AS tx_rate,
          max(pids_max) AS pids, max(cpu_limit_millis) AS cpu_limit, max(mem_limit) AS mem_limit`;
}

/** Buckets of $4 seconds over the rows of series $1 in [$2, $3) of one tier's table. */
const BUCKET = `extract(epoch FROM date_bin($4::interval, t, 'epoch'))::float8 * 1000`;
const inRange = (tier: Tier) =>
  `FROM stats.${TIER_TABLE[tier]} WHERE series = ANY($1::int4[]) AND t >= $2 AND t < $3`;
const rangeParams = (series: number[], fromMs: number, toMs: number, stepSeconds: number) => [
  series,
  new Date(fromMs),
  new Date(toMs),
  `${stepSeconds} seconds`,
];

const num = (v: unknown) => Number(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** A container's buckets of `stepSeconds` in [fromMs, toMs) from one tier. */
export async function containerBuckets(
  sql: SqlSession,
  tier: Tier,
  series: number[],
  fromMs: number,
  toMs: number,
  stepSeconds: number,
): Promise<HistoryRow[]> {
  if (series.length === 0 || toMs <= fromMs) return [];
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT ${BUCKET} AS b, ${FIGURES[tier]} ${inRange(tier)} GROUP BY 1 ORDER BY 1`,
    rangeParams(series, fromMs, toMs, stepSeconds),
  );
  return rows.map((r) => ({
    t: num(r.b),
    cpu: numOrNull(r.cpu),
    cpuMax: numOrNull(r.cpu_max),
    mem: num(r.mem),
    memMax: num(r.mem_max),
    rxBytes: num(r.rx_bytes),
    txBytes: num(r.tx_bytes),
    rxRate: numOrNull(r.rx_rate),
    txRate: numOrNull(r.tx_rate),
    pids: num(r.pids),
    cpuLimit: numOrNull(r.cpu_limit),
    memLimit: numOrNull(r.mem_limit),
  }));
}

/** One bucket of a node's totals: the sum over its containers of each one's bucket average. */
export interface TotalsRow {
  t: number;
  containers: number;
  cpu: number;
  mem: number;
  rxRate: number;
  txRate: number;
}

const PER_SERIES: Record<Tier, string> = {
  raw: `avg(cpu_pct) AS cpu, avg(mem_bytes) AS mem, avg(rx_rate) AS rx_rate, avg(tx_rate) AS tx_rate`,
  minute: perSeriesRollup(),
  hour: perSeriesRollup(),
};

function perSeriesRollup(): string {
  return `${weightedAvg('cpu')} AS cpu, ${WEIGHTED_MEMORY} AS mem,
          ${weightedAvg('rx_rate')} AS rx_rate, ${weightedAvg('tx_rate')} AS tx_rate`;
}

export async function totalsBuckets(
  sql: SqlSession,
  tier: Tier,
  series: number[],
  fromMs: number,
  toMs: number,
  stepSeconds: number,
): Promise<TotalsRow[]> {
  if (series.length === 0 || toMs <= fromMs) return [];
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT b, count(*)::int AS containers, COALESCE(sum(cpu), 0)::float8 AS cpu,
            COALESCE(sum(mem), 0)::float8 AS mem, COALESCE(sum(rx_rate), 0)::float8 AS rx_rate,
            COALESCE(sum(tx_rate), 0)::float8 AS tx_rate
       FROM (SELECT series, ${BUCKET} AS b, ${PER_SERIES[tier]} ${inRange(tier)} GROUP BY series, 2) per_series
      GROUP BY b ORDER BY b`,
    rangeParams(series, fromMs, toMs, stepSeconds),
  );
  return rows.map((r) => ({
    t: num(r.b),
    containers: num(r.containers),
    cpu: num(r.cpu),
    mem: num(r.mem),
    rxRate: num(r.rx_rate),
    txRate: num(r.tx_rate),
  }));
}

/** The series stats knows of a platform container, with its owner (undefined: never heard of). */
export async function platformContainer(
  sql: SqlSession,
  id: string,
): Promise<{ id: string; node: string; name: string; owner: string; series: number[] } | undefined> {
  const rows = await sql.query<{
    id: string;
    node: string;
    name: string;
    owner: string;
    keys: number[] | null;
  }>(
    `SELECT c.id, c.node, c.name, c.owner,
            (SELECT array_agg(s.key) FROM stats.series s WHERE s.platform_id = c.id) AS keys
       FROM stats.container c WHERE c.id = $1::uuid`,
    [id],
  );
  const r = rows[0];
  return r
    ? { id: r.id, node: r.node, name: r.name, owner: r.owner, series: (r.keys ?? []).map(Number) }
    : undefined;
}

/** The series of a Docker id (or its short id) on any node: containers the platform did not make. */
export async function seriesOfDockerId(
  sql: SqlSession,
  dockerId: string,
): Promise<{ key: number; node: string; name: string | null; platformId: string | null }[]> {
  const rows = await sql.query<{
    key: number;
    node: string;
    name: string | null;
    platform_id: string | null;
  }>(`SELECT key, node, name, platform_id FROM stats.series WHERE ref = $1`, [dockerId.slice(0, 12)]);
  return rows.map((r) => ({ key: Number(r.key), node: r.node, name: r.name, platformId: r.platform_id }));
}

/** The series of a node that `owner` may see (all of them when owner is undefined). */
export async function seriesOfNode(
  sql: SqlSession,
  node: string,
  owner: string | undefined,
): Promise<number[]> {
  const rows = await sql.query<{ key: number }>(
    `SELECT s.key FROM stats.series s LEFT JOIN stats.container c ON c.id = s.platform_id
      WHERE s.node = $1 AND ($2::text IS NULL OR c.owner = $2)`,
    [node, owner ?? null],
  );
  return rows.map((r) => Number(r.key));
}

/** Whether stats has heard of the node at all (an agent's heartbeat or a sample). */
export async function nodeKnown(sql: SqlSession, node: string): Promise<boolean> {
  const rows = await sql.query<{ known: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM stats.node_agent WHERE node = $1)
         OR EXISTS (SELECT 1 FROM stats.series WHERE node = $1) AS known`,
    [node],
  );
  return rows[0]?.known === true;
}
