import { WEIGHTED_MEMORY, weightedAvg } from './rollup-sql';
import type { SqlSession, SqlTx } from './sql';

export type RollupTier = 'minute' | 'hour';

const BUCKET: Record<RollupTier, string> = { minute: '1 minute', hour: '1 hour' };

/**
 * Roll-ups are made from what is stored: per minute from raw samples, per hour from minutes.
 * `rollup_state.done_until` says how far the regular passes got; every bucket to (re)make is a
 * row of `rollup_dirty`: the pass that moves `done_until` adds the buckets it covers, and a
 * sample stored behind `done_until` (an agent's buffer emptied after an outage) adds its own.
 * A bucket is remade from its source rows, never merged into, so a repeat changes nothing.
 */
export async function initRollupState(sql: SqlSession, nowMs: number): Promise<void> {
  await sql.query(
    `INSERT INTO stats.rollup_state (tier, done_until)
     VALUES ('minute', date_bin('1 minute', $1::timestamptz, 'epoch')), ('hour', date_bin('1 hour', $1::timestamptz, 'epoch'))
     ON CONFLICT (tier) DO NOTHING`,
    [new Date(nowMs)],
  );
}

/**
 * The minute tier's `done_until`, share-locked until the ingest transaction ends: a pass moving it
 * waits for the samples in flight, and any later transaction sees where it moved.
 */
export async function minuteWatermarkShared(tx: SqlTx): Promise<number> {
  const rows = await tx.query<{ t: number }>(
    `SELECT extract(epoch FROM done_until)::float8 * 1000 AS t FROM stats.rollup_state WHERE tier = 'minute' FOR SHARE`,
  );
  return rows[0] ? Number(rows[0].t) : Number.POSITIVE_INFINITY;
}

export async function markDirty(
  tx: SqlSession,
  tier: RollupTier,
  bucketsMs: number[],
  atMs: number,
): Promise<void> {
  if (bucketsMs.length === 0) return;
  await tx.query(
    `INSERT INTO stats.rollup_dirty (tier, bucket, marked_at) SELECT $1, unnest($2::timestamptz[]), $3`,
    [tier, bucketsMs.map((b) => new Date(b)), new Date(atMs)],
  );
}

/**
 * Moves `done_until` of `tier` up to `targetMs` (never back) and queues the buckets it passes.
 * Returns the new `done_until`.
 */
export async function advanceWatermark(tx: SqlTx, tier: RollupTier, targetMs: number): Promise<number> {
  const rows = await tx.query<{ t: number }>(
    `SELECT extract(epoch FROM done_until)::float8 * 1000 AS t FROM stats.rollup_state WHERE tier = $1 FOR UPDATE`,
    [tier],
  );
  const from = rows[0] ? Number(rows[0].t) : targetMs;
  if (targetMs <= from) return from;
  // Marked at their own start: long settled, so the pass takes them at once.
  await tx.query(
    `INSERT INTO stats.rollup_dirty (tier, bucket, marked_at)
     SELECT $1, g, g FROM generate_series($2::timestamptz, $3::timestamptz - $4::interval, $4::interval) g`,
    [tier, new Date(from), new Date(targetMs), BUCKET[tier]],
  );
  await tx.query(`UPDATE stats.rollup_state SET done_until = $2 WHERE tier = $1`, [tier, new Date(targetMs)]);
  return targetMs;
}

export async function watermark(sql: SqlSession, tier: RollupTier): Promise<number | undefined> {
  const rows = await sql.query<{ t: number }>(
    `SELECT extract(epoch FROM done_until)::float8 * 1000 AS t FROM stats.rollup_state WHERE tier = $1`,
    [tier],
  );
  return rows[0] ? Number(rows[0].t) : undefined;
}

/**
 * Takes (deletes, in the caller's transaction) the marks of up to `limit` buckets whose newest
 * mark is from before `settledBeforeMs`. A mark made while the pass runs is not among those it
 * saw, so it stays and its bucket is made again by the next pass.
 */
export async function takeDirty(
  tx: SqlTx,
  tier: RollupTier,
  limit: number,
  settledBeforeMs: number,
): Promise<number[]> {
  const rows = await tx.query<{ t: number }>(
    `WITH ready AS (
       SELECT bucket FROM stats.rollup_dirty WHERE tier = $1
        GROUP BY bucket HAVING max(marked_at) <= $3 ORDER BY bucket LIMIT $2),
     taken AS (
       DELETE FROM stats.rollup_dirty d USING ready
        WHERE d.tier = $1 AND d.bucket = ready.bucket RETURNING d.bucket)
     SELECT DISTINCT extract(epoch FROM bucket)::float8 * 1000 AS t FROM taken ORDER BY 1`,
    [tier, limit, new Date(settledBeforeMs)],
  );
  return rows.map((r) => Number(r.t));
}

/** Buckets in runs of adjacent ones: one statement per run, each reading one time range. */
export function runsOf(
  bucketsMs: number[],
  bucketMs: number,
): { fromMs: number; toMs: number; buckets: number[] }[] {
  const runs: { fromMs: number; toMs: number; buckets: number[] }[] = [];
  for (const b of [...bucketsMs].sort((x, y) => x - y)) {
    const last = runs.at(-1);
    if (last && b === last.toMs) {
      last.toMs = b + bucketMs;
      last.buckets.push(b);
    } else runs.push({ fromMs: b, toMs: b + bucketMs, buckets: [b] });
  }
  return runs;
}

