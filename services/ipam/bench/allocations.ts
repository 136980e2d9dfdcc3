/**
 * `npm run bench:ipam`: allocations per second and p50/p99 latency at 1, 8 and 64 concurrent
 * clients, through the HTTP API of an ipam host on the rig's Postgres (a fresh database), and,
 * in the same run, the floor it is compared with: the same number of single-row INSERT
 * transactions straight through `pg` at the same concurrency.
 */
import pg from 'pg';
import { startTestHost } from '@testbed/test-support/test-host';
import { rigEnv } from '@testbed/test-support/rig';
import { createIpamService, defaultIpamConfig } from '../src';

const LEVELS = [1, 8, 64];
const PER_LEVEL = Number(process.env.BENCH_ALLOCATIONS ?? 900);

interface Result {
  perSecond: number;
  p50: number;
  p99: number;
}

function summarise(latencies: number[], seconds: number): Result {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { perSecond: latencies.length / seconds, p50: at(0.5), p99: at(0.99) };
}

/** Runs `total` calls of `op` from `clients` concurrent loops; bounded by count. */
async function drive(clients: number, total: number, op: () => Promise<void>): Promise<Result> {
  let left = total;
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left-- > 0) {
        const t0 = process.hrtime.bigint();
        await op();
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  return summarise(latencies, Number(process.hrtime.bigint() - started) / 1e9);
}

async function main(): Promise<void> {
  const host = await startTestHost({
    name: 'bench_ipam',
    database: 'postgres',
    bus: 'in-process',
    modules: (deps) => [
      createIpamService({ ...deps, config: { ...defaultIpamConfig, IPAM_SEED_POOLS: false } }),
    ],
  });
  const token = await host.token('bench', 'operator');
  const call = async (method: string, pathname: string, body?: unknown) => {
    const res = await fetch(host.url + pathname, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const created = await call('POST', '/v1/pools', {
    name: 'bench',
    cidr: '10.150.0.0/22',
    rangeStart: '10.150.0.10',
    rangeEnd: '10.150.3.250',
    gateway: '10.150.0.1',
    segment: 'bench',
  });
  if (created !== 201) throw new Error(`creating the pool answered ${created}`);

  const floorDb = new pg.Pool({ connectionString: new URL(host.db.url).toString(), max: 64 });
  await floorDb.query(
    'CREATE TABLE IF NOT EXISTS public.bench_floor (n bigserial PRIMARY KEY, owner text NOT NULL)',
  );

  const rows: string[] = [];
  try {
    for (const clients of LEVELS) {
      const api = await drive(clients, PER_LEVEL, async () => {
        const status = await call('POST', '/v1/pools/bench/allocations', { owner: 'bench' });
        if (status !== 201) throw new Error(`allocation answered ${status}`);
      });
      const floor = await drive(clients, PER_LEVEL, async () => {
        await floorDb.query("INSERT INTO public.bench_floor (owner) VALUES ('bench')");
      });
      rows.push(
        [
          String(clients).padStart(7),
          api.perSecond.toFixed(0).padStart(8),
          api.p50.toFixed(1).padStart(7),
          api.p99.toFixed(1).padStart(7),
          floor.perSecond.toFixed(0).padStart(11),
          floor.p50.toFixed(2).padStart(9),
          (floor.perSecond / api.perSecond).toFixed(1).padStart(12),
        ].join(' '),
      );
      // Give the addresses back (not timed) so every level starts from an empty pool.
      await host.db.prisma.$executeRaw`DELETE FROM ipam.allocation WHERE pool = 'bench'`;
    }
  } finally {
    await floorDb.end();
    await host.stop();
  }
  console.log(
    `\nipam allocations through the API, ${PER_LEVEL} per level, rig Postgres (${rigEnv('DATABASE_URL').DATABASE_URL!.replace(/:[^:@/]+@/, ':***@')})`,
  );
  console.log('clients  alloc/s  p50 ms  p99 ms  insert/s*  p50 ms*  floor/api');
  for (const row of rows) console.log(row);
  console.log('* the floor: one-row INSERT transactions straight through pg at the same concurrency');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
