/**
 * ssh into a created container from a client on the same macvlan network, a node whose daemon does
 * not answer in the middle of a batch, and a file copied between nodes through the API.
 * Addresses 10.64.99.140-159 belong to this file alone; traffic to them only from a container.
 */
import type { TestHost } from '@testbed/test-support/test-host';
import { eventually } from '@testbed/test-support/wait';
import {
  rigEndpoint,
  testPlatform,
  startProvisioningHost,
} from '@testbed/test-support/fixtures/provisioning';
import { NodeDocker } from '../src/docker/node-docker';

jest.setTimeout(180_000);

const platform = testPlatform();
const clientPlatform = testPlatform();
const dockers = Object.fromEntries(
  ['node1', 'node2'].map((n) => [n, new NodeDocker(rigEndpoint(n), 30_000)]),
);
let host: TestHost;
const op = (path: string, init?: RequestInit) => host.call('operator', 'operator', path, init);
const bob = (path: string, init?: RequestInit) => host.call('bob', 'user', path, init);
const json = (body: unknown) => ({ body: JSON.stringify(body) });
type Operation = {
  state: string;
  error: { detail: string; nodes: Record<string, string> } | null;
  items: {
    name: string;
    node: string;
    ip: string;
    state: string;
    containerId: string;
    error: string | null;
  }[];
};

async function create(body: object): Promise<Operation> {
  const res = await bob('/v1/containers', { method: 'POST', headers: { prefer: 'wait=90' }, ...json(body) });
  return (await res.json()) as Operation;
}
const dockerIdOf = async (node: string, containerId: string) =>
  (await dockers[node]!.listOwned(platform)).find((c) => c.containerId === containerId)!.dockerId;

beforeAll(async () => {
  host = await startProvisioningHost({
    name: 'provisioning-must-show',
    range: '10.64.99.140-10.64.99.158',
    platform,
    nodes: ['node1', 'node2'],
    provisioning: { PROVISIONING_DOCKER_TIMEOUT_MS: 10_000 },
  });
  // A node whose daemon does not answer (nothing listens on the port).
  const e = rigEndpoint('node3');
  await op('/v1/nodes', {
    method: 'POST',
    ...json({ name: 'gone', dockerHost: 'tcp://127.0.0.1:1', tls: e.tls, macvlanParent: 'tb3' }),
  });
});

afterAll(async () => {
  await host?.stop();
  for (const d of Object.values(dockers)) {
    for (const c of [...(await d.listOwned(platform)), ...(await d.listOwned(clientPlatform))])
      await d.remove(c.dockerId, true);
  }
});

test('ssh with the user’s key from a client on the same network answers the hostname; a wrong key is refused', async () => {
  const network = (await (await op('/v1/nodes/node1')).json()) as { network: string | null };
  const net =
    network.network ??
    (await dockers.node1!.ensureNetwork({
      name: 'testbed-experiment',
      parent: 'tb1',
      subnet: '10.64.98.0/23',
      platform,
    }));
  const client = await dockers.node1!.createAndStart({
    id: '00000000-0000-4000-8000-000000000001',
    name: `ssh-client-${clientPlatform}`,
    image: 'testbed/debian-ssh',
    network: net,
    ip: '10.64.99.159',
    cpuMillis: 500,
    memoryBytes: 128 * 1024 * 1024,
    pidsLimit: 128,
    owner: 'test',
    operationId: '00000000-0000-4000-8000-000000000002',
    platform: clientPlatform,
    sshPublicKeys: [],
    command: ['sleep', '600'],
  });
  const keygen = await dockers.node1!.exec(client.dockerId, [
    'sh',
    '-c',
    "ssh-keygen -q -t ed25519 -N '' -f /root/k && ssh-keygen -q -t ed25519 -N '' -f /root/w && cat /root/k.pub",
  ]);
  const publicKey = keygen.output.trim().split('\n').pop()!;
  expect(publicKey).toMatch(/^ssh-ed25519 /);

  const operation = await create({
    node: 'node1',
    name: 'sshd-box',
    image: 'testbed/debian-ssh',
    sshPublicKeys: [publicKey],
    cpuMillis: 500,
    memoryBytes: 128 * 1024 * 1024,
  });
  expect(operation.state).toBe('succeeded');
  const { ip } = operation.items[0]!;
  const ssh = (key: string) =>
    dockers.node1!.exec(client.dockerId, [
      'ssh',
      '-i',
      key,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=5',
      `root@${ip}`,
      'hostname',
    ]);
  const ok = await eventually(
    async () => {
      const r = await ssh('/root/k');
      return r.exitCode === 0 ? r : undefined;
    },
    30_000,
    'sshd answering',
  );
  expect(ok.output.trim().split('\n').pop()).toBe('sshd-box');
  const refused = await ssh('/root/w');
  expect(refused.exitCode).not.toBe(0);
  expect(refused.output).toMatch(/Permission denied/);
});

