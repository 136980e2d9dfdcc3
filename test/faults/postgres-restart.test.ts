/**
 * Fault 3: Postgres crashed (`pg_ctl stop -m immediate`: every backend killed, no checkpoint)
 * during a batch of 20 and started again 3 s later. The cluster is a private one of this file's
 * own (test/support/private-postgres.ts, a temporary folder and a free loopback port): the rig's
 * shared Postgres is never restarted. Once it is back, every operation must end (a failed item
 * with its reason, its address and quota given back), and the records, ipam, quota, the node and
 * the bus must agree.
 *
 * The rig's Kafka (a namespace of this file's own); the node is a private Docker daemon of this
 * file's own; subnet 10.66.3.0/24 belongs to this file alone.
 */
import { rigEnv } from '@testbed/test-support/rig';
import { startPrivatePostgres, type PrivatePostgres } from '@testbed/test-support/private-postgres';
import { awaitConvergence, checkInvariants } from './invariants';
import { startBatchFault, type BatchFault } from './batch-fault';
import { COUNT, runningOnNode, secondsSince, waitMidway } from './platform';

jest.setTimeout(480_000);

const DOWN_MS = 3000;
let postgres: PrivatePostgres | undefined;
let fault: BatchFault | undefined;

beforeAll(async () => {
  postgres = await startPrivatePostgres({ database: 'fault_postgres' });
  fault = await startBatchFault({
    name: 'fault-postgres',
    node: 'fault3',
    subnet: 3,
    databaseUrl: postgres.url,
    brokers: rigEnv('KAFKA_BROKERS').KAFKA_BROKERS!.split(','),
  });
});

afterAll(async () => {
  if (postgres && !postgres.running()) await postgres.start().catch(() => undefined);
  await fault?.stop().catch(() => undefined);
  await postgres?.destroy();
});

test('Postgres crashed during a batch of 20 and started again: every operation ends with a reason, nothing leaked or doubled', async () => {
  const f = fault!;
  const op = await f.startBatch();
  await waitMidway(f.dockerd.docker, f.platformId);

  await postgres!.crash();
  const crashedAt = Date.now();
  const atCrash = await runningOnNode(f.dockerd.docker, f.platformId);
  expect(atCrash.running).toBeLessThan(COUNT);
  await new Promise((r) => setTimeout(r, DOWN_MS));
  await postgres!.start();
  const backAt = Date.now();

  let converged: Awaited<ReturnType<typeof awaitConvergence>>;
  try {
    converged = await awaitConvergence(f.input, 180_000);
  } catch (err) {
    console.log(`postgres's log:\n${postgres!.logTail(3000)}`);
    throw err;
  }
  const final = converged.snapshot.operations.find((o) => o.id === op.id)!;
  const items = final.items as { state: string }[];
  const running = items.filter((i) => i.state === 'running').length;
  console.log(
    `fault postgres-restart: converged in ${secondsSince(backAt)} s after Postgres was back (${secondsSince(crashedAt)} s after the crash; ${atCrash.running} of ${COUNT} running at the crash; the batch ${final.state}, ${running} of ${COUNT} running)`,
  );
  expect(['succeeded', 'partially_succeeded', 'failed']).toContain(final.state);
  expect(items).toHaveLength(COUNT);
  expect(converged.snapshot.live).toHaveLength(running);

  // The bus check covered the saga's events: each container's start reached quota at least.
  expect(converged.snapshot.deliveries).toBeGreaterThanOrEqual(converged.snapshot.live.length);
  expect(converged.snapshot.deliveries).toBeGreaterThan(0);

  await new Promise((r) => setTimeout(r, 5000));
  expect((await checkInvariants(f.input)).violations).toEqual([]);
});
