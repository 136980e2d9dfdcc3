/**
 * The container and node API around the saga, against the rig's node2: stop, start, restart and
 * logs; every container of a node with its owner; its capacity and use; Idempotency-Key; an unschedulable node; a node
 * with containers cannot be removed. Addresses 10.64.99.2-9 belong to this file.
 */
import type { TestHost } from '@testbed/test-support/test-host';
import {
  json,
  removeOwned,
  startProvisioningHost,
  rigEndpoint,
  testPlatform,
} from '@testbed/test-support/fixtures/provisioning';
import { eventually } from '@testbed/test-support/wait';
import { NodeDocker } from '../src/docker/node-docker';

jest.setTimeout(180_000);

const platform = testPlatform();
const node2 = new NodeDocker(rigEndpoint('node2'), 30_000);
let host: TestHost;
const op = (path: string, init?: RequestInit) => host.call('operator', 'operator', path, init);
const as = (user: string) => (path: string, init?: RequestInit) => host.call(user, 'user', path, init);
type Operation = {
  id: string;
  state: string;
  items: { name: string; node: string; containerId: string; ip: string }[];
};
type Container = { id: string; state: string; startedAt: string | null; owner: string };

async function create(user: string, body: object, headers: Record<string, string> = {}): Promise<Operation> {
  const res = await as(user)('/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=60', ...headers },
    ...json({ node: 'node2', image: 'testbed/busybox', ...body }),
  });
  return (await res.json()) as Operation;
}
const dockerIdOf = async (containerId: string) =>
  (await node2.listOwned(platform)).find((c) => c.containerId === containerId)!.dockerId;

beforeAll(async () => {
  host = await startProvisioningHost({
    name: 'provisioning-containers-api',
    range: '10.64.99.2-10.64.99.9',
    platform,
    nodes: ['node2'],
  });
});

afterAll(async () => {
  await host?.stop();
  await removeOwned([node2], platform);
});

test('stop, start and restart act on the daemon and the record; logs answer the container’s output', async () => {
  const made = await create('olga', {
    name: `life-${platform}`,
    command: ['/bin/sh', '-c', 'echo hello from $(hostname); trap "exit 0" TERM; while :; do sleep 1; done'],
  });
  expect(made.state).toBe('succeeded');
  const id = made.items[0]!.containerId;
  const dockerId = await dockerIdOf(id);
  const olga = as('olga');

  const logs = await eventually(
    async () => {
      const text = await (await olga(`/v1/containers/${id}/logs?tail=10`)).text();
      return text.includes('hello from') ? text : undefined;
    },
    10_000,
    'the container’s output in its logs',
  );
  expect(logs).toContain(`hello from life-${platform}`);

  const stopped = await olga(`/v1/containers/${id}/stop`, { method: 'POST' });
  expect(stopped.status).toBe(200);
  expect(((await stopped.json()) as Container).state).toBe('stopped');
  expect((await node2.inspect(dockerId))!.State.Running).toBe(false);

  const started = await olga(`/v1/containers/${id}/start`, { method: 'POST' });
  expect(((await started.json()) as Container).state).toBe('running');
  const before = (await node2.inspect(dockerId))!.State.StartedAt;

  const restarted = await olga(`/v1/containers/${id}/restart`, { method: 'POST' });
  expect(((await restarted.json()) as Container).state).toBe('running');
  const after = (await node2.inspect(dockerId))!;
  expect(after.State.Running).toBe(true);
  expect(after.State.StartedAt).not.toBe(before);

  // Another user neither sees nor acts on it.
  expect((await as('pete')(`/v1/containers/${id}/stop`, { method: 'POST' })).status).toBe(403);
});

test('every container of a node with its owner: all of them for an operator, one’s own for a user', async () => {
  const mine = (await create('quinn', { name: `own-${platform}` })).items[0]!;
  const theirs = (await create('rita', { name: `other-${platform}` })).items[0]!;
  type Row = { containerId: string | null; owner: string | null; state: string; name: string };
  const all = ((await (await op('/v1/nodes/node2/containers')).json()) as { items: Row[] }).items;
  expect(all.find((r) => r.containerId === mine.containerId)).toMatchObject({
    owner: 'quinn',
    state: 'running',
  });
  expect(all.find((r) => r.containerId === theirs.containerId)).toMatchObject({ owner: 'rita' });
  const quinns = ((await (await as('quinn')('/v1/nodes/node2/containers')).json()) as { items: Row[] }).items;
  expect(quinns.every((r) => r.owner === 'quinn')).toBe(true);
  expect(quinns.map((r) => r.containerId)).toContain(mine.containerId);
});

test('a node shows its machine’s capacity and what the platform’s containers on it were given', async () => {
  const info = (await node2.docker.info()) as { NCPU: number; MemTotal: number };
  const node = await eventually(
    async () => {
      const n = (await (await op('/v1/nodes/node2')).json()) as {
        capacity: { cpuMillis: number; memoryBytes: number } | null;
        use: { containers: number; cpuMillis: number; memoryBytes: number };
      };
      return n.capacity ? n : undefined;
    },
    15_000,
    'the health check to read the node’s capacity',
  );
  expect(node.capacity).toEqual({ cpuMillis: info.NCPU * 1000, memoryBytes: info.MemTotal });
  // The three containers the tests above made, each with the default limits.
  expect(node.use).toEqual({ containers: 3, cpuMillis: 3 * 100, memoryBytes: 3 * 64 * 1024 * 1024 });
  const listed = (await (await op('/v1/nodes')).json()) as { items: { name: string; use: unknown }[] };
  expect(listed.items.find((n) => n.name === 'node2')!.use).toEqual(node.use);
});

test('the same Idempotency-Key answers the same operation and creates nothing twice', async () => {
  const key = `k-${platform}`;
  const first = await create('sam', { name: `idem-${platform}` }, { 'idempotency-key': key });
  const again = await create('sam', { name: `idem-${platform}` }, { 'idempotency-key': key });
  expect(again.id).toBe(first.id);
  const listed = (await (await as('sam')(`/v1/containers?name=idem-${platform}`)).json()) as {
    items: unknown[];
  };
  expect(listed.items).toHaveLength(1);
});

test('an unschedulable node takes no new container, and a node with containers cannot be removed', async () => {
  const patched = await op('/v1/nodes/node2', { method: 'PATCH', ...json({ schedulable: false }) });
  expect(patched.status).toBe(200);
  try {
    const refused = await as('tom')('/v1/containers', {
      method: 'POST',
      ...json({ node: 'node2', name: `no-${platform}`, image: 'testbed/busybox' }),
    });
    expect(refused.status).toBe(409);
  } finally {
    await op('/v1/nodes/node2', { method: 'PATCH', ...json({ schedulable: true }) });
  }
  const removal = await op('/v1/nodes/node2', { method: 'DELETE' });
  expect(removal.status).toBe(409);
  expect(((await removal.json()) as { detail: string }).detail).toMatch(/still has \d+ container/);
});
