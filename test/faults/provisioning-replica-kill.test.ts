/**
 * Fault 1: two provisioning replicas (the standalone process, twice) on one Postgres database and
 * one Kafka namespace; the replica working on a batch of 20 is SIGKILLed in its middle. The other
 * takes the operation over once the dead worker's claim is stale, and the batch finishes: 20
 * containers running, recorded once each, every address bound and counted, nothing held, every
 * event published and processed.
 *
 * Outside Kubernetes every standalone replica leads (leaderElectorFromEnv), so "the leader" of
 * the batch is the replica holding its claim: the one whose Docker calls start its containers
 * (`provisioning_docker_call_seconds_count{call="start container"}` on its /metrics).
 *
 * The rig's Postgres (a fresh database) and Kafka (a namespace of this file's own); the node is a
 * private Docker daemon of this file's own; subnet 10.66.1.0/24 belongs to this file alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { freshPostgresDatabase, randomSuffix, rigEnv } from '@testbed/test-support/rig';
import { startServiceProcess, type ServiceProcess } from '@testbed/test-support/service-process';
import { startPrivateDockerd, type PrivateDockerd } from '@testbed/test-support/private-dockerd';
import { awaitConvergence, checkInvariants, type InvariantInput } from './invariants';
import {
  COUNT,
  USER,
  consumersByTopic,
  faultSubnet,
  provisioningEnv,
  provisioningModuleForSubscriptions,
  runningOnNode,
  secondsSince,
  startBatch,
  startFaultPlatform,
  waitForQuotaNode,
  waitMidway,
  type FaultPlatform,
} from './platform';

jest.setTimeout(420_000);

const NODE = 'fault1';
const subnet = faultSubnet(1);
const platformId = `fault-${randomSuffix()}`;
const namespace = `test-${randomSuffix()}`;
let database: Awaited<ReturnType<typeof freshPostgresDatabase>> | undefined;
let dockerd: PrivateDockerd | undefined;
let platform: FaultPlatform | undefined;
const replicas: { name: string; process: ServiceProcess }[] = [];

async function startReplica(name: string): Promise<ServiceProcess> {
  const env = rigEnv('KAFKA_BROKERS');
  const proc = await startServiceProcess(
    'provisioning',
    {
      DATABASE_URL: database!.url,
      KAFKA_BROKERS: env.KAFKA_BROKERS!,
      KAFKA_NAMESPACE: namespace,
      DATA_DIR: platform!.dataDir,
      LOG_LEVEL: 'info',
      PROVISIONING_NODES_FROM_ENV: 'true',
      TESTBED_NODES: NODE,
      [`${NODE.toUpperCase()}_DOCKER_HOST`]: dockerd!.dockerHost,
      [`${NODE.toUpperCase()}_MACVLAN_PARENT`]: dockerd!.macvlanParent,
      DOCKER_TLS_CA: '',
      DOCKER_TLS_CERT: '',
      DOCKER_TLS_KEY: '',
      ...provisioningEnv(subnet, platformId),
    },
    path.join(platform!.dataDir, `${name}.log`),
  );
  replicas.push({ name, process: proc });
  return proc;
}

/** Containers this replica's Docker calls started so far (its /metrics). */
async function startsBy(proc: ServiceProcess): Promise<number> {
  const res = await fetch(`${proc.url}/metrics`, {
    headers: { authorization: `Bearer ${await platform!.token('operator', 'operator')}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let n = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('provisioning_docker_call_seconds_count{') && line.includes('call="start container"'))
      n += Number(line.split(' ').pop());
  return n;
}

beforeAll(async () => {
  dockerd = await startPrivateDockerd();
  database = await freshPostgresDatabase('fault_replica_kill');
  platform = await startFaultPlatform({
    name: 'fault-replica-kill',
    databaseUrl: database.url,
    brokers: rigEnv('KAFKA_BROKERS').KAFKA_BROKERS!.split(','),
    namespace,
    subnet,
    platformId,
    provisioning: false,
    // The replicas relay provisioning's rows; this host relays ipam's and quota's.
    sources: ['ipam', 'quota'],
  });
  // Side by side; a replica that started is stopped in afterAll even when the other failed to.
  const started = await Promise.allSettled([startReplica('replica-a'), startReplica('replica-b')]);
  for (const r of started) if (r.status === 'rejected') throw r.reason;
  await waitForQuotaNode(platform, NODE);
});

afterAll(async () => {
  for (const r of replicas) await r.process.stop(10_000).catch(() => undefined);
  await platform?.stop().catch(() => undefined);
  await database?.drop().catch(() => undefined);
  await dockerd?.destroy();
  if (platform) fs.rmSync(platform.dataDir, { recursive: true, force: true });
});

test('the replica working on a batch of 20 SIGKILLed midway: the other takes over and the batch finishes, nothing leaked', async () => {
  const [a, b] = replicas;
  const input: InvariantInput = {
    db: platform!.db,
    docker: dockerd!.docker,
    node: NODE,
    platformId,
    user: USER,
    consumers: consumersByTopic([...platform!.modules, provisioningModuleForSubscriptions(platform!)]),
  };
  const op = await startBatch(
    platform!,
    { prefix: `rk-${randomSuffix()}`, node: NODE, subnet },
    a!.process.url,
  );
  await waitMidway(dockerd!.docker, platformId);
  const [startsA, startsB] = await Promise.all([startsBy(a!.process), startsBy(b!.process)]);
  expect(startsA + startsB).toBeGreaterThan(0);
  const [worker, survivor] = startsA >= startsB ? [a!, b!] : [b!, a!];
  expect(Math.min(startsA, startsB)).toBe(0); // one replica works on the batch, not both

  worker.process.signal('SIGKILL');
  const killedAt = Date.now();
  await worker.process.exited;
  const atKill = await runningOnNode(dockerd!.docker, platformId);
  expect(atKill.running).toBeLessThan(COUNT);
  const stateAtKill = await platform!.db.prisma.$queryRaw<{ state: string }[]>`
    SELECT state FROM provisioning.operation WHERE id = ${op.id}::uuid`;
  expect(stateAtKill[0]?.state).toBe('running');

  let converged: Awaited<ReturnType<typeof awaitConvergence>>;
  try {
    converged = await awaitConvergence(input, 120_000);
  } catch (err) {
    console.log(`${survivor.name}'s log:\n${survivor.process.logTail(80)}`);
    throw err;
  }
  console.log(
    `fault provisioning-replica-kill: converged in ${secondsSince(killedAt)} s (${worker.name} killed with ${atKill.running} of ${COUNT} running; ${survivor.name} finished the batch)`,
  );
  const final = converged.snapshot.operations.find((o) => o.id === op.id)!;
  expect(final.state).toBe('succeeded');
  expect(converged.snapshot.live).toHaveLength(COUNT);
  expect(converged.snapshot.live.every((c) => c.state === 'running')).toBe(true);
  expect(converged.snapshot.onNode.filter((c) => c.State === 'running')).toHaveLength(COUNT);
  // The survivor took the operation over: its own Docker calls started the rest (all but the one
  // start the dead worker may have had in flight when it died, one at a time per node).
  expect(await startsBy(survivor.process)).toBeGreaterThanOrEqual(COUNT - atKill.running - 1);
  expect(converged.snapshot.outbox.total).toBeGreaterThan(COUNT);

  // And it stays so (no late reconciler removing or re-creating anything).
  // The bus check covered the saga's events: each container's start reached quota at least.
  expect(converged.snapshot.deliveries).toBeGreaterThanOrEqual(converged.snapshot.live.length);
  expect(converged.snapshot.deliveries).toBeGreaterThan(0);

  await new Promise((r) => setTimeout(r, 5000));
  expect((await checkInvariants(input)).violations).toEqual([]);
});