const FIGURES = ['cpu', 'rx_rate', 'tx_rate'] as const;
const ROLLUP_COLUMNS = [
  'series',
  't',
  'n',
  'last_t',
  ...FIGURES.flatMap((f) => [`${f}_min`, `${f}_avg`, `${f}_max`, `${f}_last`]),
  'mem_min',
  'mem_avg',
  'mem_max',
  'mem_last',
  'rx_bytes_last',
  'tx_bytes_last',
  'pids_max',
  'pids_last',
  'cpu_limit_millis',
  'mem_limit',
];
const UPSERT = `ON CONFLICT (series, t) DO UPDATE SET ${ROLLUP_COLUMNS.slice(2)
  .map((c) => `${c} = excluded.${c}`)
  .join(', ')}`;

/** What the roll-ups keep of a bucket's newest row, named alike whatever the source tier calls it. */
const LASTS = [
  'last_t',
  'cpu_last',
  'rx_rate_last',
  'tx_rate_last',
  'mem_last',
  'rx_bytes_last',
  'tx_bytes_last',
  'pids_last',
  'cpu_limit_millis',
  'mem_limit',
] as const;

/**
 * The one statement that remakes buckets: `source` selects the rows of [$1, $2) with their
 * `bucket`, `lasts` picks each bucket's newest (columns named as LASTS), `aggs` folds each bucket.
 */
function remake(target: string, source: string, lasts: string, aggs: string): string {
  return `WITH src AS (${source}), lasts AS (${lasts}), aggs AS (${aggs})
     INSERT INTO stats.${target} (${ROLLUP_COLUMNS.join(', ')})
     SELECT a.series, a.bucket, a.n, l.last_t,
            a.cpu_min, a.cpu_avg, a.cpu_max, l.cpu_last,
            a.rx_min, a.rx_avg, a.rx_max, l.rx_rate_last,
            a.tx_min, a.tx_avg, a.tx_max, l.tx_rate_last,
            a.mem_min, a.mem_avg, a.mem_max, l.mem_last,
            l.rx_bytes_last, l.tx_bytes_last, a.pids_max, l.pids_last, l.cpu_limit_millis, l.mem_limit
       FROM aggs a JOIN lasts l USING (series, bucket)
     ${UPSERT}`;
}

/** Remakes the minute buckets of [fromMs, toMs) from the raw samples. */
export async function rollUpMinutes(tx: SqlTx, fromMs: number, toMs: number): Promise<void> {
  await tx.query(
    remake(
      'rollup_minute',
      `SELECT r.*, date_bin('1 minute', r.t, 'epoch') AS bucket FROM stats.sample_raw r WHERE r.t >= $1 AND r.t < $2`,
      `SELECT DISTINCT ON (series, bucket) series, bucket, t AS last_t, cpu_pct AS cpu_last,
              rx_rate AS rx_rate_last, tx_rate AS tx_rate_last, mem_bytes AS mem_last,
              rx_bytes AS rx_bytes_last, tx_bytes AS tx_bytes_last, pids AS pids_last, cpu_limit_millis, mem_limit
         FROM src ORDER BY series, bucket, t DESC`,
      `SELECT series, bucket, count(*)::int AS n,
              min(cpu_pct) AS cpu_min, avg(cpu_pct) AS cpu_avg, max(cpu_pct) AS cpu_max,
              min(mem_bytes) AS mem_min, avg(mem_bytes)::int8 AS mem_avg, max(mem_bytes) AS mem_max,
              min(rx_rate) AS rx_min, avg(rx_rate) AS rx_avg, max(rx_rate) AS rx_max,
              min(tx_rate) AS tx_min, avg(tx_rate) AS tx_avg, max(tx_rate) AS tx_max,
              max(pids) AS pids_max
         FROM src GROUP BY series, bucket`,
    ),
    [new Date(fromMs), new Date(toMs)],
  );
}

/** Remakes the hour buckets of [fromMs, toMs) from the minute roll-ups. */
export async function rollUpHours(tx: SqlTx, fromMs: number, toMs: number): Promise<void> {
  await tx.query(
    remake(
      'rollup_hour',
      `SELECT r.*, date_bin('1 hour', r.t, 'epoch') AS bucket FROM stats.rollup_minute r WHERE r.t >= $1 AND r.t < $2`,
      `SELECT DISTINCT ON (series, bucket) series, bucket, ${LASTS.join(', ')}
         FROM src ORDER BY series, bucket, last_t DESC`,
      `SELECT series, bucket, sum(n)::int AS n,
              min(cpu_min) AS cpu_min, ${weightedAvg('cpu')} AS cpu_avg, max(cpu_max) AS cpu_max,
              min(rx_rate_min) AS rx_min, ${weightedAvg('rx_rate')} AS rx_avg, max(rx_rate_max) AS rx_max,
              min(tx_rate_min) AS tx_min, ${weightedAvg('tx_rate')} AS tx_avg, max(tx_rate_max) AS tx_max,
              min(mem_min) AS mem_min, (${WEIGHTED_MEMORY})::int8 AS mem_avg, max(mem_max) AS mem_max,
              max(pids_max) AS pids_max
         FROM src GROUP BY series, bucket`,
    ),
    [new Date(fromMs), new Date(toMs)],
  );
}
