/**
 * `GET /v1/containers` with 200 containers, under a bounded autocannon load, against the floor it
 * is compared with in the same run: the Docker daemon's own `GET /containers/json` listing the
 * same 200 containers over its socket.
 *
 * Set-up (not timed): 200 containers created (not started, no network: nothing to address) on the
 * rig's node1 under a platform label of this run's own, and their 200 records written straight
 * into provisioning's table of a fresh, migrated database on the rig's Postgres, as the platform
 * would hold them once running. Provisioning runs as in production: the compiled bundle
 * (dist/provisioning/main.js) on plain node, its own process, Kafka under a namespace of its own;
 * it lists from its database, so no node is registered and no reconciler touches them.
 *
 * Load: ROUNDS rounds, each Docker then the platform, CONNECTIONS connections, REQUESTS requests
 * per round each (bounded by count, and every round by a 60 s timeout); the figure is the median of
 * the rounds' p99. Every container is removed afterwards.
 *
 *   npx tsx services/provisioning/bench/list.ts
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadOrCreateLocalKey, signLocalToken } from '@testbed/kit';
import {
  freshPostgresDatabase,
  loadRigEnv,
  nodeDocker,
  randomSuffix,
  repoRoot,
  rigEnv,
} from '@testbed/test-support/rig';
import { startServiceProcess, type ServiceProcess } from '@testbed/test-support/service-process';
import { emitFigures, figure } from '../../../bench/lib/figures';

const COUNT = 200;
const ROUNDS = Math.max(1, Math.min(5, Number(process.env.BENCH_LIST_ROUNDS ?? 3)));
const CONNECTIONS = Number(process.env.BENCH_LIST_CONNECTIONS ?? 4);
const REQUESTS = Math.min(5_000, Number(process.env.BENCH_LIST_REQUESTS ?? 600));
const IMAGE = 'testbed/busybox';
/** The records' addresses: a range no other test or benchmark uses (grep the repository). */
const ADDRESS_PREFIX = '10.66.8.';

