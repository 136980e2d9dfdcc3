/**
 * The rig's Docker daemons (node1..node3) for the agent's tests: a dockerode client on a node's
 * unix socket, containers of `testbed/busybox` only (already on every node, never pulled) with
 * no network or an internal one, each labelled with the test file's label and removed in afterAll.
 */
import Docker from 'dockerode';
import { randomSuffix, rigEnv } from '../../../../test/support/rig';

export type RigNodeName = 'node1' | 'node2' | 'node3';

export interface RigNode {
  name: RigNodeName;
  socket: string;
  /** DOCKER_HOST form of the socket. */
  dockerHost: string;
  /** The daemon's --cgroup-parent (`/testbed-nodeN`). */
  cgroupParent: string;
  docker: Docker;
}

export function rigNode(name: RigNodeName): RigNode {
  const n = name.slice(-1);
  const env = rigEnv(`NODE${n}_DOCKER_SOCKET`, `NODE${n}_CGROUP_PARENT`);
  const socket = env[`NODE${n}_DOCKER_SOCKET`]!;
  return {
    name,
    socket,
    dockerHost: `unix://${socket}`,
    cgroupParent: env[`NODE${n}_CGROUP_PARENT`]!,
    docker: new Docker({ socketPath: socket, timeout: 30_000 }),
  };
}

/** The label every container and network of one test file carries (`testbed.test=<file>-<random>`). */
export function testLabel(file: string): { key: string; value: string } {
  return { key: 'testbed.test', value: `node-agent-${file}-${randomSuffix()}` };
}

export interface RunOptions {
  label: { key: string; value: string };
  cmd: string[];
  name?: string;
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  /** A network name; default `none`. */
  network?: string;
  labels?: Record<string, string>;
}

export interface Running {
  id: string;
  ref: string;
  pid: number;
  container: Docker.Container;
}

export async function runContainer(node: RigNode, opts: RunOptions): Promise<Running> {
  const container = await node.docker.createContainer({
    Image: 'testbed/busybox',
    Cmd: opts.cmd,
    ...(opts.name ? { name: opts.name } : {}),
    Labels: { [opts.label.key]: opts.label.value, ...opts.labels },
    StopSignal: 'SIGKILL',
    HostConfig: {
      NetworkMode: opts.network ?? 'none',
      ...(opts.memoryBytes ? { Memory: opts.memoryBytes } : {}),
      ...(opts.nanoCpus ? { NanoCpus: opts.nanoCpus } : {}),
      ...(opts.pidsLimit ? { PidsLimit: opts.pidsLimit } : {}),
    },
  });
  await container.start();
  const info = await container.inspect();
  return { id: info.Id, ref: info.Id.slice(0, 12), pid: info.State.Pid, container };
}

/** Removes every container and network of the label (afterAll); never throws for what is already gone. */
export async function removeLabelled(node: RigNode, label: { key: string; value: string }): Promise<void> {
  const filters = { label: [`${label.key}=${label.value}`] };
  const containers = await node.docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map((c) =>
      node.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  const networks = await node.docker.listNetworks({ filters });
  await Promise.all(
    networks.map((n) =>
      node.docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined),
    ),
  );
}

/** Polls `probe` until it returns something other than undefined; fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  stepMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Runs a command in the container and returns its output (stdout and stderr, demultiplexed). */
export async function exec(running: Running, cmd: string[]): Promise<string> {
  const e = await running.container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
    setTimeout(() => reject(new Error(`exec ${cmd.join(' ')}: no end within 20 s`)), 20_000).unref();
  });
  // Docker frames each chunk of a non-tty exec with an 8-byte header.
  const raw = Buffer.concat(chunks);
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= raw.length;) {
    const size = raw.readUInt32BE(i + 4);
    out.push(raw.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(out).toString('utf8');
}
