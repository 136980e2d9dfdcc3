import type { CounterState, DerivedSample } from '../domain/derive';
import type { ColumnSpec, SqlSession, SqlTx } from './sql';

const RAW_COLUMNS: readonly ColumnSpec[] = [
  { name: 'series', type: 'int4' },
  { name: 't', type: 'timestamptz' },
  { name: 'cpu_usec', type: 'int8' },
  { name: 'cpu_pct', type: 'float4' },
  { name: 'cpu_limit_millis', type: 'int4' },
  { name: 'mem_bytes', type: 'int8' },
  { name: 'mem_limit', type: 'int8' },
  { name: 'rx_bytes', type: 'int8' },
  { name: 'tx_bytes', type: 'int8' },
  { name: 'rx_packets', type: 'int8' },
  { name: 'tx_packets', type: 'int8' },
  { name: 'rx_rate', type: 'float4' },
  { name: 'tx_rate', type: 'float4' },
  { name: 'pids', type: 'int4' },
];

export interface RawSampleRow {
  series: number;
  sample: DerivedSample;
}

/** One statement for all of them: COPY on Postgres (RIG.md: 144–207 k rows/s in batches of 10 k). */
export async function insertRawSamples(tx: SqlTx, rows: RawSampleRow[]): Promise<void> {
  await tx.copyRows(
    'stats.sample_raw',
    RAW_COLUMNS,
    rows.map(({ series, sample: s }) => [
      series,
      new Date(s.tMs),
      s.cpuUsec,
      s.cpuPercent,
      s.cpuLimitMillis,
      s.memoryBytes,
      s.memoryLimitBytes,
      s.rxBytes,
      s.txBytes,
      s.rxPackets,
      s.txPackets,
      s.rxBytesPerSecond,
      s.txBytesPerSecond,
      s.pids,
    ]),
  );
}

/**
 * The newest stored counters of each series (within the last hour), for the first sample a
 * freshly started ingest sees of it. Epoch and generation are not stored: the next sample then
 * continues the series only if its counters did not go back.
 */
export async function lastCounters(
  sql: SqlSession,
  series: number[],
  sinceMs: number,
): Promise<Map<number, CounterState>> {
  if (series.length === 0) return new Map();
  const rows = await sql.query<{ series: number; t: number; cpu: number; rx: number; tx: number }>(
    `SELECT DISTINCT ON (series) series, extract(epoch FROM t)::float8 * 1000 AS t,
            cpu_usec::float8 AS cpu, rx_bytes::float8 AS rx, tx_bytes::float8 AS tx
       FROM stats.sample_raw WHERE series = ANY($1::int4[]) AND t >= $2
      ORDER BY series, t DESC`,
    [series, new Date(sinceMs)],
  );
  return new Map(
    rows.map((r) => [
      Number(r.series),
      {
        epoch: -1,
        generation: -1,
        tMs: Math.round(Number(r.t)),
        cpuUsec: Number(r.cpu),
        rxBytes: Number(r.rx),
        txBytes: Number(r.tx),
      },
    ]),
  );
}