interface AutocannonResult {
  latency: { p50: number; p99: number; max: number };
  requests: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

function loadAutocannon(): Autocannon {
  try {
    return require('autocannon') as Autocannon;
  } catch {
    throw new Error('autocannon is not installed: npm install -D autocannon');
  }
}

async function load(autocannon: Autocannon, opts: Record<string, unknown>, what: string) {
  const r = await autocannon({ connections: CONNECTIONS, amount: REQUESTS, timeout: 10, ...opts });
  if (r.non2xx + r.errors + r.timeouts > 0)
    throw new Error(`${what}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return r;
}

/** Bounded: a round that has not ended after `ms` stops the benchmark. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const autocannon = loadAutocannon();
  const env = rigEnv('DATABASE_URL', 'KAFKA_BROKERS', 'NODE1_DOCKER_SOCKET');
  const rig = loadRigEnv();
  const socketPath = env.NODE1_DOCKER_SOCKET!;
  const docker = nodeDocker(rig, 'node1');
  const platform = `bench-list-${randomSuffix()}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-list-'));
  const database = await freshPostgresDatabase('bench_list');
  const db = new pg.Client({ connectionString: database.url });
  let service: ServiceProcess | undefined;
  const dockerIds: string[] = [];
  const p99 = { docker: [] as number[], platform: [] as number[] };
  const p50 = { docker: [] as number[], platform: [] as number[] };
  try {
    execFileSync(process.execPath, [path.join(repoRoot, 'dist', 'migrate', 'main.js')], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: database.url },
      stdio: 'pipe',
    });
    await db.connect();

    // 200 containers on node1, created (not started), 8 at a time.
    const t0 = Date.now();
    for (let i = 0; i < COUNT; i += 8) {
      const made = await Promise.all(
        Array.from({ length: Math.min(8, COUNT - i) }, (_, j) =>
          docker.createContainer({
            name: `${platform}-${i + j}`,
            Image: IMAGE,
            Cmd: ['sleep', '3600'],
            Labels: { 'testbed.platform': platform, 'testbed.owner': 'bench' },
            HostConfig: { NetworkMode: 'none' },
          }),
        ),
      );
      dockerIds.push(...made.map((c) => c.id));
    }
    process.stdout.write(`created ${COUNT} containers on node1 in ${Date.now() - t0} ms\n`);

    // Their records, as provisioning holds running containers.
    const operationId = randomUUID();
    const params: unknown[] = [];
    const rows = dockerIds.map((dockerId, i) => {
      const b = params.push(randomUUID(), `${platform}-${i}`, dockerId, `${ADDRESS_PREFIX}${10 + i}`, i) - 5;
      return `($${b + 1}::uuid, $${b + 2}, 'node1', 'bench', '${IMAGE}', 'running', $${b + 3}, 'experiment', $${b + 4}, 100, 67108864, 64, '${operationId}'::uuid, 'bench', $${b + 5}, now(), now())`;
    });
    await db.query(
      'INSERT INTO provisioning.container (id, name, node, owner, image, state, docker_id, pool, ip, cpu_millis, memory_bytes, pids_limit, operation_id, admission_id, item_index, started_at, updated_at) VALUES ' +
        rows.join(', '),
      params,
    );

    service = await startServiceProcess(
      'provisioning',
      {
        DATABASE_URL: database.url,
        KAFKA_BROKERS: env.KAFKA_BROKERS!,
        KAFKA_NAMESPACE: platform,
        DATA_DIR: work,
        PROVISIONING_PLATFORM_ID: platform,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_SERVICE_PER_MINUTE: '0',
      },
      path.join(work, 'provisioning.log'),
      { runner: 'compiled' },
    );
    const key = await loadOrCreateLocalKey(work);
    const token = await signLocalToken(key, {
      subject: 'bench',
      role: 'user',
      issuer: 'testbed-local',
      audience: 'testbed',
    });

    // Both answer all 200 before anything is timed.
    const listed = (await (
      await fetch(`${service.url}/v1/containers?limit=${COUNT}`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { items: unknown[] };
    if (listed.items.length !== COUNT)
      throw new Error(`the platform lists ${listed.items.length}, not ${COUNT}`);
    const filters = encodeURIComponent(JSON.stringify({ label: [`testbed.platform=${platform}`] }));
    const dockerPath = `/containers/json?all=1&filters=${filters}`;
    const daemon = {
      url: `http://localhost${dockerPath}`,
      socketPath,
    };
    const ours = {
      url: `${service.url}/v1/containers?limit=${COUNT}`,
      headers: { authorization: `Bearer ${token}` },
    };
    // Warm both (connections, JIT), then the rounds.
    await within(60_000, 'docker warm-up', load(autocannon, { ...daemon, amount: 100 }, 'docker'));
    await within(60_000, 'platform warm-up', load(autocannon, { ...ours, amount: 100 }, 'platform'));
    for (let round = 1; round <= ROUNDS; round++) {
      const d = await within(60_000, `docker round ${round}`, load(autocannon, daemon, 'docker'));
      const p = await within(60_000, `platform round ${round}`, load(autocannon, ours, 'platform'));
      p99.docker.push(d.latency.p99);
      p99.platform.push(p.latency.p99);
      p50.docker.push(d.latency.p50);
      p50.platform.push(p.latency.p50);
      process.stdout.write(
        `round ${round}: docker p50 ${d.latency.p50} ms p99 ${d.latency.p99} ms (${d.requests.average.toFixed(0)}/s); ` +
          `platform p50 ${p.latency.p50} ms p99 ${p.latency.p99} ms (${p.requests.average.toFixed(0)}/s)\n`,
      );
    }
  } finally {
    await service?.stop();
    for (let i = 0; i < dockerIds.length; i += 8)
      await Promise.all(
        dockerIds.slice(i, i + 8).map((id) =>
          docker
            .getContainer(id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
    await db.end().catch(() => undefined);
    await database.drop();
    fs.rmSync(work, { recursive: true, force: true });
  }

  const note = `${CONNECTIONS} connections, ${REQUESTS} requests a round, median of ${ROUNDS} rounds`;
  emitFigures([
    figure({
      id: 'list.containers200.p99',
      figure: `GET /v1/containers?limit=200, 200 containers: p99 (compiled provisioning, HTTP)`,
      value: median(p99.platform),
      unit: 'ms',
      baseline: { name: "Docker's GET /containers/json, same 200, its socket", value: median(p99.docker) },
      target: '≤ 3× Docker',
      checkRatio: { atMost: 3 },
      note,
    }),
    figure({
      id: 'list.containers200.p50',
      figure: `GET /v1/containers?limit=200, 200 containers: p50`,
      value: median(p50.platform),
      unit: 'ms',
      baseline: { name: "Docker's GET /containers/json", value: median(p50.docker) },
      note,
    }),
  ]);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench list failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
