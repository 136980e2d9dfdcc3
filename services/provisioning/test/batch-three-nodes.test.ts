/**
 * Issue 5, must show: a batch of 30 spread over node1..node3 through the saga on the rig's
 * Postgres and Kafka: every item runs with its name and its address of the ascending block
 * (seen on eth0 inside the container), ipam has each address bound, quota counts 30 containers;
 * deleting the batch removes them all and gives the addresses and the usage back.
 * Addresses 10.64.99.10-49 belong to this file alone; nothing is sent to them.
 */
import { randomSuffix } from '@testbed/test-support/rig';
import type { TestHost } from '@testbed/test-support/test-host';
import { eventually } from '@testbed/test-support/wait';
import {
  rigEndpoint,
  testPlatform,
  startProvisioningHost,
} from '@testbed/test-support/fixtures/provisioning';
import { NodeDocker } from '../src/docker/node-docker';

jest.setTimeout(300_000);

const NODES = ['node1', 'node2', 'node3'];
const BASE = '10.64.99.10';
const COUNT = 30;
const platform = testPlatform();
// Docker names are unique per daemon: a prefix of this run's own keeps concurrent files apart.
const prefix = `tri-${randomSuffix()}`;
const user = 'dana';
const dockers = Object.fromEntries(NODES.map((n) => [n, new NodeDocker(rigEndpoint(n), 30_000)]));
let host: TestHost;

const op = (path: string, init?: RequestInit) => host.call('operator', 'operator', path, init);
const addressAt = (i: number) => `10.64.99.${10 + i}`;

type Item = { name: string; node: string; ip: string; state: string; containerId: string };
type Operation = { id: string; state: string; error: unknown; items: Item[]; request: { batchId: string } };
type Allocation = { ip: string; state: string; containerId: string | null };
type Usage = { containers: { inUse: number; held: number }; addresses: { inUse: number; held: number } };

const allocations = async (state?: 'held' | 'bound') =>
  (
    (await (
      await op(`/v1/pools/experiment/allocations?limit=500${state ? `&state=${state}` : ''}`)
    ).json()) as { items: Allocation[] }
  ).items;
const usage = async () => (await (await op(`/v1/users/${user}/usage`)).json()) as Usage;
const owned = async () => (await Promise.all(NODES.map((n) => dockers[n]!.listOwned(platform)))).flat();

beforeAll(async () => {
  host = await startProvisioningHost({
    name: 'provisioning-batch3',
    range: '10.64.99.10-10.64.99.49',
    platform,
    nodes: NODES,
    database: 'postgres',
    bus: 'kafka',
    // The default limits (10 containers, 20 addresses) would refuse a batch of 30.
    quota: { QUOTA_MAX_CONTAINERS: 40, QUOTA_MAX_ADDRESSES: 40, QUOTA_MAX_CPU_MILLIS: 40 * 100 },
  });
});

afterAll(async () => {
  await host?.stop();
  for (const d of Object.values(dockers)) {
    for (const c of await d.listOwned(platform)) await d.remove(c.dockerId, true);
  }
});

test('a batch of 30 over three nodes runs with ascending addresses, bound in ipam and counted by quota; deleting it gives everything back', async () => {
  const res = await host.call(user, 'user', '/v1/batches', {
    method: 'POST',
    headers: { prefer: 'wait=120' },
    body: JSON.stringify({
      namePrefix: prefix,
      count: COUNT,
      image: 'testbed/busybox',
      nodes: NODES,
      baseIp: BASE,
      placement: 'spread',
    }),
  });
  const operation = (await res.json()) as Operation;
  expect(res.status).toBe(201);
  expect(operation).toMatchObject({ state: 'succeeded', error: null });
  expect(operation.items).toHaveLength(COUNT);
  operation.items.forEach((item, i) => {
    expect(item).toMatchObject({
      name: `${prefix}-${i + 1}`,
      node: NODES[i % NODES.length],
      ip: addressAt(i),
      state: 'running',
    });
  });

  // Inside each container, eth0 carries the address the item was given.
  const onNodes = new Map((await owned()).map((c) => [c.containerId, c]));
  for (const item of operation.items) {
    const c = onNodes.get(item.containerId);
    expect(c).toMatchObject({ name: item.name, state: 'running' });
    const r = await dockers[item.node]!.exec(c!.dockerId, ['ip', '-4', 'addr', 'show', 'dev', 'eth0']);
    expect(r.exitCode).toBe(0);
    expect(r.output).toContain(`inet ${item.ip}/23 `);
  }

  // container.started reaches ipam and quota over Kafka after the operation ends: wait for it.
  const bound = await eventually(
    async () => {
      const b = await allocations('bound');
      return b.length === COUNT ? b : undefined;
    },
    60_000,
    `${COUNT} bound addresses`,
  );
  expect(bound.map((a) => [a.ip, a.containerId])).toEqual(
    operation.items.map((item) => [item.ip, item.containerId]),
  );
  expect(await allocations('held')).toEqual([]);
  const used = await eventually(
    async () => {
      const u = await usage();
      return u.containers.inUse === COUNT ? u : undefined;
    },
    60_000,
    `${user}'s usage to show ${COUNT} containers`,
  );
  expect(used.containers).toMatchObject({ inUse: COUNT, held: 0 });
  expect(used.addresses).toMatchObject({ inUse: COUNT, held: 0 });

  // Removing a batch is an operation; waited for, it answers 200 with what it removed.
  // node1's events show its removes side by side (parallelism 4): one at a time, each container's
  // kill would come after the destroy of the one before.
  const actions: string[] = [];
  const close = await dockers.node1!.watchEvents(
    platform,
    (e) => actions.push(e.action),
    () => undefined,
  );
  const del = await host.call(user, 'user', `/v1/batches/${operation.request.batchId}`, {
    method: 'DELETE',
    headers: { prefer: 'wait=120' },
  });
  expect(del.status).toBe(200);
  expect(((await del.json()) as { result: unknown }).result).toEqual({ removed: COUNT, errors: [] });
  await eventually(
    async () => actions.filter((a) => a === 'destroy').length === COUNT / NODES.length,
    10_000,
    "node1's destroy events",
  );
  close();
  const killsBeforeFirstDestroy = actions.slice(0, actions.indexOf('destroy')).filter((a) => a === 'kill');
  expect(killsBeforeFirstDestroy.length).toBeGreaterThanOrEqual(2);
  expect(await owned()).toEqual([]);
  await eventually(async () => (await allocations()).length === 0, 60_000, 'every address released');
  const after = await eventually(
    async () => {
      const u = await usage();
      return u.containers.inUse === 0 ? u : undefined;
    },
    60_000,
    `${user}'s usage back to 0`,
  );
  expect(after.containers).toMatchObject({ inUse: 0, held: 0 });
  expect(after.addresses).toMatchObject({ inUse: 0, held: 0 });
});
