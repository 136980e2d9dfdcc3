/**
 * The create saga in one process (PGlite, in-process bus) with quota and ipam mounted, against
 * the rig's TLS daemons node1..node3. Addresses 10.64.99.100-139 belong to this file alone.
 */
import type { TestHost } from '@testbed/test-support/test-host';
import { eventually } from '@testbed/test-support/wait';
import {
  rigEndpoint,
  testPlatform,
  startProvisioningHost,
} from '@testbed/test-support/fixtures/provisioning';
import { NodeDocker } from '../src/docker/node-docker';

jest.setTimeout(120_000);

const platform = testPlatform();
const nodes = ['node1', 'node2', 'node3'];
const dockers = Object.fromEntries(nodes.map((n) => [n, new NodeDocker(rigEndpoint(n), 20_000)]));
let host: TestHost;
const op = (path: string, init?: RequestInit) => host.call('operator', 'operator', path, init);
const alice = (path: string, init?: RequestInit) => host.call('alice', 'user', path, init);
const json = (body: unknown) => ({ body: JSON.stringify(body) });

beforeAll(async () => {
  host = await startProvisioningHost({
    name: 'provisioning-saga',
    range: '10.64.99.100-10.64.99.139',
    platform,
    nodes,
    quota: { QUOTA_MAX_CONTAINERS: 20 },
    provisioning: { PROVISIONING_RECONCILE_INTERVAL_MS: 1000, PROVISIONING_HEALTH_INTERVAL_MS: 2000 },
  });
});

afterAll(async () => {
  await host?.stop();
  for (const d of Object.values(dockers))
    for (const c of await d.listOwned(platform)) await d.remove(c.dockerId, true);
});

async function allocations(state?: string) {
  const res = await op(`/v1/pools/experiment/allocations${state ? `?state=${state}` : ''}`);
  return ((await res.json()) as { items: { ip: string; state: string; containerId: string | null }[] }).items;
}

test('nodes are registered without their TLS material in the answer, and answer health checks', async () => {
  const refused = await op('/v1/nodes', {
    method: 'POST',
    ...json({ name: 'plain', dockerHost: 'tcp://127.0.0.1:2375' }),
  });
  expect(refused.status).toBe(422);
  const node = await eventually(
    async () => {
      const n = (await (await op('/v1/nodes/node1')).json()) as {
        health: { state: string; dockerVersion: string };
        tls: unknown;
        network: string | null;
      };
      return n.health.state === 'up' && n.network ? n : undefined;
    },
    15_000,
    'node1 up',
  );
  expect(node.health.dockerVersion).toMatch(/^20\./);
  expect(JSON.stringify(node)).not.toContain('.pem');
});

test('creates a container through the saga: running, its address inside, bound in ipam, counted by quota; removing releases it', async () => {
  const res = await alice('/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=60' },
    ...json({
      node: 'node1',
      name: `solo-${platform}`,
      image: 'testbed/busybox',
      cpuMillis: 200,
      memoryBytes: 32 * 1024 * 1024,
    }),
  });
  const operation = (await res.json()) as {
    state: string;
    items: { containerId: string; ip: string }[];
    error: unknown;
  };
  expect(operation.error).toBeNull();
  expect(res.status).toBe(201);
  expect(operation.state).toBe('succeeded');
  const { containerId, ip } = operation.items[0]!;
  const container = (await (await alice(`/v1/containers/${containerId}`)).json()) as {
    state: string;
    interfaces: { ip: string }[];
  };
  expect(container.state).toBe('running');
  expect(container.interfaces[0]!.ip).toBe(ip);

  const onNode = (await dockers.node1!.listOwned(platform)).find((c) => c.containerId === containerId)!;
  expect((await dockers.node1!.exec(onNode.dockerId, ['ip', '-4', 'addr', 'show', 'eth0'])).output).toContain(
    `${ip}/23`,
  );
  await eventually(
    async () => (await allocations('bound')).some((a) => a.ip === ip && a.containerId === containerId),
    10_000,
    'bound address',
  );
  await eventually(
    async () => {
      const u = (await (await alice('/v1/users/alice/usage')).json()) as Record<string, unknown>;
      return JSON.stringify(u).includes('"containers"') ? u : undefined;
    },
    5000,
    'usage',
  );

  expect((await alice(`/v1/containers/${containerId}`, { method: 'DELETE' })).status).toBe(409);
  expect((await alice(`/v1/containers/${containerId}?force=true`, { method: 'DELETE' })).status).toBe(204);
  await eventually(async () => !(await allocations()).some((a) => a.ip === ip), 10_000, 'address released');
  expect(await dockers.node1!.inspect(onNode.dockerId)).toBeUndefined();
});

