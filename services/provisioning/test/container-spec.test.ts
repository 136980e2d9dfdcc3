/** What a platform container is on its daemon, decided without a daemon (docker/container-spec.ts). */
import {
  containerCreateOptions,
  DEFAULT_COMMAND,
  interfaceHelperOptions,
  LABELS,
  limitsUpdate,
  networkCreateOptions,
  SSHD_CAPABILITIES,
  type ContainerSpec,
} from '../src/docker/container-spec';

const spec: ContainerSpec = {
  id: '6f0c7a38-59e5-4a57-9c55-3c4f3b0b1e0a',
  name: 'lab-1',
  image: 'testbed/debian-ssh',
  network: 'testbed-experiment',
  ip: '10.64.98.60',
  cpuMillis: 250,
  memoryBytes: 128 * 1024 * 1024,
  pidsLimit: 64,
  owner: 'alice',
  operationId: '0d4b6b5e-4a7e-4f61-9a3a-7f3f4f9b8a11',
  platform: 'testbed',
  sshPublicKeys: ['ssh-ed25519 AAAA alice'],
};

test('labels name the platform, the owner, the record, the operation and the node', () => {
  expect(containerCreateOptions(spec, 'node2').Labels).toEqual({
    [LABELS.managed]: 'true',
    [LABELS.platform]: 'testbed',
    [LABELS.owner]: 'alice',
    [LABELS.containerId]: spec.id,
    [LABELS.operation]: spec.operationId,
    [LABELS.node]: 'node2',
    [LABELS.name]: 'lab-1',
  });
});

test('never privileged: every capability dropped but sshd’s, no new privileges, CPU, memory and pids limited', () => {
  const host = containerCreateOptions(spec, 'node2').HostConfig!;
  expect(host).toMatchObject({
    NetworkMode: 'testbed-experiment',
    NanoCpus: 250_000_000,
    Memory: 128 * 1024 * 1024,
    PidsLimit: 64,
    Privileged: false,
    CapDrop: ['ALL'],
    CapAdd: SSHD_CAPABILITIES,
    SecurityOpt: ['no-new-privileges'],
  });
  expect(SSHD_CAPABILITIES).not.toContain('NET_ADMIN');
  expect(SSHD_CAPABILITIES).not.toContain('SYS_ADMIN');
});

test('its fixed address on the node’s network, its name as hostname', () => {
  const o = containerCreateOptions(spec, 'node2');
  expect(o).toMatchObject({ name: 'lab-1', Hostname: 'lab-1', Image: 'testbed/debian-ssh' });
  expect(o.NetworkingConfig).toEqual({
    EndpointsConfig: { 'testbed-experiment': { IPAMConfig: { IPv4Address: '10.64.98.60' } } },
  });
});

test('without a command it runs sshd (or waits, trapping TERM); a given command and env are kept', () => {
  expect(containerCreateOptions(spec, 'n').Cmd).toEqual(DEFAULT_COMMAND);
  expect(DEFAULT_COMMAND.join(' ')).toMatch(/sshd -D -e.*trap "exit 0" TERM/);
  const o = containerCreateOptions({ ...spec, command: ['sleep', '60'], env: { A: '1', B: 'x=y' } }, 'n');
  expect(o.Cmd).toEqual(['sleep', '60']);
  expect(o.Env).toEqual(['A=1', 'B=x=y']);
});

test('a live limits change sets only what it names; swap follows memory', () => {
  expect(limitsUpdate({ cpuMillis: 500 })).toEqual({ NanoCpus: 500_000_000 });
  expect(limitsUpdate({ memoryBytes: 64 })).toEqual({ Memory: 64, MemorySwap: 128 });
  expect(limitsUpdate({})).toEqual({});
});

test('the interface helper alone holds NET_ADMIN, in the container’s namespace, and finds the interface by MAC', () => {
  const o = interfaceHelperOptions('abc', 'testbed/busybox', { MAC: 'AA:BB:CC:00:11:22', NAME: 'eth1' }, [
    'true',
  ]);
  expect(o.HostConfig).toEqual({
    NetworkMode: 'container:abc',
    CapDrop: ['ALL'],
    CapAdd: ['NET_ADMIN'],
    SecurityOpt: ['no-new-privileges'],
  });
  expect(o.Env).toEqual(['MAC=aa:bb:cc:00:11:22', 'NAME=eth1']);
  expect(o.Cmd![2]).toMatch(/\$MAC/);
});

test('a node’s network: macvlan on its parent link, else an (internal when asked) bridge', () => {
  expect(
    networkCreateOptions({
      name: 'x',
      parent: 'tb1',
      subnet: '10.64.98.0/23',
      gateway: '10.64.98.1',
      platform: 'p',
    }),
  ).toMatchObject({
    Driver: 'macvlan',
    Options: { parent: 'tb1' },
    Internal: false,
    IPAM: { Config: [{ Subnet: '10.64.98.0/23', Gateway: '10.64.98.1' }] },
    Labels: { [LABELS.managed]: 'true', [LABELS.platform]: 'p' },
  });
  const bridge = networkCreateOptions({ name: 'y', subnet: '172.10.0.0/24', platform: 'p', internal: true });
  expect(bridge).toMatchObject({ Driver: 'bridge', Internal: true });
  expect(bridge.Options).toBeUndefined();
});
