/**
 * The second interface against the rig's node1: attach gives eth1 a secondary address, moving it
 * shows the new address inside, detach removes eth1, and ipam follows every step. User-defined
 * networks are created on the node and refused removal while a container is attached.
 * Addresses 10.64.99.80-99 (experiment), 172.10.0.0/24 (secondary) and 172.11.0.0/24 (a
 * user-defined network's pool) belong to this file alone; nothing is sent to any of them.
 */
import type { TestHost } from '@testbed/test-support/test-host';
import { eventually } from '@testbed/test-support/wait';
import {
  rigEndpoint,
  testPlatform,
  startProvisioningHost,
} from '@testbed/test-support/fixtures/provisioning';
import { rigEnv } from '@testbed/test-support/rig';
import { defaultProvisioningConfig } from '../src';
import { NodeDocker } from '../src/docker/node-docker';
import { inspectImage } from '../src/docker/node-images';
import { followProgress } from '../src/docker/streams';
import type { Readable } from 'node:stream';

jest.setTimeout(180_000);

const platform = testPlatform();
const node1 = new NodeDocker(rigEndpoint('node1'), 30_000);
const labNetwork = `lab-${platform}`;
// The interface helper's image, in the rig's registry only: the node pulls it on first use.
const registry = rigEnv('TESTBED_REGISTRY').TESTBED_REGISTRY as string;
const helperRepo = `${registry}/testbed-test/helper-${platform}`;
const helperImage = `${helperRepo}:1`;
let helperDigest: string | undefined;
let host: TestHost;
const json = (body: unknown) => ({ body: JSON.stringify(body) });
const op = (path: string, init?: RequestInit) => host.call('operator', 'operator', path, init);
const carol = (path: string, init?: RequestInit) => host.call('carol', 'user', path, init);
type Interface = { name: string; pool: string; ip: string; mac: string | null; network: string };
type Allocation = { ip: string; state: string; containerId: string | null };

async function bound(pool: string): Promise<Allocation[]> {
  const res = await op(`/v1/pools/${pool}/allocations?state=bound&limit=500`);
  return ((await res.json()) as { items: Allocation[] }).items;
}
/** The addresses quota counts for carol's running containers. */
async function addressesInUse(): Promise<number> {
  const res = await op('/v1/users/carol/usage');
  return ((await res.json()) as { addresses: { inUse: number } }).addresses.inUse;
}
const boundTo = async (pool: string, containerId: string) =>
  (await bound(pool)).filter((a) => a.containerId === containerId).map((a) => a.ip);

async function createContainer(name: string): Promise<{ id: string; dockerId: string; ip: string }> {
  const res = await carol('/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    ...json({ node: 'node1', name: `${name}-${platform}`, image: 'testbed/busybox' }),
  });
  const body = (await res.json()) as {
    state: string;
    error: unknown;
    items: { containerId: string; ip: string }[];
  };
  // With its error, so that a failure says why.
  expect({ state: body.state, error: body.error }).toEqual({ state: 'succeeded', error: null });
  const { containerId, ip } = body.items[0]!;
  const owned = await node1.listOwned(platform);
  return { id: containerId, ip, dockerId: owned.find((c) => c.containerId === containerId)!.dockerId };
}

