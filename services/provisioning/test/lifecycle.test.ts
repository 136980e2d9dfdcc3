/**
 * What happens to containers after they are made: a reservation's end (and the resume of stops a
 * dead process left), drift (an orphan, a kill by hand, a daemon that stops answering) and live
 * limits. ipam, quota and provisioning in one process on a fresh database of the rig's Postgres
 * and the rig's Kafka, against the rig's TLS daemons. Cancel is in cancel.kafka.test.ts.
 * Addresses 10.64.99.220-239 belong to this file alone: ipam hands out 220-237, the containers
 * made by hand here use 238 and 239.
 */
import { randomUUID } from 'node:crypto';
import { createLogger, systemClock } from '@testbed/kit';
import { ManualClock } from '@testbed/test-support/clock';
import { createIpamService, defaultIpamConfig } from '@testbed/ipam';
import { createQuotaService, defaultQuotaConfig, RESERVATION_EVENTS } from '@testbed/quota';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { TcpProxy } from '@testbed/test-support/tcp-proxy';
import { eventually } from '@testbed/test-support/wait';
import { rigEndpoint, testPlatform } from '@testbed/test-support/fixtures/provisioning';
import { createProvisioningService, defaultProvisioningConfig, PROVISIONING_EVENTS } from '../src';
import { NodeDocker } from '../src/docker/node-docker';
import { NodeDockers } from '../src/docker/node-dockers';
import { applyDockerEvent, reconcile } from '../src/use-cases/drift';
import type { ProvisioningContext } from '../src/context';
import { insertOperation } from '../src/store/operation-store';
import { waitForOperation } from '../src/use-cases/operations';

jest.setTimeout(180_000);

const platform = testPlatform();
const nodes = ['node1', 'node2', 'node3'];
const dockers = Object.fromEntries(nodes.map((n) => [n, new NodeDocker(rigEndpoint(n), 30_000)]));
/** quota alone runs on this clock, so a reservation's end passes when the test says so. */
const quotaClock = new ManualClock(new Date());
const provisioningConfig = {
  ...defaultProvisioningConfig,
  PROVISIONING_PLATFORM_ID: platform,
  // One create at a time per node: an 8-container batch runs long enough to be cancelled midway.
  PROVISIONING_PARALLELISM_PER_NODE: 1,
  PROVISIONING_RECONCILE_INTERVAL_MS: 1000,
  PROVISIONING_HEALTH_INTERVAL_MS: 1000,
  PROVISIONING_DOCKER_TIMEOUT_MS: 10_000,
};
/** node3 is reached through this relay, so its daemon can become unreachable to this file alone. */
const node3Relay = new TcpProxy({
  host: '127.0.0.1',
  port: Number(new URL(rigEndpoint('node3').dockerHost.replace(/^tcp:/, 'http:')).port),
});
let host: TestHost;

const as = (user: string) => (path: string, init?: RequestInit) => host.call(user, 'user', path, init);
const op = (path: string, init?: RequestInit) => host.call('operator', 'operator', path, init);
const json = (body: unknown) => ({ body: JSON.stringify(body) });

type Item = {
  name: string;
  node: string;
  ip: string;
  state: string;
  containerId: string;
  error: string | null;
};
type Operation = { id: string; state: string; error: unknown; items: Item[] };
type Container = { id: string; state: string; cpuMillis: number; memoryBytes: number; node: string };
type Use = { limit: number; inUse: number; held: number };
type Usage = { containers: Use; cpuMillis: Use; memoryBytes: Use; addresses: Use };

async function create(user: string, body: object): Promise<Operation> {
  const res = await as(user)('/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=60' },
    ...json({ image: 'testbed/busybox', ...body }),
  });
  const operation = (await res.json()) as Operation;
  expect(operation.state).toBe('succeeded');
  return operation;
}
const container = async (user: string, id: string) =>
  (await as(user)(`/v1/containers/${id}`)).json() as Promise<Container>;
const usage = async (user: string) => (await op(`/v1/users/${user}/usage`)).json() as Promise<Usage>;
const allocationsOf = async (owner: string) =>
  (
    (await (await op(`/v1/pools/experiment/allocations?owner=${owner}`)).json()) as {
      items: { ip: string; state: string; containerId: string | null }[];
    }
  ).items;
const onDaemon = async (node: string, containerId: string) =>
  (await dockers[node]!.listOwned(platform)).find((c) => c.containerId === containerId);
const nodeView = async (name: string) =>
  (await op(`/v1/nodes/${name}`)).json() as Promise<{
    health: { state: string; error: string | null };
    network: string | null;
  }>;

