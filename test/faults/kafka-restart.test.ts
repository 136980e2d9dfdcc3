/**
 * Fault 2: the Kafka broker SIGKILLed during a batch of 20 and started again on the same data
 * 5 s later. The broker is a private one of this file's own (test/support/private-kafka.ts): the
 * rig's shared broker is never touched. Once the broker is back the platform must converge: the
 * batch succeeded (no container's creation needs Kafka), every outbox row published and processed
 * by each consumer subscribed to its topic (quota counts every started container), nothing held.
 *
 * The rig's Postgres (a fresh database); the node is a private Docker daemon of this file's own;
 * subnet 10.66.2.0/24 belongs to this file alone.
 */
import { spawnSync } from 'node:child_process';
import { freshPostgresDatabase } from '@testbed/test-support/rig';
import { startPrivateKafka, type PrivateKafka } from '@testbed/test-support/private-kafka';
import { awaitConvergence, checkInvariants } from './invariants';
import { startBatchFault, type BatchFault } from './batch-fault';
import { COUNT, runningOnNode, secondsSince, waitMidway } from './platform';

jest.setTimeout(480_000);

const DOWN_MS = 5000;
let database: Awaited<ReturnType<typeof freshPostgresDatabase>> | undefined;
let kafka: PrivateKafka | undefined;
let fault: BatchFault | undefined;

/** The pid listening on the broker's port (the JVM private-kafka started). */
function brokerPid(port: number): number {
  const r = spawnSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8', timeout: 10_000 });
  const pid = /pid=(\d+)/.exec(r.stdout)?.[1];
  if (!pid) throw new Error(`nothing listens on 127.0.0.1:${port}: ${r.stdout}${r.stderr}`);
  return Number(pid);
}

beforeAll(async () => {
  kafka = await startPrivateKafka();
  database = await freshPostgresDatabase('fault_kafka_restart');
  fault = await startBatchFault({
    name: 'fault-kafka',
    node: 'fault2',
    subnet: 2,
    databaseUrl: database.url,
    brokers: kafka.brokers,
  });
});

afterAll(async () => {
  if (kafka && !kafka.running()) await kafka.start().catch(() => undefined);
  await fault?.stop().catch(() => undefined);
  await database?.drop().catch(() => undefined);
  await kafka?.destroy();
});

test('the broker SIGKILLed during a batch of 20 and started again: the batch succeeds, no event lost, nothing leaked', async () => {
  const f = fault!;
  const op = await f.startBatch();
  await waitMidway(f.dockerd.docker, f.platformId);

  const pid = brokerPid(kafka!.port);
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  const gone = Date.now() + 15_000;
  while (kafka!.running() && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
  expect(kafka!.running()).toBe(false);
  const atKill = await runningOnNode(f.dockerd.docker, f.platformId);
  expect(atKill.running).toBeLessThan(COUNT);

  await new Promise((r) => setTimeout(r, DOWN_MS));
  // While the broker is away, what the platform emits waits in the outbox.
  const waiting = await f.platform.db.prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM bus.outbox WHERE published_at IS NULL`;
  await kafka!.start();
  const backAt = Date.now();

  const converged = await awaitConvergence(f.input, 180_000);
  console.log(
    `fault kafka-restart: converged in ${secondsSince(backAt)} s after the broker was back (${secondsSince(killedAt)} s after the kill, down ${((backAt - killedAt) / 1000).toFixed(1)} s; ${atKill.running} of ${COUNT} running at the kill, ${waiting[0]!.n} outbox rows waiting)`,
  );
  const final = converged.snapshot.operations.find((o) => o.id === op.id)!;
  expect(final.state).toBe('succeeded');
  expect(converged.snapshot.live).toHaveLength(COUNT);
  expect(converged.snapshot.live.every((c) => c.state === 'running')).toBe(true);
  expect(converged.snapshot.outbox.total).toBeGreaterThan(COUNT);

  // The bus check covered the saga's events: each container's start reached quota at least.
  expect(converged.snapshot.deliveries).toBeGreaterThanOrEqual(converged.snapshot.live.length);
  expect(converged.snapshot.deliveries).toBeGreaterThan(0);

  await new Promise((r) => setTimeout(r, 5000));
  expect((await checkInvariants(f.input)).violations).toEqual([]);
});