/** `ip -o -4 addr show dev eth1` inside the container: the addresses eth1 has, or null without eth1. */
async function eth1Addresses(dockerId: string): Promise<string[] | null> {
  const r = await node1.exec(dockerId, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth1']);
  if (r.exitCode !== 0) return null;
  return [...r.output.matchAll(/inet (\S+)/g)].map((m) => m[1]!);
}

beforeAll(async () => {
  await node1.docker.getImage('testbed/busybox').tag({ repo: helperRepo, tag: '1' });
  const pushing = (await node1.docker
    .getImage(helperImage)
    .push({ authconfig: { serveraddress: registry } })) as unknown as Readable;
  await followProgress(pushing, 'node1', `push ${helperImage}`);
  helperDigest = (await inspectImage(node1, helperImage))!.repoDigests
    .find((r) => r.startsWith(`${helperRepo}@`))!
    .split('@')[1];
  await node1.docker.getImage(helperImage).remove(); // only the tag: testbed/busybox stays
  expect(await inspectImage(node1, helperImage)).toBeUndefined();
  const poolNetworks = {
    ...defaultProvisioningConfig.PROVISIONING_POOL_NETWORKS,
    lab: { subnet: '172.11.0.0/24', gateway: '172.11.0.1' },
  };
  host = await startProvisioningHost({
    name: 'provisioning-interfaces',
    range: '10.64.99.80-10.64.99.99',
    platform,
    nodes: ['node1'],
    provisioning: {
      PROVISIONING_POOL_NETWORKS: poolNetworks,
      PROVISIONING_HELPER_IMAGE: helperImage,
      PROVISIONING_DOCKER_TIMEOUT_MS: 15_000,
    },
  });
  const pool = await op('/v1/pools', {
    method: 'POST',
    ...json({
      name: 'lab',
      cidr: '172.11.0.0/24',
      rangeStart: '172.11.0.10',
      rangeEnd: '172.11.0.20',
      gateway: '172.11.0.1',
      segment: 'lab',
    }),
  });
  expect(pool.status).toBe(201);
});

afterAll(async () => {
  await host?.stop();
  await node1.docker
    .getImage(helperImage)
    .remove()
    .catch(() => undefined);
  if (helperDigest)
    await fetch(`http://${registry}/v2/testbed-test/helper-${platform}/manifests/${helperDigest}`, {
      method: 'DELETE',
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
  for (const c of await node1.listOwned(platform)) await node1.remove(c.dockerId, true);
  await node1.removeNetwork(labNetwork);
});

test('attach gives eth1 a secondary address; moving it shows the new address inside; detach removes eth1; ipam follows', async () => {
  const c = await createContainer('if');
  expect(await eth1Addresses(c.dockerId)).toBeNull();
  const addressesBefore = await eventually(
    async () => (await addressesInUse()) || undefined,
    10_000,
    'usage',
  );

  // Attach: eth1 with the next free secondary address, bound to the container in ipam.
  const attached = await carol(`/v1/containers/${c.id}/interfaces`, { method: 'POST', ...json({}) });
  expect(attached.status).toBe(201);
  const eth1 = (await attached.json()) as Interface;
  expect(eth1).toMatchObject({ name: 'eth1', pool: 'secondary', network: 'testbed-secondary' });
  expect(eth1.ip).toMatch(/^172\.10\.0\.\d+$/);
  expect(await eth1Addresses(c.dockerId)).toEqual([`${eth1.ip}/24`]);
  // The node had no helper image (it names eth1 inside the container): it was pulled for this.
  expect(await inspectImage(node1, helperImage)).toBeDefined();
  await eventually(async () => (await boundTo('secondary', c.id)).includes(eth1.ip), 10_000, 'eth1 bound');
  const view = (await (await carol(`/v1/containers/${c.id}`)).json()) as { interfaces: Interface[] };
  expect(view.interfaces.map((i) => [i.name, i.ip])).toEqual([
    ['eth0', c.ip],
    ['eth1', eth1.ip],
  ]);

  await eventually(async () => (await addressesInUse()) === addressesBefore + 1, 10_000, 'quota counts eth1');

  // A second attach is refused while eth1 exists.
  expect((await carol(`/v1/containers/${c.id}/interfaces`, { method: 'POST', ...json({}) })).status).toBe(
    409,
  );

  // Move into the experiment range: set inside the container's namespace, eth0 untouched.
  const moved = await carol(`/v1/containers/${c.id}/interfaces/eth1`, {
    method: 'PATCH',
    ...json({ ip: '10.64.99.95' }),
  });
  expect(moved.status).toBe(200);
  expect(await moved.json()).toMatchObject({ name: 'eth1', pool: 'experiment', ip: '10.64.99.95' });
  expect(await eth1Addresses(c.dockerId)).toEqual(['10.64.99.95/23']);
  const eth0 = await node1.exec(c.dockerId, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  expect(eth0.output).toContain(`inet ${c.ip}/23`);
  await eventually(
    async () => (await boundTo('experiment', c.id)).sort().join() === [c.ip, '10.64.99.95'].sort().join(),
    10_000,
    'the moved address bound',
  );
  // Docker's endpoint keeps the address it gave, so the platform keeps it held (and counted) too.
  expect(await boundTo('secondary', c.id)).toEqual([eth1.ip]);
  await eventually(async () => (await addressesInUse()) === addressesBefore + 2, 10_000, 'quota counts both');

  // Back into the secondary pool at another address: Docker reconnects with it; both old ones go.
  const back = await carol(`/v1/containers/${c.id}/interfaces/eth1`, {
    method: 'PATCH',
    ...json({ ip: '172.10.0.77' }),
  });
  expect(back.status).toBe(200);
  expect(await eth1Addresses(c.dockerId)).toEqual(['172.10.0.77/24']);
  await eventually(
    async () =>
      (await boundTo('secondary', c.id)).join() === '172.10.0.77' &&
      (await boundTo('experiment', c.id)).join() === c.ip,
    10_000,
    'the old addresses released',
  );

  // Detach: eth1 is gone inside, its address comes back; eth0 stays.
  const detached = await carol(`/v1/containers/${c.id}/interfaces/eth1`, { method: 'DELETE' });
  expect(detached.status).toBe(204);
  expect(await eth1Addresses(c.dockerId)).toBeNull();
  await eventually(async () => (await boundTo('secondary', c.id)).length === 0, 10_000, 'eth1 released');
  expect(await boundTo('experiment', c.id)).toEqual([c.ip]);
  await eventually(async () => (await addressesInUse()) === addressesBefore, 10_000, 'quota back');
  const after = (await (await carol(`/v1/containers/${c.id}`)).json()) as { interfaces: Interface[] };
  expect(after.interfaces.map((i) => i.name)).toEqual(['eth0']);
});

test('bad interface requests answer a problem naming the field', async () => {
  const c = await createContainer('if-bad');
  const eth0 = await carol(`/v1/containers/${c.id}/interfaces/eth0`, {
    method: 'PATCH',
    ...json({ ip: '10.64.99.96' }),
  });
  expect(eth0.status).toBe(422);
  expect(JSON.stringify(await eth0.json())).toContain('ifname');

  const noEth1 = await carol(`/v1/containers/${c.id}/interfaces/eth1`, {
    method: 'PATCH',
    ...json({ ip: '10.64.99.96' }),
  });
  expect(noEth1.status).toBe(409);

  expect((await carol(`/v1/containers/${c.id}/interfaces`, { method: 'POST', ...json({}) })).status).toBe(
    201,
  );
  const outside = await carol(`/v1/containers/${c.id}/interfaces/eth1`, {
    method: 'PATCH',
    ...json({ ip: '192.0.2.7' }),
  });
  expect(outside.status).toBe(422);
  const problem = (await outside.json()) as { errors: { path: string; message: string }[] };
  expect(problem.errors[0]!.path).toBe('body.ip');

  // An address another interface holds (here the container's own eth0): ipam refuses it.
  const taken = await carol(`/v1/containers/${c.id}/interfaces/eth1`, {
    method: 'PATCH',
    ...json({ ip: c.ip }),
  });
  expect(taken.status).toBe(409);
  expect(await taken.json()).toMatchObject({ code: 'address-unavailable' });

  // Removing the container releases both of its addresses.
  expect((await carol(`/v1/containers/${c.id}?force=true`, { method: 'DELETE' })).status).toBe(204);
  await eventually(
    async () =>
      (await boundTo('secondary', c.id)).length === 0 && (await boundTo('experiment', c.id)).length === 0,
    10_000,
    'addresses of the removed container released',
  );
});

test('a user-defined network: created on the node, attached to, refused removal while attached', async () => {
  const created = await carol('/v1/networks', {
    method: 'POST',
    ...json({ name: labNetwork, pool: 'lab', nodes: ['node1'] }),
  });
  expect(created.status).toBe(201);
  const onDaemon = await node1.docker.getNetwork(labNetwork).inspect();
  expect(onDaemon).toMatchObject({ Driver: 'bridge', Internal: true });
  expect(onDaemon.IPAM?.Config?.[0]?.Subnet).toBe('172.11.0.0/24');
  const listed = (await (await carol('/v1/networks')).json()) as { items: { name: string }[] };
  expect(listed.items.map((n) => n.name)).toContain(labNetwork);

  const c = await createContainer('if-lab');
  const attached = await carol(`/v1/containers/${c.id}/interfaces`, {
    method: 'POST',
    ...json({ network: labNetwork }),
  });
  expect(attached.status).toBe(201);
  const eth1 = (await attached.json()) as Interface;
  expect(eth1).toMatchObject({ pool: 'lab', network: labNetwork });
  expect(await eth1Addresses(c.dockerId)).toEqual([`${eth1.ip}/24`]);

  const refused = await carol(`/v1/networks/${labNetwork}`, { method: 'DELETE' });
  expect(refused.status).toBe(409);
  expect(await op(`/v1/networks/${labNetwork}`, { method: 'DELETE' }).then((r) => r.status)).toBe(409);

  expect((await carol(`/v1/containers/${c.id}/interfaces/eth1`, { method: 'DELETE' })).status).toBe(204);
  expect((await carol(`/v1/networks/${labNetwork}`, { method: 'DELETE' })).status).toBe(204);
  await expect(node1.docker.getNetwork(labNetwork).inspect()).rejects.toMatchObject({ statusCode: 404 });

  const unknownPool = await carol('/v1/networks', {
    method: 'POST',
    ...json({ name: `x-${platform}`, pool: 'nowhere', nodes: ['node1'] }),
  });
  expect(unknownPool.status).toBe(422);
});

test('secondary at creation: the container runs, then eth1 is attached as its own operation; a bad one is a 422', async () => {
  const bad = await carol('/v1/containers', {
    method: 'POST',
    ...json({
      node: 'node1',
      name: `if-bad2-${platform}`,
      image: 'testbed/busybox',
      secondary: { network: 'nowhere' },
    }),
  });
  expect(bad.status).toBe(422);
  expect(((await bad.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe(
    'body.secondary.network',
  );

  const res = await carol('/v1/containers', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    ...json({ node: 'node1', name: `if-new-${platform}`, image: 'testbed/busybox', secondary: {} }),
  });
  const created = (await res.json()) as { state: string; items: { containerId: string }[] };
  expect(created.state).toBe('succeeded');
  const id = created.items[0]!.containerId;
  const eth1 = await eventually(
    async () => {
      const c = (await (await carol(`/v1/containers/${id}`)).json()) as { interfaces: Interface[] };
      return c.interfaces.find((i) => i.name === 'eth1');
    },
    30_000,
    'eth1 attached after creation',
  );
  expect(eth1.pool).toBe('secondary');
  const dockerId = (await node1.listOwned(platform)).find((c) => c.containerId === id)!.dockerId;
  expect(await eth1Addresses(dockerId)).toEqual([`${eth1.ip}/24`]);
});

test('metrics: containers by node and state, operations by kind, node health, Docker call latency', async () => {
  const text = await (await fetch(`${host.url}/metrics`)).text();
  expect(text).toMatch(/provisioning_containers\{node="node1",state="running"\} [1-9]/);
  expect(text).toMatch(/provisioning_operations\{kind="interface.move",state="succeeded"\} [1-9]/);
  expect(text).toMatch(/provisioning_node_up\{node="node1"\} 1/);
  expect(text).toMatch(
    /provisioning_docker_call_seconds_count\{node="node1",call="create container",outcome="ok"\} [1-9]/,
  );
});