/** Event types the outbox holds for one key of a topic, in order. */
async function eventTypes(topic: string, key: string): Promise<string[]> {
  const rows = await host.db.prisma.$queryRaw<{ type: string }[]>`
    SELECT event->>'type' AS type FROM bus.outbox WHERE topic = ${topic} AND key = ${key} ORDER BY seq`;
  return rows.map((r) => r.type);
}

/** A container of this platform made on the daemon directly, as a saga that ended may leave one. */
async function handMade(
  node: string,
  ip: string,
  operationId: string,
  name: string,
  id: string = randomUUID(),
) {
  const network = (await nodeView(node)).network!;
  return dockers[node]!.createAndStart({
    id,
    name: `${name}-${platform}`,
    image: 'testbed/busybox',
    network,
    ip,
    cpuMillis: 100,
    memoryBytes: 32 * 1024 * 1024,
    pidsLimit: 64,
    owner: 'nobody',
    operationId,
    platform,
    sshPublicKeys: [],
  });
}

beforeAll(async () => {
  const relayPort = await node3Relay.open();
  host = await startTestHost({
    name: 'provisioning_lifecycle',
    database: 'postgres',
    bus: 'kafka',
    modules: (deps) => [
      createIpamService({
        ...deps,
        source: 'ipam',
        config: { ...defaultIpamConfig, IPAM_EXPERIMENT_RANGE: '10.64.99.220-10.64.99.237' },
      }),
      createQuotaService({
        ...deps,
        clock: quotaClock,
        source: 'quota',
        config: {
          ...defaultQuotaConfig,
          QUOTA_ENFORCE_RESERVATIONS: false,
          QUOTA_SCHEDULER_INTERVAL_MS: 100,
        },
      }),
      createProvisioningService({ ...deps, source: 'provisioning', config: provisioningConfig }),
    ],
  });
  for (const n of nodes) {
    const e = rigEndpoint(n);
    const dockerHost = n === 'node3' ? `tcp://127.0.0.1:${relayPort}` : e.dockerHost;
    const res = await op('/v1/nodes', {
      method: 'POST',
      ...json({ name: n, dockerHost, tls: e.tls, macvlanParent: e.macvlanParent }),
    });
    expect(res.status).toBe(201);
  }
  await eventually(
    async () => (await Promise.all(nodes.map(nodeView))).every((v) => v.health.state === 'up' && v.network),
    20_000,
    'nodes up with their networks',
  );
});

afterAll(async () => {
  await host?.stop();
  await node3Relay.close();
  for (const d of Object.values(dockers))
    for (const c of await d.listOwned(platform)) await d.remove(c.dockerId, true);
});

describe('reservation end', () => {
  test('reservation.ended stops the user’s containers on the reservation’s nodes, and only those', async () => {
    expect((await op('/v1/users/dave/quota', { method: 'PUT', body: '{}' })).status).toBe(201);
    const start = quotaClock.now();
    const end = new Date(start.getTime() + 60_000);
    const booked = await host.call('reservation-system', 'service', '/v1/reservations', {
      method: 'POST',
      ...json({ user: 'dave', nodes: ['node1'], start: start.toISOString(), end: end.toISOString() }),
    });
    expect(booked.status).toBe(201);
    const { id: reservationId } = (await booked.json()) as { id: string };

    const mine = (await create('dave', { node: 'node1', name: `d1-${platform}` })).items[0]!;
    const elsewhere = (await create('dave', { node: 'node2', name: `d2-${platform}` })).items[0]!;
    const others = (await create('erin', { node: 'node1', name: `e1-${platform}` })).items[0]!;

    quotaClock.set(end);
    await eventually(
      async () => (await eventTypes(RESERVATION_EVENTS, reservationId)).includes('reservation.ended'),
      10_000,
      'reservation.ended from quota’s scheduler',
    );
    const stopped = await eventually(
      async () => {
        const c = await container('dave', mine.containerId);
        return c.state === 'stopped' || c.state === 'exited' ? c : undefined;
      },
      30_000,
      'dave’s node1 container stopped',
    );
    expect(['stopped', 'exited']).toContain(stopped.state);
    const dockerId = (await onDaemon('node1', mine.containerId))!.dockerId;
    expect((await dockers.node1!.inspect(dockerId))!.State.Running).toBe(false);

    expect((await container('dave', elsewhere.containerId)).state).toBe('running');
    expect((await container('erin', others.containerId)).state).toBe('running');
    expect((await onDaemon('node2', elsewhere.containerId))!.state).toBe('running');
    expect((await onDaemon('node1', others.containerId))!.state).toBe('running');

    // The stops were an operation of their own, recorded with the event's consumption.
    const ops = (await (await op('/v1/operations?owner=dave&limit=500')).json()) as {
      items: {
        kind: string;
        state: string;
        request: { reservationId: string };
        result: { stopped: string[] };
      }[];
    };
    const stop = ops.items.find((o) => o.kind === 'reservation.stop')!;
    expect(stop).toMatchObject({
      state: 'succeeded',
      request: { reservationId },
      result: { stopped: [mine.containerId] },
    });
  });

  test('stops recorded by a process that died before making them are made by the resume task', async () => {
    const mine = (await create('fay', { node: 'node1', name: `f1-${platform}` })).items[0]!;
    // What a process leaves when it dies right after consuming reservation.ended: the operation,
    // running, with a claim nobody renews.
    const id = randomUUID();
    await host.db.prisma.operation.create({
      data: {
        id,
        kind: 'reservation.stop',
        state: 'running',
        owner: 'fay',
        request: { reservationId: randomUUID(), user: 'fay', nodes: ['node1'] },
        claimedBy: 'a-process-that-died',
        claimedAt: new Date(Date.now() - 60_000),
      },
    });
    await eventually(
      async () => ['stopped', 'exited'].includes((await container('fay', mine.containerId)).state),
      30_000,
      'fay’s container stopped by the resumed operation',
    );
    const ended = await eventually(
      async () => {
        const o = (await (await op(`/v1/operations/${id}`)).json()) as { state: string };
        return o.state === 'succeeded' ? o : undefined;
      },
      10_000,
      'the stop operation succeeded',
    );
    expect(ended.state).toBe('succeeded');
  });
});

