/**
 * A macvlan network on node2 (parent tb2, a veth link the rig made) gives a container the fixed
 * address it asked for. No packet leaves the machine: tb2's peer tb2p is attached to nothing,
 * and the only traffic here is the Docker API on loopback.
 *
 * Docker allows one macvlan network per parent interface (and no overlapping subnets), so this
 * test first removes what an interrupted run of itself left behind (found by its label), and
 * reuses (without removing it) a network another test already made on tb2 with the same subnet.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { loadRigEnv, nodeDocker, required } from '@testbed/test-support/rig';

const env = loadRigEnv();
const NODE = 'node2';
const SUBNET = '10.64.98.0/23';
const GATEWAY = '10.64.98.1';
const ADDRESS = '10.64.98.77';
const LABEL = 'testbed.rig.test';
const LABEL_VALUE = 'macvlan';
const name = `rig-macvlan-${process.pid}-${Date.now()}`;

let docker: Docker;
let network: Docker.Network | undefined;
let container: Docker.Container | undefined;

async function removeLeftovers(): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL}=${LABEL_VALUE}`] });
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
  for (const n of await docker.listNetworks({ filters })) {
    await docker.getNetwork(n.Id).remove();
  }
}

/** Runs cmd in the container through the Docker API; resolves with its output and exit code. */
async function execIn(
  c: Docker.Container,
  cmd: string[],
): Promise<{ output: string; exitCode: number | null }> {
  const exec = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = await exec.start({ hijack: true, stdin: false });
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (b: Buffer) => chunks.push(b));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exec ${cmd.join(' ')} took longer than 15 s`)), 15_000);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  const { ExitCode } = await exec.inspect();
  return { output: Buffer.concat(chunks).toString('utf8'), exitCode: ExitCode };
}

beforeAll(async () => {
  docker = nodeDocker(env, NODE);
  await removeLeftovers();
});

afterAll(async () => {
  await container?.remove({ force: true }).catch(() => undefined);
  await network?.remove().catch(() => undefined);
});

/** The macvlan network someone else already made on this parent, if any. */
async function networkOnParent(parent: string): Promise<Docker.NetworkInspectInfo | undefined> {
  const macvlans = await docker.listNetworks({ filters: JSON.stringify({ driver: ['macvlan'] }) });
  return macvlans.find((n) => n.Options?.parent === parent);
}

test('a busybox container on a macvlan network over tb2 gets its fixed address', async () => {
  const parent = required(env, 'NODE2_MACVLAN_PARENT');
  const existing = await networkOnParent(parent);
  let networkName = name;
  if (existing) {
    const subnets = (existing.IPAM?.Config ?? []).map((c) => c.Subnet);
    if (!subnets.includes(SUBNET)) {
      throw new Error(
        `network ${existing.Name} already uses ${parent} on ${NODE} with ${subnets.join(', ')}`,
      );
    }
    networkName = existing.Name; // shared: not ours to remove
  } else {
    network = await docker.createNetwork({
      Name: name,
      Driver: 'macvlan',
      CheckDuplicate: true,
      Options: { parent },
      IPAM: { Driver: 'default', Config: [{ Subnet: SUBNET, Gateway: GATEWAY }] },
      Labels: { [LABEL]: LABEL_VALUE },
    });
  }
  container = await docker.createContainer({
    name,
    Image: 'testbed/busybox',
    Cmd: ['sleep', '300'],
    Labels: { [LABEL]: LABEL_VALUE },
    HostConfig: { NetworkMode: networkName, AutoRemove: false },
    NetworkingConfig: { EndpointsConfig: { [networkName]: { IPAMConfig: { IPv4Address: ADDRESS } } } },
  });
  await container.start();

  const inspected = await container.inspect();
  expect(inspected.NetworkSettings.Networks[networkName]?.IPAddress).toBe(ADDRESS);

  const { output, exitCode } = await execIn(container, ['ip', 'addr']);
  expect(exitCode).toBe(0);
  expect(output).toContain(`inet ${ADDRESS}/23`);
});
