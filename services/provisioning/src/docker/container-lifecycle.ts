import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { containerCreateOptions, LABELS, limitsUpdate, type ContainerSpec } from './container-spec';
import type { Daemon } from './daemon';
import { isNotFound } from './deadline';
import { demultiplex } from './streams';
import { authorizedKeysTar } from './tar';

/** A container's life on its daemon: create and start, stop, restart, remove, limits, logs, files. */

export interface OwnedContainer {
  dockerId: string;
  containerId: string;
  name: string;
  state: string;
  owner: string;
  operationId: string;
}

/** A daemon that says "not modified" (already started, already stopped) did what was asked. */
function notModified(err: { statusCode?: number }): void {
  if (err?.statusCode !== 304) throw err;
}

export async function inspectContainer(
  d: Daemon,
  dockerId: string,
): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await d.call('inspect container', () => d.docker.getContainer(dockerId).inspect(), {
      container: dockerId,
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Removes the container; one that is already gone counts as removed. */
export async function removeContainer(d: Daemon, dockerId: string, force: boolean): Promise<void> {
  try {
    await d.call('remove container', () => d.docker.getContainer(dockerId).remove({ force, v: true }), {
      container: dockerId,
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Creates the container with its fixed address, limits and labels, copies the keys in, starts it. */
export async function createAndStart(
  d: Daemon,
  spec: ContainerSpec,
): Promise<{ dockerId: string; mac: string | null }> {
  const { dockerId } = await createAndStartOnly(d, spec);
  try {
    return { dockerId, mac: await macOn(d, dockerId, spec.network) };
  } catch (err) {
    await removeContainer(d, dockerId, true).catch(() => undefined);
    throw err;
  }
}

/**
 * `createAndStart` without the inspect that reads the MAC: a create worker goes on to its next
 * item as soon as a container runs, and reads the MACs of all of them at the end
 * (`macsOfOperation`).
 * A container that fails to start is removed again.
 */
export async function createAndStartOnly(d: Daemon, spec: ContainerSpec): Promise<{ dockerId: string }> {
  const container = await d.call(`create container ${spec.name}`, () =>
    d.docker.createContainer(containerCreateOptions(spec, d.node)),
  );
  try {
    if (spec.sshPublicKeys.length > 0) {
      const tar = authorizedKeysTar(spec.sshPublicKeys);
      await d.call('copy ssh keys', () => container.putArchive(tar, { path: '/' }), {
        container: container.id,
      });
    }
    await d.call(`start container ${spec.name}`, () => container.start(), { container: container.id });
    return { dockerId: container.id };
  } catch (err) {
    await removeContainer(d, container.id, true).catch(() => undefined);
    throw err;
  }
}

/**
 * The MACs on `network` of an operation's containers on this node, by record id: one listing for
 * a whole create instead of an inspect per container.
 */
export async function macsOfOperation(
  d: Daemon,
  operationId: string,
  network: string,
): Promise<Map<string, string>> {
  const list = await d.call('list containers', () =>
    d.docker.listContainers({ all: true, filters: { label: [`${LABELS.operation}=${operationId}`] } }),
  );
  const out = new Map<string, string>();
  for (const c of list) {
    const id = c.Labels[LABELS.containerId];
    const mac = c.NetworkSettings?.Networks?.[network]?.MacAddress;
    if (id && mac) out.set(id, mac);
  }
  return out;
}

/** The MAC of a container's endpoint on `network` (null when it has none). */
export async function macOn(d: Daemon, dockerId: string, network: string): Promise<string | null> {
  const info = await d.call('inspect container', () => d.docker.getContainer(dockerId).inspect(), {
    container: dockerId,
  });
  return info.NetworkSettings?.Networks?.[network]?.MacAddress ?? null;
}

export async function startContainer(d: Daemon, dockerId: string): Promise<void> {
  await d.call('start container', () => d.docker.getContainer(dockerId).start().catch(notModified), {
    container: dockerId,
  });
}

export async function stopContainer(d: Daemon, dockerId: string, graceSeconds = 5): Promise<void> {
  await d.call(
    'stop container',
    () => d.docker.getContainer(dockerId).stop({ t: graceSeconds }).catch(notModified),
    { ms: d.timeoutMs + graceSeconds * 1000, container: dockerId },
  );
}

export async function restartContainer(d: Daemon, dockerId: string, graceSeconds = 5): Promise<void> {
  await d.call('restart container', () => d.docker.getContainer(dockerId).restart({ t: graceSeconds }), {
    ms: d.timeoutMs + graceSeconds * 1000,
    container: dockerId,
  });
}

export async function updateContainer(
  d: Daemon,
  dockerId: string,
  limits: { cpuMillis?: number; memoryBytes?: number },
): Promise<void> {
  await d.call('update container', () => d.docker.getContainer(dockerId).update(limitsUpdate(limits)), {
    container: dockerId,
  });
}

/** Every container of this platform on the node, running or not. */
export function listOwned(d: Daemon, platform: string): Promise<OwnedContainer[]> {
  return listLabelled(d, `${LABELS.platform}=${platform}`);
}

/** The containers one operation made on this node (a resumed create finds its own, not the node's all). */
export function listOfOperation(d: Daemon, operationId: string): Promise<OwnedContainer[]> {
  return listLabelled(d, `${LABELS.operation}=${operationId}`);
}

async function listLabelled(d: Daemon, label: string): Promise<OwnedContainer[]> {
  const list = await d.call('list containers', () =>
    d.docker.listContainers({ all: true, filters: { label: [label] } }),
  );
  return list.map((c) => ({
    dockerId: c.Id,
    containerId: c.Labels[LABELS.containerId] ?? '',
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    state: c.State,
    owner: c.Labels[LABELS.owner] ?? '',
    operationId: c.Labels[LABELS.operation] ?? '',
  }));
}

/** Every container on the node, the platform's or not. */
export function listAll(d: Daemon): Promise<Docker.ContainerInfo[]> {
  return d.call('list containers', () => d.docker.listContainers({ all: true }));
}

export async function containerLogs(
  d: Daemon,
  dockerId: string,
  opts: { tail?: number; since?: number },
): Promise<Buffer> {
  const out = await d.call('container logs', () =>
    d.docker.getContainer(dockerId).logs({
      stdout: true,
      stderr: true,
      follow: false,
      tail: opts.tail ?? 200,
      since: opts.since ?? 0,
    }),
  );
  return demultiplex(out as unknown as Buffer);
}

export function getArchive(d: Daemon, dockerId: string, path: string): Promise<Readable> {
  return d.call(`get archive ${path}`, () =>
    d.docker.getContainer(dockerId).getArchive({ path }),
  ) as Promise<Readable>;
}

export async function putArchive(d: Daemon, dockerId: string, path: string, tar: Buffer): Promise<void> {
  await d.call(`put archive ${path}`, () => d.docker.getContainer(dockerId).putArchive(tar, { path }));
}

/** Runs a command inside a container and answers its output (tests, diagnostics). */
export function execIn(
  d: Daemon,
  dockerId: string,
  cmd: string[],
  ms = 20_000,
): Promise<{ exitCode: number; output: string }> {
  return d.call(
    'exec',
    async () => {
      const exec = await d.docker
        .getContainer(dockerId)
        .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      const info = await exec.inspect();
      return { exitCode: info.ExitCode ?? -1, output: demultiplex(Buffer.concat(chunks)).toString('utf8') };
    },
    ms,
  );
}
