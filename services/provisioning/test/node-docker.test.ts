/** The Docker adapter against the rig's TLS daemons. */
import { randomUUID } from 'node:crypto';
import { NodeDocker, LABELS, SSHD_CAPABILITIES } from '../src/docker/node-docker';
import { dockerClientFor } from '../src/docker/node-client';
import { rigEndpoint, testPlatform } from '@testbed/test-support/fixtures/provisioning';

jest.setTimeout(60_000);

const endpoint = rigEndpoint('node1');
const docker = new NodeDocker(endpoint, 20_000);
const platform = testPlatform();
let network: string;

beforeAll(async () => {
  network = await docker.ensureNetwork({
    name: 'testbed-experiment',
    parent: endpoint.macvlanParent,
    subnet: '10.64.98.0/23',
    gateway: '10.64.98.1',
    platform,
  });
});

afterAll(async () => {
  for (const c of await docker.listOwned(platform)) await docker.remove(c.dockerId, true);
});

test('answers ping and version over TLS', async () => {
  const h = await docker.health();
  expect(h.apiVersion).toBe('1.41');
});

test('refuses plain TCP without TLS unless the node is marked insecure', () => {
  expect(() => dockerClientFor({ name: 'n', dockerHost: 'tcp://127.0.0.1:2375' })).toThrow(/refused/);
  expect(() =>
    dockerClientFor({ name: 'n', dockerHost: 'tcp://127.0.0.1:2375', insecure: true }),
  ).not.toThrow();
});

test('reuses the one macvlan network of the parent link', async () => {
  const again = await docker.ensureNetwork({
    name: 'another-name',
    parent: endpoint.macvlanParent,
    subnet: '10.64.98.0/23',
    platform,
  });
  expect(again).toBe(network);
});

test('creates and starts an unprivileged container with its fixed address, limits, labels and keys', async () => {
  const id = randomUUID();
  const { dockerId } = await docker.createAndStart({
    id,
    name: `adapter-${id.slice(0, 8)}`,
    image: 'testbed/busybox',
    network,
    ip: '10.64.99.250',
    cpuMillis: 250,
    memoryBytes: 64 * 1024 * 1024,
    pidsLimit: 64,
    owner: 'alice',
    operationId: randomUUID(),
    platform,
    sshPublicKeys: ['ssh-ed25519 AAAATEST alice@test'],
  });
  const info = (await docker.inspect(dockerId))!;
  expect(info.State.Running).toBe(true);
  expect(info.HostConfig.Privileged).toBe(false);
  expect(info.HostConfig.NanoCpus).toBe(250_000_000);
  expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
  expect(info.HostConfig.PidsLimit).toBe(64);
  expect(info.HostConfig.CapDrop).toEqual(['ALL']);
  expect(info.HostConfig.CapAdd).toEqual(SSHD_CAPABILITIES);
  expect(info.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
  expect(info.Config.Labels[LABELS.containerId]).toBe(id);
  expect(info.Config.Labels[LABELS.owner]).toBe('alice');

  const addr = await docker.exec(dockerId, ['ip', '-4', 'addr', 'show', 'eth0']);
  expect(addr.output).toContain('10.64.99.250/23');
  const keys = await docker.exec(dockerId, [
    'sh',
    '-c',
    'stat -c "%a %u" /root/.ssh/authorized_keys; cat /root/.ssh/authorized_keys',
  ]);
  expect(keys.output).toContain('600 0');
  expect(keys.output).toContain('ssh-ed25519 AAAATEST alice@test');

  await docker.update(dockerId, { cpuMillis: 500 });
  expect((await docker.inspect(dockerId))!.HostConfig.NanoCpus).toBe(500_000_000);

  expect((await docker.listOwned(platform)).map((c) => c.containerId)).toContain(id);
  await docker.stop(dockerId, 1);
  expect((await docker.inspect(dockerId))!.State.Running).toBe(false);
  await docker.remove(dockerId, true);
  expect(await docker.inspect(dockerId)).toBeUndefined();
  await docker.remove(dockerId, true); // gone already: no error
});

test('fails with the node and the daemon’s own message', async () => {
  await expect(
    docker.createAndStart({
      id: randomUUID(),
      name: `adapter-missing-${Date.now()}`,
      image: 'testbed/no-such-image',
      network,
      ip: '10.64.99.251',
      cpuMillis: 100,
      memoryBytes: 32 * 1024 * 1024,
      pidsLimit: 32,
      owner: 'alice',
      operationId: randomUUID(),
      platform,
      sshPublicKeys: [],
    }),
  ).rejects.toThrow(/node node1: .*no such image/i);
});
