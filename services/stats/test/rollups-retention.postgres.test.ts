import { ManualClock } from '@testbed/kit';
import { waitFor } from '@testbed/test-support/wait';
import type { TestHost } from '@testbed/test-support/test-host';
import { batchOf, dockerId, sampleOf } from './batches';
import { publishBatches, startStatsHost } from './stats-host';

// Roll-ups and retention on the rig's Postgres (COPY, partitions), with a clock the test moves:
// minutes and hours are remade from what is stored, a late sample remakes its minute and hour,
// and whole partitions go at the end of retention while the roll-ups stay.
jest.setTimeout(90_000);

const T0 = Date.parse('2030-01-01T10:00:00Z');
const clock = new ManualClock(new Date(T0));
let host: TestHost;
const a = dockerId();
const b = dockerId();

beforeAll(async () => {
  host = await startStatsHost({
    name: 'stats-rollups',
    database: 'postgres',
    clock,
    config: {
      STATS_ROLLUP_INTERVAL_MS: 100,
      STATS_PARTITION_INTERVAL_MS: 100,
      STATS_ROLLUP_LAG_MS: 10_000,
      STATS_ROLLUP_SETTLE_MS: 0,
    },
  });
});
afterAll(async () => {
  await host?.stop();
});

async function q<T>(sql: string, ...params: unknown[]): Promise<T[]> {
  return host.db.prisma.$queryRawUnsafe<T[]>(sql, ...params);
}

const minuteRows = (t: number) =>
  q<{ ref: string; n: number; cpu_avg: number; cpu_max: number; cpu_last: number; mem_max: string }>(
    `SELECT s.ref, m.n, m.cpu_avg, m.cpu_max, m.cpu_last, m.mem_max::text AS mem_max
       FROM stats.rollup_minute m JOIN stats.series s ON s.key = m.series WHERE m.t = $1 ORDER BY s.ref`,
    new Date(t),
  );

test('minutes and hours are rolled up from the stored samples; a late sample remakes its buckets', async () => {
  // Two minutes of samples every 3 s: container a at 25 % then 75 %, b idle with growing memory.
  let seq = 0;
  const batches = [];
  for (let i = 0; i < 40; i++) {
    const t = T0 + i * 3000;
    batches.push(
      batchOf('r-node', {
        seq: ++seq,
        t,
        samples: [
          sampleOf(a.ref, { cpuUsec: i < 20 ? i * 750_000 : 15_000_000 + (i - 20) * 2_250_000 }),
          sampleOf(b.ref, {
            cpuUsec: 0,
            memoryUsageBytes: (10 + i) * 4096 * 256,
            memoryInactiveFileBytes: 0,
          }),
        ],
      }),
    );
  }
  await publishBatches(host, batches);
  await waitFor(
    'every sample stored',
    async () => (await q<{ n: number }>(`SELECT count(*)::int AS n FROM stats.sample_raw`))[0]!.n === 80,
  );
  clock.set(new Date(T0 + 2 * 60_000 + 10_000));
  await waitFor('minute 10:00 rolled up', async () => (await minuteRows(T0)).length === 2);
  const second = await waitFor('minute 10:01 rolled up', async () => {
    const r = await minuteRows(T0 + 60_000);
    return r.length === 2 ? r : undefined;
  });
  const minuteOf = (rows: typeof second, ref: string) => rows.find((r) => r.ref === ref)!;
  // Minute 10:00: 20 samples, the first without a CPU figure; minute 10:01: the step to 75 % at 10:01:00.
  const aFirst = (await minuteRows(T0)).find((r) => r.ref === a.ref)!;
  expect(aFirst.n).toBe(20);
  expect(Number(aFirst.cpu_avg)).toBeCloseTo(25, 3);
  const aSecond = minuteOf(second, a.ref);
  expect(aSecond.n).toBe(20);
  expect(Number(aSecond.cpu_max)).toBeCloseTo(75, 3);
  expect(Number(aSecond.cpu_last)).toBeCloseTo(75, 3);
  expect(Number(minuteOf(second, b.ref).mem_max)).toBe(49 * 4096 * 256);

  // The history at a one-minute step reads the minute tier.
  const res = await host.call(
    'ops',
    'operator',
    `/v1/containers/${a.ref}/stats?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 120_000).toISOString()}&step=60`,
  );
  const h = (await res.json()) as { tier: string; points: { t: string; cpuPercent: number }[] };
  expect(h.tier).toBe('minute');
  expect(h.points.map((p) => Math.round(p.cpuPercent))).toEqual([25, 73]);

  // An agent's buffer, emptied after an outage, brings a sample of 10:00:59 late.
  await publishBatches(host, [
    batchOf('r-node', {
      seq: seq + 1,
      t: T0 + 59_500,
      samples: [sampleOf(b.ref, { memoryUsageBytes: 4096 * 100_000, memoryInactiveFileBytes: 0 })],
    }),
  ]);
  await waitFor('minute 10:00 remade with the late sample', async () => {
    const r = (await minuteRows(T0)).find((x) => x.ref === b.ref);
    return r?.n === 21 && Number(r.mem_max) === 4096 * 100_000;
  });

  // The hour is made once it ended, from its minutes, and remade when a minute behind it changes.
  clock.set(new Date(T0 + 3_600_000 + 20_000));
  const hour = await waitFor('hour 10:00 rolled up', async () => {
    const r = await q<{ n: number; mem_max: string }>(
      `SELECT h.n, h.mem_max::text AS mem_max FROM stats.rollup_hour h JOIN stats.series s ON s.key = h.series
        WHERE s.ref = $1 AND h.t = $2`,
      b.ref,
      new Date(T0),
    );
    return r[0];
  });
  expect(hour.n).toBe(41);
  expect(Number(hour.mem_max)).toBe(4096 * 100_000);
});

test('raw partitions are dropped whole at the end of retention; the roll-ups stay', async () => {
  const partitions = () =>
    q<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sample_raw' ORDER BY 1`,
    );
  expect((await partitions()).map((p) => p.name)).toContain('sample_raw_p20300101');
  // Raw samples are kept 48 h: the day of 2030-01-01 is wholly past retention on 2030-01-03T00:00Z + 1 day.
  clock.set(new Date(Date.parse('2030-01-04T00:00:01Z')));
  await waitFor('the day of the samples dropped', async () =>
    (await partitions()).every((p) => p.name !== 'sample_raw_p20300101'),
  );
  expect((await partitions()).map((p) => p.name)).toEqual(
    expect.arrayContaining([
      'sample_raw_p20300102',
      'sample_raw_p20300103',
      'sample_raw_p20300104',
      'sample_raw_p20300105',
    ]),
  );
  const left = await q<{ n: number }>(`SELECT count(*)::int AS n FROM stats.sample_raw`);
  expect(left[0]!.n).toBe(0);
  const minutes = await q<{ n: number }>(`SELECT count(*)::int AS n FROM stats.rollup_minute`);
  expect(minutes[0]!.n).toBe(4);
  // A sample older than raw retention is refused, not written into a partition made again.
  await publishBatches(host, [
    batchOf('r-node', { seq: 1000, t: T0 + 1000, samples: [sampleOf(a.ref, { cpuUsec: 99_000_000 })] }),
  ]);
  await waitFor('the old sample refused', async () => {
    const text = await host.metrics.metrics();
    return /stats_samples_total\{outcome="refused"\} [1-9]/.test(text);
  });
  expect((await partitions()).map((p) => p.name)).not.toContain('sample_raw_p20300101');
});
