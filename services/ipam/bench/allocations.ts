/**
 * `npm run bench:ipam`: allocations per second and p50/p99 latency at 1, 8 and 64 concurrent
 * clients through the HTTP API of ipam as it runs in production (the compiled bundle on plain
 * node, its own process, a fresh database on the rig's Postgres, the rig's Kafka), and, in the
 * same run, the floor it is compared with: as many single-row INSERT transactions straight
 * through `pg` at the same concurrency. After each level the answers and the table are checked:
 * never an address twice. Bounded by count (BENCH_ALLOCATIONS per level, at most 4,000: the pool),
 * each level after a warm-up of 200 allocations that is not counted.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadOrCreateLocalKey, signLocalToken } from '@testbed/kit';
import { freshPostgresDatabase, randomSuffix, repoRoot, rigEnv } from '@testbed/test-support/rig';
import { SERVICE_NODE_FLAGS } from '@testbed/kit/src/host/process-settings';
import { startServiceProcess } from '@testbed/test-support/service-process';
import { emitFigures, figure, type Figure } from '../../../bench/lib/figures';
import { drive, httpClient, type LoadResult } from '../../../bench/lib/load';

const LEVELS = (process.env.BENCH_IPAM_LEVELS ?? '1,8,64').split(',').map(Number);
const PER_LEVEL = Math.min(4000, Number(process.env.BENCH_ALLOCATIONS ?? 3000));
const WARM_UP = 200;

async function main(): Promise<void> {
  const env = rigEnv('DATABASE_URL', 'KAFKA_BROKERS');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ipam-'));
  const database = await freshPostgresDatabase('bench_ipam');
  const db = new pg.Pool({ connectionString: database.url, max: 64 });
  // An idle client the server ends (a restart, the drop's FORCE) is an 'error' event: not a crash.
  db.on('error', (err) => console.error(`bench pool: an idle connection ended: ${err.message}`));
  let service: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
  const results: { clients: number; api: LoadResult; floor: LoadResult }[] = [];
  try {
    execFileSync(
      path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [path.join(repoRoot, 'prisma', 'migrate.ts')],
      {
        cwd: repoRoot,
        env: { ...process.env, DATABASE_URL: database.url },
        stdio: 'pipe',
      },
    );
    service = await startServiceProcess(
      'ipam',
      {
        DATABASE_URL: database.url,
        KAFKA_BROKERS: env.KAFKA_BROKERS!,
        KAFKA_NAMESPACE: `bench-ipam-${randomSuffix()}`,
        DATA_DIR: work,
        IPAM_SEED_POOLS: 'false',
        LOG_LEVEL: 'warn',
        // The per-user limits of mutating requests (300 a minute for a user) are a policy, not
        // ipam's cost: off, so the figure is the allocation path.
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_SERVICE_PER_MINUTE: '0',
      },
      path.join(work, 'ipam.log'),
      // BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the service (kept out of the repository).
      {
        runner: 'compiled',
        // Its image's flags, then any of the run's own (BENCH_NODE_FLAGS, e.g. --cpu-prof).
        nodeFlags: [
          ...SERVICE_NODE_FLAGS,
          ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
        ],
      },
    );
    const key = await loadOrCreateLocalKey(work);
    const token = await signLocalToken(key, {
      subject: 'bench',
      role: 'operator',
      issuer: 'testbed-local',
      audience: 'testbed',
    });
    const client = httpClient(service.url, { authorization: `Bearer ${token}` });
    const created = await client.request('POST', '/v1/pools', {
      name: 'bench',
      cidr: '10.150.0.0/20',
      rangeStart: '10.150.0.10',
      rangeEnd: '10.150.15.250',
      gateway: '10.150.0.1',
      segment: 'bench',
    });
    if (created.status !== 201)
      throw new Error(`creating the pool answered ${created.status}: ${created.body}`);
    await db.query('CREATE TABLE public.bench_floor (n bigserial PRIMARY KEY, owner text NOT NULL)');

    for (const clients of LEVELS) {
      // Warm-up (JIT, connections), given back before the level starts.
      await drive(clients, WARM_UP, async () => {
        const answer = await client.request('POST', '/v1/pools/bench/allocations', { owner: 'bench' });
        if (answer.status !== 201) throw new Error(`allocation answered ${answer.status}: ${answer.body}`);
      });
      await db.query("DELETE FROM ipam.allocation WHERE pool = 'bench'");
      const ips: string[] = [];
      const api = await drive(clients, PER_LEVEL, async () => {
        const answer = await client.request('POST', '/v1/pools/bench/allocations', { owner: 'bench' });
        if (answer.status !== 201) throw new Error(`allocation answered ${answer.status}: ${answer.body}`);
        ips.push(...(JSON.parse(answer.body) as { items: { ip: string }[] }).items.map((i) => i.ip));
      });
      const floor = await drive(clients, PER_LEVEL, async () => {
        await db.query("INSERT INTO public.bench_floor (owner) VALUES ('bench')");
      });
      // Never an address twice: not in the answers, not in the table.
      const [row] = (
        await db.query<{ rows: string; distinct: string }>(
          "SELECT count(*) AS rows, count(DISTINCT ip_num) AS distinct FROM ipam.allocation WHERE segment = 'bench'",
        )
      ).rows;
      if (
        new Set(ips).size !== PER_LEVEL ||
        Number(row!.rows) !== PER_LEVEL ||
        Number(row!.distinct) !== PER_LEVEL
      )
        throw new Error(
          `addresses twice: ${ips.length} answers, ${new Set(ips).size} distinct; table ${row!.rows} rows, ${row!.distinct} distinct`,
        );
      results.push({ clients, api, floor });
      // Give the addresses back (not timed) so every level starts from an empty pool.
      await db.query("DELETE FROM ipam.allocation WHERE pool = 'bench'");
    }
    client.close();
  } finally {
    await service?.stop();
    await db.end();
    await database.drop();
    fs.rmSync(work, { recursive: true, force: true });
  }

  console.log(
    `ipam allocations through the API (compiled, own process), ${PER_LEVEL} per level, rig Postgres`,
  );
  console.log('clients  alloc/s  p50 ms  p99 ms  insert/s*  p50 ms*  floor/api');
  for (const { clients, api, floor } of results)
    console.log(
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
  console.log('* the floor: one-row INSERT transactions straight through pg at the same concurrency');
  const figures: Figure[] = [];
  for (const { clients, api, floor } of results) {
    const top = clients === 64;
    figures.push(
      figure({
        id: `ipam.c${clients}.rate`,
        figure: `ipam allocations/s, ${clients} client${clients === 1 ? '' : 's'} (never an address twice)`,
        value: api.perSecond,
        unit: '/s',
        baseline: { name: 'plain pg inserts', value: floor.perSecond },
        ...(top ? { target: '≥ 1,000/s', check: { atLeast: 1000 } } : {}),
      }),
      figure({
        id: `ipam.c${clients}.p99`,
        figure: `ipam allocation p99, ${clients} client${clients === 1 ? '' : 's'}`,
        value: api.p99,
        unit: 'ms',
        baseline: { name: 'plain pg insert p99', value: floor.p99 },
        ...(top ? { target: '≤ 100 ms', check: { atMost: 100 } } : {}),
      }),
    );
  }
  emitFigures(figures);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:ipam failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
