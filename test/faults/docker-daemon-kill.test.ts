/**
 * Fault 4: the node's Docker daemon SIGKILLed during a batch of 20 and started again 3 s later
 * on the same data. The daemon is a private one of this file's own (test/support/private-dockerd.ts:
 * its own data root, exec root, unix socket, cgroup parent and veth pair, `--bridge=none
 * --iptables=false --ip6tables=false`, testbed/busybox copied in from a rig node): the rig's
 * nodes are never touched. Started again without live-restore (as the rig's nodes run), the
 * daemon stops the containers that ran before; so after the fault every operation must end (a
 * failed item with its reason), each record must say what Docker says, and the addresses, quota
 * and events must match the containers that exist.
 *
 * The rig's Postgres (a fresh database) and Kafka (a namespace of this file's own); subnet
 * 10.66.4.0/24 belongs to this file alone.
 */
import { freshPostgresDatabase, rigEnv } from '@testbed/test-support/rig';
import { awaitConvergence, checkInvariants } from './invariants';
import { startBatchFault, type BatchFault } from './batch-fault';
import { COUNT, secondsSince, waitMidway } from './platform';

jest.setTimeout(480_000);

const DOWN_MS = 3000;
let database: Awaited<ReturnType<typeof freshPostgresDatabase>> | undefined;
let fault: BatchFault | undefined;

beforeAll(async () => {
  database = await freshPostgresDatabase('fault_docker_kill');
  fault = await startBatchFault({
    name: 'fault-dockerd',
    node: 'fault4',
    subnet: 4,
    databaseUrl: database.url,
    brokers: rigEnv('KAFKA_BROKERS').KAFKA_BROKERS!.split(','),
  });
});

afterAll(async () => {
  await fault?.stop().catch(() => undefined);
  await database?.drop().catch(() => undefined);
});

test("the node's dockerd SIGKILLed during a batch of 20 and started again: operations end with reasons, records match Docker, nothing leaked", async () => {
  const f = fault!;
  const op = await f.startBatch();
  await waitMidway(f.dockerd.docker, f.platformId);

  await f.dockerd.kill();
  const killedAt = Date.now();
  expect(f.dockerd.running()).toBe(false);
  await new Promise((r) => setTimeout(r, DOWN_MS));
  await f.dockerd.start();
  const backAt = Date.now();

  let converged: Awaited<ReturnType<typeof awaitConvergence>>;
  try {
    converged = await awaitConvergence(f.input, 180_000);
  } catch (err) {
    console.log(`the daemon's log:\n${f.dockerd.logTail(3000)}`);
    throw err;
  }
  const final = converged.snapshot.operations.find((o) => o.id === op.id)!;
  const items = final.items as { state: string; error: string | null }[];
  // Each distinct reason once (the container's name left out).
  const reasons = [
    ...new Set(items.flatMap((i) => (i.error ? [i.error.replace(/(container) \S+:/, '$1 …:')] : []))),
  ];
  const byState = (xs: { state: string }[]) =>
    Object.entries(
      xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x.state]: (m[x.state] ?? 0) + 1 }), {}),
    )
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
  console.log(
    `fault docker-daemon-kill: converged in ${secondsSince(backAt)} s after the daemon was back (${secondsSince(killedAt)} s after the kill; the batch ${final.state}: items ${byState(items)}; records ${byState(converged.snapshot.live) || 'none'}; reasons: ${reasons.join(' | ') || 'none'})`,
  );
  expect(['succeeded', 'partially_succeeded', 'failed']).toContain(final.state);
  expect(items).toHaveLength(COUNT);
  expect(converged.snapshot.onNode).toHaveLength(converged.snapshot.live.length);

  // The bus check covered the saga's events: each container's start reached quota at least.
  expect(converged.snapshot.deliveries).toBeGreaterThanOrEqual(converged.snapshot.live.length);
  expect(converged.snapshot.deliveries).toBeGreaterThan(0);

  await new Promise((r) => setTimeout(r, 5000));
  expect((await checkInvariants(f.input)).violations).toEqual([]);
});