test('a daemon that does not answer fails its node’s items with its error while the others succeed, releasing their holds', async () => {
  const res = await bob('/v1/batches', {
    method: 'POST',
    headers: { prefer: 'wait=90' },
    ...json({ namePrefix: 'half', count: 4, image: 'testbed/busybox', nodes: ['node2', 'gone'] }),
  });
  const operation = (await res.json()) as Operation;
  expect(operation.state).toBe('partially_succeeded');
  expect(operation.items.filter((i) => i.state === 'running').map((i) => i.node)).toEqual(['node2', 'node2']);
  const failed = operation.items.filter((i) => i.state === 'failed');
  expect(failed.map((i) => i.node)).toEqual(['gone', 'gone']);
  expect(failed[0]!.error).toMatch(/node gone: .*ECONNREFUSED/);
  expect(operation.error!.nodes.gone).toMatch(/ECONNREFUSED/);
  await eventually(
    async () => {
      const all = (
        (await (await op('/v1/pools/experiment/allocations')).json()) as { items: { ip: string }[] }
      ).items.map((a) => a.ip);
      return failed.every((f) => !all.includes(f.ip)) ? all : undefined;
    },
    10_000,
    'failed items’ addresses released',
  );
});

test('a file copied from a container on node1 to one on node2 through the API has identical bytes', async () => {
  const a = await create({ node: 'node1', name: 'copy-from', image: 'testbed/busybox' });
  const b = await create({ node: 'node2', name: 'copy-to', image: 'testbed/busybox' });
  expect([a.state, b.state]).toEqual(['succeeded', 'succeeded']);
  const [aId, bId] = [a.items[0]!.containerId, b.items[0]!.containerId];
  const aDocker = await dockerIdOf('node1', aId);
  await dockers.node1!.exec(aDocker, [
    'sh',
    '-c',
    'dd if=/dev/urandom of=/tmp/blob bs=1024 count=300 2>/dev/null',
  ]);
  const download = await bob(`/v1/containers/${aId}/files?path=/tmp/blob`);
  expect(download.status).toBe(200);
  const tar = Buffer.from(await download.arrayBuffer());
  const upload = await bob(`/v1/containers/${bId}/files?path=/tmp`, {
    method: 'PUT',
    headers: { 'content-type': 'application/x-tar' },
    body: tar,
  });
  expect(upload.status).toBe(204);
  const sum = async (node: string, dockerId: string) =>
    (await dockers[node]!.exec(dockerId, ['md5sum', '/tmp/blob'])).output.split(' ')[0];
  const source = await sum('node1', aDocker);
  expect(source).toMatch(/^[0-9a-f]{32}$/);
  expect(await sum('node2', await dockerIdOf('node2', bId))).toBe(source);
});

test('a node’s TLS secretRef must be a Secret name: one that leaves the secrets folder is a 422', async () => {
  const res = await op('/v1/nodes', {
    method: 'POST',
    ...json({ name: 'escape', dockerHost: 'tcp://127.0.0.1:2376', tls: { secretRef: '../../etc' } }),
  });
  expect(res.status).toBe(422);
  const problem = (await res.json()) as { errors: { path: string }[] };
  expect(problem.errors.map((e) => e.path)).toEqual(['body.tls.secretRef']);
});
