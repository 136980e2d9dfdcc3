/**
 * Issue 5, must show: the provisioning process killed (SIGKILL) during a batch of 20 and started
 * again converges within 60 s: every container either running and recorded or absent, no address
 * or quota hold left over. provisioning runs as its own process (the standalone host) on a fresh
 * database of the rig's Postgres and the rig's Kafka; ipam and quota run in this process on the
 * same database and topics. Addresses 10.64.99.50-79 belong to this file alone; nothing is sent to them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { createQuotaService, defaultQuotaConfig } from '@testbed/quota';
import { loadOrCreateLocalKey, signLocalToken, type LocalSigningKey, type Role } from '@testbed/kit';
import { freshPostgresDatabase, randomSuffix, rigEnv } from '../../../test/support/rig';
import { startTestHost, type TestHost } from '../../../test/support/test-host';
import { NodeDocker } from '../src/docker/node-docker';
import { eventually, rigEndpoint, testPlatform } from './rig-nodes';
import { startProvisioningProcess, type ProvisioningProcess } from './provisioning-process';

jest.setTimeout(400_000);

const NODES = ['node1', 'node2'];
const COUNT = 20;
const CONVERGE_MS = 60_000;
const platform = testPlatform();
const prefix = `rst-${randomSuffix()}`;
const user = 'erin';
const dockers = Object.fromEntries(NODES.map((n) => [n, new NodeDocker(rigEndpoint(n), 30_000)]));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'provisioning-restart-'));
const logFile = path.join(dataDir, 'provisioning.log');
let database: Awaited<ReturnType<typeof freshPostgresDatabase>> | undefined;
let host: TestHost;
let key: LocalSigningKey;
let provisioning: ProvisioningProcess | undefined;
let firstReadyMs = 0;

type Operation = { id: string; state: string; items: { state: string; containerId: string }[] };
type Container = { id: string; node: string; state: string };
type Usage = { containers: { inUse: number; held: number }; addresses: { inUse: number; held: number } };
type Allocation = { ip: string; state: string; containerId: string | null };

/** A request to the provisioning process, with a token of its signing key. */
async function call(subject: string, role: Role, pathname: string, init: RequestInit = {}) {
  const token = await signLocalToken(key, { subject, role, issuer: 'testbed-local', audience: 'testbed' });
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  if (init.body) headers.set('content-type', 'application/json');
  const res = await fetch(provisioning!.url + pathname, { ...init, headers });
  if (res.status >= 400) throw new Error(`${pathname}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<unknown>;
}
const hostJson = async <T>(pathname: string) =>
  (await (await host.call('operator', 'operator', pathname)).json()) as T;
const owned = async () =>
  (
    await Promise.all(
      NODES.map(async (n) => (await dockers[n]!.listOwned(platform)).map((c) => ({ ...c, node: n }))),
    )
  ).flat();

function startProvisioning() {
  const env = rigEnv('TESTBED_NODES', 'KAFKA_BROKERS', 'DOCKER_TLS_CA');
  return startProvisioningProcess(
    {
      DATABASE_URL: database!.url,
      KAFKA_BROKERS: env.KAFKA_BROKERS!,
      KAFKA_NAMESPACE: host.kafkaNamespace,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      TESTBED_NODES: NODES.join(','),
      PROVISIONING_NODES_FROM_ENV: 'true',
      PROVISIONING_PLATFORM_ID: platform,
      // A dead worker's claim is taken over after 3 s, looked for every second.
      PROVISIONING_CLAIM_STALE_MS: '3000',
      PROVISIONING_RESUME_INTERVAL_MS: '1000',
      PROVISIONING_RECONCILE_INTERVAL_MS: '2000',
      // Two at a time per node: the batch takes long enough to be killed in its middle.
      PROVISIONING_PARALLELISM_PER_NODE: '2',
    },
    logFile,
  );
}

beforeAll(async () => {
  database = await freshPostgresDatabase('provisioning_restart');
  key = await loadOrCreateLocalKey(dataDir);
  host = await startTestHost({
    name: 'provisioning-restart',
    database: { url: database.url },
    bus: 'kafka',
    modules: (deps) => [
      createIpamService({
        ...deps,
        source: 'ipam',
        config: { ...defaultIpamConfig, IPAM_EXPERIMENT_RANGE: '10.64.99.50-10.64.99.79' },
      }),
      createQuotaService({
        ...deps,
        source: 'quota',
        config: {
          ...defaultQuotaConfig,
          QUOTA_ENFORCE_RESERVATIONS: false,
          QUOTA_MAX_CONTAINERS: 30,
          QUOTA_MAX_ADDRESSES: 30,
        },
      }),
    ],
  });
  const t0 = Date.now();
  provisioning = await startProvisioning();
  firstReadyMs = Date.now() - t0;
  // quota learns the nodes from the process's node.registered over Kafka.
  await eventually(
    async () =>
      (await host.db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM quota.node WHERE name IN ('node1','node2')`)
        .length === NODES.length,
    60_000,
    'quota to learn node1 and node2',
  );
});