/** A context of this process's own, beside the host's (the same database and config). */
function processContext(db: ProvisioningContext['db'] = host.db): ProvisioningContext {
  return {
    db,
    clock: systemClock,
    logger: createLogger({ name: 'lifecycle-reconcile', level: 'silent' }),
    source: 'provisioning',
    config: provisioningConfig,
    dockers: new NodeDockers(10_000, ''),
    metrics: {
      observeDockerCall: () => undefined,
      claimRenewalFailed: () => undefined,
      orphanRemovalFailed: () => undefined,
      rollbackRemovalFailed: () => undefined,
      operationEnded: () => undefined,
    },
    workerId: 'lifecycle-test',
    kick: () => undefined,
  };
}

/** The host's real database, its transactions counted (each `$transaction` asked for). */
function countingTransactions(): { db: ProvisioningContext['db']; readonly transactions: number } {
  let transactions = 0;
  const prisma = new Proxy(host.db.prisma, {
    get(target, key, receiver) {
      if (key === '$transaction') transactions += 1;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return {
    db: { ...host.db, prisma },
    get transactions() {
      return transactions;
    },
  };
}

describe('drift', () => {
  test('containers of the platform on a daemon with no record (their saga ended, or labels that name nothing) are removed', async () => {
    // Labelled with an operation that ended: its saga decided, the container is no one's.
    const ended = await create('nora', { node: 'node1', name: `n-${platform}` });
    const orphan = await handMade('node1', '10.64.99.238', ended.id, 'orphan');
    const stray = await handMade('node1', '10.64.99.239', 'not-an-operation', 'stray', 'not-a-container');
    await eventually(
      async () =>
        !(await dockers.node1!.inspect(orphan.dockerId)) && !(await dockers.node1!.inspect(stray.dockerId)),
      15_000,
      'orphans removed',
    );
  });

  test('a container killed by hand is recorded exited with container.died; started by hand it runs again', async () => {
    const item = (await create('hank', { node: 'node1', name: `k-${platform}` })).items[0]!;
    const { dockerId } = (await onDaemon('node1', item.containerId))!;
    await dockers.node1!.docker.getContainer(dockerId).kill();
    await eventually(
      async () => (await container('hank', item.containerId)).state === 'exited',
      10_000,
      'recorded exited',
    );
    expect(await eventTypes(PROVISIONING_EVENTS, item.containerId)).toContain('container.died');

    await dockers.node1!.docker.getContainer(dockerId).start();
    await eventually(
      async () => (await container('hank', item.containerId)).state === 'running',
      10_000,
      'recorded running again',
    );
  });

  test("a container's own start event after its running record is not looked up; after a die it is again", async () => {
    const item = (await create('sam', { node: 'node1', name: `s-${platform}` })).items[0]!;
    // A Docker event looked up is one transaction.
    const counted = countingTransactions();
    const ctx = { ...processContext(counted.db), startedHere: new Set([item.containerId]) };
    const transactions = () => counted.transactions;
    const event = (action: string) => applyDockerEvent(ctx, { action, containerId: item.containerId });

    await event('start');
    expect(transactions()).toBe(0);
    expect(ctx.startedHere.has(item.containerId)).toBe(false);
    await event('start'); // the next start of it is looked up
    expect(transactions()).toBe(1);

    ctx.startedHere.add(item.containerId);
    await event('die');
    expect(ctx.startedHere.has(item.containerId)).toBe(false);
    expect(transactions()).toBe(2);
    await event('start');
    expect(transactions()).toBe(3);
    expect((await container('sam', item.containerId)).state).toBe('running');
  });

  test('a node whose daemon does not answer is marked down', async () => {
    const e = rigEndpoint('node3');
    const res = await op('/v1/nodes', {
      method: 'POST',
      ...json({ name: 'gone', dockerHost: 'tcp://127.0.0.1:1', tls: e.tls, macvlanParent: 'tb3' }),
    });
    expect(res.status).toBe(201);
    const gone = await eventually(
      async () => {
        const v = await nodeView('gone');
        return v.health.state === 'down' ? v : undefined;
      },
      10_000,
      'gone marked down',
    );
    expect(gone.health.error).toMatch(/ECONNREFUSED/);
  });

  let item: Item;

  test('a daemon that stops answering marks its node down and nothing is concluded about its containers', async () => {
    item = (await create('ivy', { node: 'node3', name: `v-${platform}` })).items[0]!;
    await eventually(
      async () => (await allocationsOf('ivy')).some((a) => a.state === 'bound'),
      10_000,
      'address bound',
    );
    await eventually(async () => (await usage('ivy')).containers.inUse === 1, 10_000, 'counted');
    // The same reconcile the leader runs, called here so that passes provably happen meanwhile.
    const ctx = processContext();

    await node3Relay.close();
    expect(await reconcile(ctx)).toEqual({ removedRecords: 0, removedOrphans: 0, failedOrphans: 0 });
    const down = await eventually(
      async () => {
        const v = await nodeView('node3');
        return v.health.state === 'down' ? v : undefined;
      },
      15_000,
      'node3 marked down',
    );
    expect(down.health.error).toMatch(/ECONNREFUSED|socket hang up|ECONNRESET/);
    expect(await reconcile(ctx)).toEqual({ removedRecords: 0, removedOrphans: 0, failedOrphans: 0 });

    expect((await container('ivy', item.containerId)).state).toBe('running');
    expect((await allocationsOf('ivy')).map((a) => [a.ip, a.state])).toEqual([[item.ip, 'bound']]);
    expect((await usage('ivy')).containers.inUse).toBe(1);
    expect(await eventTypes(PROVISIONING_EVENTS, item.containerId)).toEqual(['container.started']);

    await node3Relay.open();
    await eventually(async () => (await nodeView('node3')).health.state === 'up', 15_000, 'node3 up again');
    expect((await container('ivy', item.containerId)).state).toBe('running');
    expect((await onDaemon('node3', item.containerId))!.state).toBe('running');
  });

  test('a kill and a start while the daemon was unreachable (no events seen) are corrected by the reconcile', async () => {
    const direct = dockers.node3!.docker.getContainer((await onDaemon('node3', item.containerId))!.dockerId);
    await node3Relay.close();
    await direct.kill();
    await node3Relay.open();
    await eventually(
      async () => (await container('ivy', item.containerId)).state === 'exited',
      15_000,
      'recorded exited',
    );
    expect(await eventTypes(PROVISIONING_EVENTS, item.containerId)).toEqual([
      'container.started',
      'container.died',
    ]);

    await node3Relay.close();
    await direct.start();
    await node3Relay.open();
    await eventually(
      async () => (await container('ivy', item.containerId)).state === 'running',
      15_000,
      'recorded running again',
    );
  });
});

describe('live limits', () => {
  test('PATCH changes the CPU and memory limits on the daemon and in the record; an empty body is 422', async () => {
    const item = (
      await create('jack', {
        node: 'node2',
        name: `l-${platform}`,
        cpuMillis: 200,
        memoryBytes: 64 * 1024 * 1024,
      })
    ).items[0]!;
    const jack = as('jack');
    const res = await jack(`/v1/containers/${item.containerId}`, {
      method: 'PATCH',
      ...json({ cpuMillis: 300, memoryBytes: 96 * 1024 * 1024 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ cpuMillis: 300, memoryBytes: 96 * 1024 * 1024 });
    const { dockerId } = (await onDaemon('node2', item.containerId))!;
    const info = (await dockers.node2!.inspect(dockerId))!;
    expect(info.HostConfig.NanoCpus).toBe(300_000_000);
    expect(info.HostConfig.Memory).toBe(96 * 1024 * 1024);
    expect(await container('jack', item.containerId)).toMatchObject({
      cpuMillis: 300,
      memoryBytes: 96 * 1024 * 1024,
    });

    const memoryOnly = await jack(`/v1/containers/${item.containerId}`, {
      method: 'PATCH',
      ...json({ memoryBytes: 80 * 1024 * 1024 }),
    });
    expect(await memoryOnly.json()).toMatchObject({ cpuMillis: 300, memoryBytes: 80 * 1024 * 1024 });

    const empty = await jack(`/v1/containers/${item.containerId}`, { method: 'PATCH', ...json({}) });
    expect(empty.status).toBe(422);
    expect(JSON.stringify(await empty.json())).toMatch(/cpuMillis or memoryBytes/);
  });

  test('PATCH is decided by quota: beyond the limits it is a 409 that changes nothing; within them quota follows', async () => {
    expect(
      (
        await op('/v1/users/kim/quota', {
          method: 'PUT',
          ...json({ maxCpuMillis: 1000, maxMemoryBytes: 256 * 1024 * 1024 }),
        })
      ).status,
    ).toBe(201);
    const item = (
      await create('kim', {
        node: 'node2',
        name: `q-${platform}`,
        cpuMillis: 500,
        memoryBytes: 128 * 1024 * 1024,
      })
    ).items[0]!;
    await eventually(async () => (await usage('kim')).cpuMillis.inUse === 500, 10_000, 'counted');
    const dockerId = (await onDaemon('node2', item.containerId))!.dockerId;

    const refused = await as('kim')(`/v1/containers/${item.containerId}`, {
      method: 'PATCH',
      ...json({ cpuMillis: 1500, memoryBytes: 512 * 1024 * 1024 }),
    });
    expect(refused.status).toBe(409);
    const problem = (await refused.json()) as { detail: string; code: string };
    expect(problem.code).toBe('quota-exceeded');
    expect(problem.detail).toMatch(/cpu/i);
    let info = (await dockers.node2!.inspect(dockerId))!;
    expect([info.HostConfig.NanoCpus, info.HostConfig.Memory]).toEqual([500_000_000, 128 * 1024 * 1024]);
    let u = await usage('kim');
    expect([u.cpuMillis.inUse, u.memoryBytes.inUse]).toEqual([500, 128 * 1024 * 1024]);

    const grown = await as('kim')(`/v1/containers/${item.containerId}`, {
      method: 'PATCH',
      ...json({ cpuMillis: 900, memoryBytes: 200 * 1024 * 1024 }),
    });
    expect(grown.status).toBe(200);
    expect(await grown.json()).toMatchObject({ cpuMillis: 900, memoryBytes: 200 * 1024 * 1024 });
    info = (await dockers.node2!.inspect(dockerId))!;
    expect([info.HostConfig.NanoCpus, info.HostConfig.Memory]).toEqual([900_000_000, 200 * 1024 * 1024]);
    u = await usage('kim');
    expect([u.cpuMillis.inUse, u.memoryBytes.inUse]).toEqual([900, 200 * 1024 * 1024]);

    // Shrinking gives the difference back.
    expect(
      (
        await as('kim')(`/v1/containers/${item.containerId}`, {
          method: 'PATCH',
          ...json({ cpuMillis: 200 }),
        })
      ).status,
    ).toBe(200);
    u = await usage('kim');
    expect([u.cpuMillis.inUse, u.memoryBytes.inUse]).toEqual([200, 200 * 1024 * 1024]);
  });
});

describe('Prefer: wait', () => {
  test('an operation another process ends is seen by the poll, and its whole row is read once', async () => {
    const id = randomUUID();
    await host.db.prisma.$transaction((tx) =>
      insertOperation(tx, {
        id,
        kind: 'image.pull',
        state: 'pending',
        owner: 'wes',
        request: {},
        saga: { node: 'nowhere', image: 'testbed/busybox' },
        idempotencyKey: null,
      }),
    );
    const counted = countingTransactions();
    const t0 = Date.now();
    const waiting = waitForOperation(processContext(counted.db), id, 20);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Ended elsewhere: no note of its end reaches this process.
    await host.db.prisma
      .$executeRaw`UPDATE provisioning.operation SET state = 'succeeded' WHERE id = ${id}::uuid`;
    const op = await waiting;
    expect(op.state).toBe('succeeded');
    // Seen at a poll (at most 1 s apart), long before the 20 s the request allowed.
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(counted.transactions).toBe(1);
  });
});