test('quota exceeded fails the operation with the reason and holds nothing', async () => {
  const res = await alice('/v1/batches', {
    method: 'POST',
    headers: { prefer: 'wait=30' },
    ...json({ namePrefix: `big-${platform}`, count: 25, image: 'testbed/busybox', nodes: ['node1'] }),
  });
  const operation = (await res.json()) as { state: string; error: { status: number; detail: string } };
  expect(operation.state).toBe('failed');
  expect(operation.error.status).toBe(409);
  expect(operation.error.detail).toMatch(/container/i);
  expect(await allocations()).toEqual([]);
  expect(await dockers.node1!.listOwned(platform)).toEqual([]);
});

test('a batch over three nodes from a base address: names prefix-1..N, ascending addresses, all running; drift and delete release them', async () => {
  const res = await alice('/v1/batches', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    ...json({
      namePrefix: 'b',
      count: 6,
      image: 'testbed/busybox',
      nodes,
      baseIp: '10.64.99.120',
      placement: 'spread',
    }),
  });
  const operation = (await res.json()) as {
    state: string;
    request: { batchId: string };
    items: { name: string; node: string; ip: string; state: string; containerId: string }[];
  };
  expect(operation.state).toBe('succeeded');
  expect(operation.items.map((i) => i.name)).toEqual(['b-1', 'b-2', 'b-3', 'b-4', 'b-5', 'b-6']);
  expect(operation.items.map((i) => i.ip)).toEqual(
    ['120', '121', '122', '123', '124', '125'].map((x) => `10.64.99.${x}`),
  );
  expect(operation.items.map((i) => i.node)).toEqual(['node1', 'node2', 'node3', 'node1', 'node2', 'node3']);
  await eventually(async () => (await allocations('bound')).length === 6, 10_000, 'six bound');
  // Each record has the MAC its daemon gave it, recorded before the operation ended.
  for (const item of operation.items) {
    const view = (await (await alice(`/v1/containers/${item.containerId}`)).json()) as {
      interfaces: { name: string; mac: string | null }[];
    };
    const docker = dockers[item.node as keyof typeof dockers]!;
    const made = (await docker.listOwned(platform)).find((c) => c.containerId === item.containerId)!;
    const inspected = await docker.docker.getContainer(made.dockerId).inspect();
    const macs = Object.values(inspected.NetworkSettings.Networks).map((n) => n.MacAddress);
    expect(view.interfaces[0]!.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(macs).toContain(view.interfaces[0]!.mac);
  }

  // Drift: one removed by hand on its node is marked removed and its address released.
  const victim = operation.items[1]!;
  const onNode = (await dockers.node2!.listOwned(platform)).find(
    (c) => c.containerId === victim.containerId,
  )!;
  const t0 = Date.now();
  await dockers.node2!.remove(onNode.dockerId, true);
  await eventually(
    async () => (await alice(`/v1/containers/${victim.containerId}`)).status === 404,
    10_000,
    'marked removed',
  );
  await eventually(
    async () => !(await allocations()).some((a) => a.ip === victim.ip),
    10_000,
    'address released',
  );
  expect(Date.now() - t0).toBeLessThan(10_000);

  // Removing a batch is an operation: its result counts what it removed.
  const del = await alice(`/v1/batches/${operation.request.batchId}`, {
    method: 'DELETE',
    headers: { prefer: 'wait=60' },
  });
  expect(((await del.json()) as { result: { removed: number } }).result.removed).toBe(5);
  await eventually(async () => (await allocations()).length === 0, 10_000, 'all released');
});
