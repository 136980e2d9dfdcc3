/**
 * History queries: a week of minute roll-ups (and their hours) for 100 containers is written
 * straight into a fresh database of the rig's Postgres, then `GET /v1/containers/{id}/stats` asks
 * for 24 h of one container at a 1-minute step, 200 times, from a stats host on that database.
 * Baseline in the same run: the same SELECT straight through `pg`.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { enqueueEvent } from '@testbed/kit';
import { PROVISIONING_EVENTS } from '@testbed/provisioning/src/events/contracts';
import { dockerId } from '../test/batches';
import { startStatsHost } from '../test/stats-host';

export interface HistoryFigures {
  queries: number;
  points: number;
  p50Ms: number;
  p95Ms: number;
  sqlP50Ms: number;
  sqlP95Ms: number;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

export async function benchHistory(
  opts: { containers?: number; days?: number; queries?: number } = {},
): Promise<HistoryFigures> {
  const containers = opts.containers ?? 100;
  const days = opts.days ?? 7;
  const queries = opts.queries ?? 200;
  const host = await startStatsHost({ name: 'bench-history', database: 'postgres' });
  const client = new pg.Client({ connectionString: host.databaseUrl });
  await client.connect();
  try {
    const now = Date.now();
    const from = new Date(Math.floor((now - days * 86_400_000) / 3_600_000) * 3_600_000);
    const ids: string[] = [];
    for (let i = 0; i < containers; i++) {
      const { id: docker } = dockerId();
      const id = randomUUID();
      ids.push(id);
      await host.db.prisma.$transaction((tx) =>
        enqueueEvent(tx, {
          source: 'provisioning',
          topic: PROVISIONING_EVENTS,
          key: id,
          type: 'container.started',
          data: {
            containerId: id,
            name: `bench-${i}`,
            owner: 'bench',
            node: `node${(i % 3) + 1}`,
            requestId: 'bench',
            cpuMillis: 500,
            memoryBytes: 64 << 20,
            addresses: 1,
            interfaces: [],
            dockerId: docker,
          },
        }),
      );
    }
    // The projection is the service's own: wait for its handler to have seen every container.
    for (let tries = 0; ; tries++) {
      const n = Number(
        (await client.query(`SELECT count(*)::int AS n FROM stats.series WHERE platform_id IS NOT NULL`))
          .rows[0].n,
      );
      if (n === containers) break;
      if (tries > 300) throw new Error(`only ${n} of ${containers} containers projected`);
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stdout.write(`  writing ${days} days of minute roll-ups for ${containers} containers… `);
    const t0 = Date.now();
    await client.query(
      `INSERT INTO stats.rollup_minute (series, t, n, last_t, cpu_min, cpu_avg, cpu_max, cpu_last,
         mem_min, mem_avg, mem_max, mem_last, rx_rate_min, rx_rate_avg, rx_rate_max, rx_rate_last,
         tx_rate_min, tx_rate_avg, tx_rate_max, tx_rate_last, rx_bytes_last, tx_bytes_last, pids_max, pids_last)
       SELECT s.key, g, 20, g + interval '57 seconds', 1, 20 + 10 * sin(extract(epoch FROM g) / 600), 60, 22,
              30000000, 31000000, 32000000, 31500000, 0, 100, 200, 120, 0, 50, 90, 60,
              (extract(epoch FROM g - $1::timestamptz) * 100)::int8, (extract(epoch FROM g - $1::timestamptz) * 50)::int8, 4, 4
         FROM stats.series s, generate_series($1::timestamptz, $2::timestamptz - interval '1 minute', interval '1 minute') g`,
      [from, new Date(Math.floor(now / 60_000) * 60_000)],
    );
    await client.query(`UPDATE stats.rollup_state SET done_until = $1 WHERE tier = 'minute'`, [
      new Date(Math.floor(now / 60_000) * 60_000),
    ]);
    await client.query(`ANALYZE stats.rollup_minute`);
    process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const token = await host.token('ops', 'operator');
    const api: number[] = [];
    let points = 0;
    const sql: number[] = [];
    for (let q = 0; q < queries; q++) {
      const id = ids[q % ids.length]!;
      const to = new Date(now - (q % 24) * 3_600_000);
      const since = new Date(to.getTime() - 86_400_000);
      const started = performance.now();
      const res = await fetch(
        `${host.url}/v1/containers/${id}/stats?from=${since.toISOString()}&to=${to.toISOString()}&step=60`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      const body = (await res.json()) as { points: unknown[] };
      api.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`history answered ${res.status}`);
      points += body.points.length;
      const s2 = performance.now();
      await client.query(
        `SELECT t, cpu_avg, cpu_max, mem_avg, mem_max, rx_bytes_last, tx_bytes_last, rx_rate_avg, tx_rate_avg, pids_max
           FROM stats.rollup_minute WHERE series = (SELECT key FROM stats.series WHERE platform_id = $1) AND t >= $2 AND t < $3 ORDER BY t`,
        [id, since, to],
      );
      sql.push(performance.now() - s2);
    }
    return {
      queries,
      points: points / queries,
      p50Ms: quantile(api, 0.5),
      p95Ms: quantile(api, 0.95),
      sqlP50Ms: quantile(sql, 0.5),
      sqlP95Ms: quantile(sql, 0.95),
    };
  } finally {
    await client.end();
    await host.stop();
  }
}

if (require.main === module) {
  benchHistory().then(
    (f) => {
      console.log(
        `history: 24 h at 1 min (${Math.round(f.points)} points) p50 ${f.p50Ms.toFixed(1)} ms, p95 ${f.p95Ms.toFixed(1)} ms over ${f.queries} queries; ` +
          `plain SELECT p50 ${f.sqlP50Ms.toFixed(1)} ms, p95 ${f.sqlP95Ms.toFixed(1)} ms`,
      );
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