afterAll(async () => {
  await provisioning?.stop();
  await host?.stop();
  await database?.drop();
  for (const d of Object.values(dockers)) {
    for (const c of await d.listOwned(platform)) await d.remove(c.dockerId, true);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Everything agrees, or an error saying what does not yet. */
async function converged(operationId: string) {
  const op = (await call(user, 'user', `/v1/operations/${operationId}`)) as Operation;
  if (op.state !== 'succeeded' && op.state !== 'partially_succeeded')
    throw new Error(`operation ${op.state}`);
  const recorded = ((await call(user, 'user', '/v1/containers?limit=500')) as { items: Container[] }).items;
  const notRunning = recorded.filter((c) => c.state !== 'running');
  if (notRunning.length > 0) throw new Error(`recorded but not running: ${JSON.stringify(notRunning)}`);
  const onNodes = await owned();
  const byId = new Map(onNodes.map((c) => [c.containerId, c]));
  const missing = recorded.filter(
    (c) => byId.get(c.id)?.state !== 'running' || byId.get(c.id)?.node !== c.node,
  );
  if (missing.length > 0)
    throw new Error(`recorded running, not running on its node: ${JSON.stringify(missing)}`);
  const ids = new Set(recorded.map((c) => c.id));
  const orphans = onNodes.filter((c) => !ids.has(c.containerId));
  if (orphans.length > 0)
    throw new Error(`on a node, not recorded: ${orphans.map((c) => c.name).join(', ')}`);
  const allocations = (await hostJson<{ items: Allocation[] }>('/v1/pools/experiment/allocations?limit=500'))
    .items;
  const held = allocations.filter((a) => a.state !== 'bound');
  if (held.length > 0) throw new Error(`addresses still held: ${held.map((a) => a.ip).join(', ')}`);
  const boundTo = allocations.map((a) => a.containerId).sort();
  if (JSON.stringify(boundTo) !== JSON.stringify([...ids].sort()))
    throw new Error(`bound addresses (${boundTo.length}) ≠ running containers (${ids.size})`);
  const usage = await hostJson<Usage>(`/v1/users/${user}/usage`);
  if (usage.containers.held !== 0 || usage.addresses.held !== 0 || usage.containers.inUse !== ids.size)
    throw new Error(`quota: ${JSON.stringify(usage)} with ${ids.size} running`);
  return { op, recorded, onNodes, allocations, usage };
}

test('killed during a batch of 20 and started again, provisioning converges within 60 s with nothing left held', async () => {
  const started = (await call(user, 'user', '/v1/batches', {
    method: 'POST',
    body: JSON.stringify({
      namePrefix: prefix,
      count: COUNT,
      image: 'testbed/busybox',
      nodes: NODES,
      baseIp: '10.64.99.50',
      placement: 'spread',
    }),
  })) as Operation;

  // Some but not all containers exist on the daemons, a few of them running: kill the process there.
  await eventually(
    async () => {
      const on = await owned();
      if (on.length >= COUNT) throw new Error('the batch finished before the kill');
      return on.filter((c) => c.state === 'running').length >= 2;
    },
    120_000,
    'the batch to be under way on the daemons',
  );
  provisioning!.signal('SIGKILL');
  const killedAt = Date.now();
  await provisioning!.exited;
  const atKill = await owned();
  const rowsAtKill = await host.db.prisma.$queryRaw<{ state: string; n: number }[]>`
    SELECT state, count(*)::int AS n FROM provisioning.container GROUP BY state ORDER BY state`;
  const states = (xs: { state: string }[]) => {
    const n = new Map<string, number>();
    for (const x of xs) n.set(x.state, (n.get(x.state) ?? 0) + 1);
    return [...n].map(([k, v]) => `${v} ${k}`);
  };
  console.log(
    `killed with ${atKill.length} containers on the daemons (${states(atKill).join(', ')}); ` +
      `records: ${rowsAtKill.map((r) => `${r.n} ${r.state}`).join(', ')}`,
  );
  expect(atKill.length).toBeLessThan(COUNT);
  const [opAtKill] = await host.db.prisma.$queryRaw<{ state: string }[]>`
    SELECT state FROM provisioning.operation WHERE id = ${started.id}::uuid`;
  expect(opAtKill!.state).toBe('running');

  const restartedAt = Date.now();
  provisioning = await startProvisioning();
  const readyAt = Date.now();
  let result: Awaited<ReturnType<typeof converged>>;
  try {
    result = await eventually(
      () => converged(started.id),
      CONVERGE_MS - (readyAt - restartedAt),
      'convergence',
    );
  } catch (err) {
    console.log(`provisioning's log:\n${provisioning.logTail(60)}`);
    throw err;
  }
  const convergedAt = Date.now();
  console.log(
    `operation ${result.op.state}: ${result.recorded.length} running; converged ${convergedAt - restartedAt} ms after the restart ` +
      `(ready after ${readyAt - restartedAt} ms, ${convergedAt - killedAt} ms after the kill; the first start was ready after ${firstReadyMs} ms)`,
  );
  expect(convergedAt - restartedAt).toBeLessThanOrEqual(CONVERGE_MS);
  // Every item is idempotent (a running container is kept, a created one made again), so none fails.
  expect(result.op.state).toBe('succeeded');
  expect(result.recorded).toHaveLength(COUNT);
  expect(result.op.items.every((i) => i.state === 'running')).toBe(true);
  expect(result.onNodes).toHaveLength(COUNT);
  expect(result.usage.containers).toMatchObject({ inUse: COUNT, held: 0 });
  expect(result.allocations.map((a) => a.ip)).toEqual(
    Array.from({ length: COUNT }, (_, i) => `10.64.99.${50 + i}`),
  );
});
