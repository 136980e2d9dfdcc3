import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { dockerClientFor, type NodeEndpoint } from './node-client';
import { DockerCallError, isNotFound, withDeadline } from './deadline';
import { authorizedKeysTar } from './tar';
import type { DockerCallObserver } from '../metrics';

/** Labels on everything the platform owns on a daemon. */
export const LABELS = {
  managed: 'testbed.managed',
  platform: 'testbed.platform',
  owner: 'testbed.owner',
  containerId: 'testbed.container-id',
  operation: 'testbed.operation',
  node: 'testbed.node',
  name: 'testbed.name',
} as const;

/** Capabilities sshd needs (privilege separation, chroot, login); everything else is dropped. */
export const SSHD_CAPABILITIES = [
  'CHOWN',
  'SETUID',
  'SETGID',
  'SYS_CHROOT',
  'AUDIT_WRITE',
  'KILL',
  'NET_BIND_SERVICE',
  'DAC_OVERRIDE',
  'FOWNER',
];

/**
 * Runs sshd when the image has it, otherwise waits: what a container does when the request gives
 * no command. PID 1 gets only the signals it handles, so the shell traps TERM; a bare `sleep` as
 * PID 1 would make every stop wait out Docker's grace period before the kill.
 */
export const DEFAULT_COMMAND = [
  '/bin/sh',
  '-c',
  'if [ -x /usr/sbin/sshd ]; then mkdir -p /run/sshd && ssh-keygen -A >/dev/null && exec /usr/sbin/sshd -D -e; ' +
    'else trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done; fi',
];

export interface ContainerSpec {
  /** The platform's id, also the label testbed.container-id. */
  id: string;
  name: string;
  image: string;
  network: string;
  ip: string;
  cpuMillis: number;
  memoryBytes: number;
  pidsLimit: number;
  owner: string;
  operationId: string;
  platform: string;
  sshPublicKeys: string[];
  env?: Record<string, string>;
  command?: string[];
}

export interface OwnedContainer {
  dockerId: string;
  containerId: string;
  name: string;
  state: string;
  owner: string;
  operationId: string;
}

export interface NetworkSpec {
  name: string;
  /** macvlan on this parent link; a bridge network when absent (a laptop). */
  parent?: string;
  subnet: string;
  gateway?: string;
  platform: string;
  /** A bridge without a way out of the node (the secondary placeholder network). */
  internal?: boolean;
}

/**
 * The one narrow way the platform talks to a node's Docker daemon: every call has a deadline
 * and a failure names the node and carries the daemon's own message.
 */
export class NodeDocker {
  readonly docker: Docker;
  private streamClient: Docker | undefined;

  constructor(
    readonly endpoint: NodeEndpoint,
    readonly timeoutMs = 30_000,
    private readonly observe?: DockerCallObserver,
  ) {
    this.docker = dockerClientFor(endpoint, timeoutMs);
  }

  get node(): string {
    return this.endpoint.name;
  }

  /** A Docker call with this node's deadline; a failure names the node and the call. */
  call<T>(what: string, work: () => Promise<T>, ms = this.timeoutMs): Promise<T> {
    let started: Promise<T>;
    try {
      started = work();
    } catch (err) {
      return Promise.reject(DockerCallError.of(this.node, what, err));
    }
    const observe = this.observe;
    if (!observe) return withDeadline(this.node, what, ms, started);
    // The metric's label is the kind of call ("create container"), never the name in it.
    const kind = what.split(' ').slice(0, 2).join(' ');
    const t0 = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
    return withDeadline(this.node, what, ms, started).then(
      (v) => (observe(this.node, kind, seconds(), true), v),
      (err: unknown) => {
        observe(this.node, kind, seconds(), false);
        throw err;
      },
    );
  }

  /** Ping, then the daemon's version and its machine's CPUs and memory. */
  async health(): Promise<{ version: string; apiVersion: string; cpus: number; memoryBytes: number }> {
    const ms = Math.min(this.timeoutMs, 5000);
    await this.call('ping', () => this.docker.ping(), ms);
    const v = await this.call('version', () => this.docker.version(), ms);
    const info = (await this.call('info', () => this.docker.info(), ms)) as {
      NCPU?: number;
      MemTotal?: number;
    };
    return {
      version: v.Version,
      apiVersion: v.ApiVersion,
      cpus: info.NCPU ?? 0,
      memoryBytes: info.MemTotal ?? 0,
    };
  }

  /**
   * The node's network for `spec`: an existing macvlan network on the parent link is reused
   * whatever its name (a daemon allows one per parent link), otherwise it is created.
   */
  async ensureNetwork(spec: NetworkSpec): Promise<string> {
    const find = async (): Promise<string | undefined> => {
      const nets = await this.call('list networks', () => this.docker.listNetworks());
      if (spec.parent) {
        const onParent = nets.find((n) => n.Driver === 'macvlan' && n.Options?.parent === spec.parent);
        if (onParent) return onParent.Name;
      }
      return nets.find((n) => n.Name === spec.name)?.Name;
    };
    const existing = await find();
    if (existing) return existing;
    try {
      await this.call('create network', () =>
        this.docker.createNetwork({
          Name: spec.name,
          Driver: spec.parent ? 'macvlan' : 'bridge',
          CheckDuplicate: true,
          Internal: spec.internal ?? false,
          ...(spec.parent ? { Options: { parent: spec.parent } } : {}),
          IPAM: {
            Driver: 'default',
            Config: [{ Subnet: spec.subnet, ...(spec.gateway ? { Gateway: spec.gateway } : {}) }],
          },
          Labels: { [LABELS.managed]: 'true', [LABELS.platform]: spec.platform },
        }),
      );
    } catch (err) {
      // Another replica or test created it meanwhile.
      const raced = await find();
      if (raced) return raced;
      throw err;
    }
    return spec.name;
  }

  async removeNetwork(name: string): Promise<void> {
    try {
      await this.call('remove network', () => this.docker.getNetwork(name).remove());
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Whether the image is present; its default command when it has one. */
  async imageCommand(image: string): Promise<string[] | undefined> {
    const info = await this.call(`inspect image ${image}`, () => this.docker.getImage(image).inspect());
    const cmd = info.Config?.Cmd;
    const entry = info.Config?.Entrypoint;
    return (cmd && cmd.length > 0) || (entry && entry.length > 0) ? (cmd ?? []) : undefined;
  }

  /** Creates the container with its fixed address, limits and labels, copies the keys in, starts it. */
  async createAndStart(spec: ContainerSpec): Promise<{ dockerId: string; mac: string | null }> {
    // A platform container is a machine users ssh into: the images' own commands are bare shells.
    const command = spec.command ?? DEFAULT_COMMAND;
    const container = await this.call(`create container ${spec.name}`, () =>
      this.docker.createContainer({
        name: spec.name,
        Hostname: spec.name,
        Image: spec.image,
        Cmd: command,
        Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
        Labels: {
          [LABELS.managed]: 'true',
          [LABELS.platform]: spec.platform,
          [LABELS.owner]: spec.owner,
          [LABELS.containerId]: spec.id,
          [LABELS.operation]: spec.operationId,
          [LABELS.node]: this.node,
          [LABELS.name]: spec.name,
        },
        HostConfig: {
          NetworkMode: spec.network,
          NanoCpus: spec.cpuMillis * 1_000_000,
          Memory: spec.memoryBytes,
          PidsLimit: spec.pidsLimit,
          Privileged: false,
          CapDrop: ['ALL'],
          CapAdd: SSHD_CAPABILITIES,
          SecurityOpt: ['no-new-privileges'],
        },
        NetworkingConfig: {
          EndpointsConfig: { [spec.network]: { IPAMConfig: { IPv4Address: spec.ip } } },
        },
      }),
    );
    try {
      if (spec.sshPublicKeys.length > 0) {
        const tar = authorizedKeysTar(spec.sshPublicKeys);
        await this.call('copy ssh keys', () => container.putArchive(tar, { path: '/' }));
      }
      await this.call(`start container ${spec.name}`, () => container.start());
      const info = await this.call('inspect container', () => container.inspect());
      return {
        dockerId: container.id,
        mac: info.NetworkSettings?.Networks?.[spec.network]?.MacAddress ?? null,
      };
    } catch (err) {
      await this.remove(container.id, true).catch(() => undefined);
      throw err;
    }
  }

  async inspect(dockerId: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.call('inspect container', () => this.docker.getContainer(dockerId).inspect());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async start(dockerId: string): Promise<void> {
    await this.call('start container', () => this.docker.getContainer(dockerId).start().catch(notModified));
  }

  async stop(dockerId: string, graceSeconds = 5): Promise<void> {
    await this.call(
      'stop container',
      () => this.docker.getContainer(dockerId).stop({ t: graceSeconds }).catch(notModified),
      this.timeoutMs + graceSeconds * 1000,
    );
  }

  async restart(dockerId: string, graceSeconds = 5): Promise<void> {
    await this.call(
      'restart container',
      () => this.docker.getContainer(dockerId).restart({ t: graceSeconds }),
      this.timeoutMs + graceSeconds * 1000,
    );
  }

  /** Removes the container; one that is already gone counts as removed. */
  async remove(dockerId: string, force: boolean): Promise<void> {
    try {
      await this.call('remove container', () =>
        this.docker.getContainer(dockerId).remove({ force, v: true }),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async update(dockerId: string, limits: { cpuMillis?: number; memoryBytes?: number }): Promise<void> {
    await this.call('update container', () =>
      this.docker.getContainer(dockerId).update({
        ...(limits.cpuMillis !== undefined ? { NanoCpus: limits.cpuMillis * 1_000_000 } : {}),
        ...(limits.memoryBytes !== undefined
          ? { Memory: limits.memoryBytes, MemorySwap: limits.memoryBytes * 2 }
          : {}),
      }),
    );
  }

  /** Every container of this platform on the node, running or not. */
  async listOwned(platform: string): Promise<OwnedContainer[]> {
    const list = await this.call('list containers', () =>
      this.docker.listContainers({ all: true, filters: { label: [`${LABELS.platform}=${platform}`] } }),
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
  async listAll(): Promise<Docker.ContainerInfo[]> {
    return this.call('list containers', () => this.docker.listContainers({ all: true }));
  }

  async logs(dockerId: string, opts: { tail?: number; since?: number }): Promise<Buffer> {
    const out = await this.call('container logs', () =>
      this.docker.getContainer(dockerId).logs({
        stdout: true,
        stderr: true,
        follow: false,
        tail: opts.tail ?? 200,
        since: opts.since ?? 0,
      }),
    );
    return demultiplex(out as unknown as Buffer);
  }

  async getArchive(dockerId: string, path: string): Promise<Readable> {
    return this.call(`get archive ${path}`, () =>
      this.docker.getContainer(dockerId).getArchive({ path }),
    ) as Promise<Readable>;
  }

  async putArchive(dockerId: string, path: string, tar: Buffer): Promise<void> {
    await this.call(`put archive ${path}`, () =>
      this.docker.getContainer(dockerId).putArchive(tar, { path }),
    );
  }

  async connect(network: string, dockerId: string, ip: string): Promise<string | null> {
    await this.call('connect network', () =>
      this.docker.getNetwork(network).connect({
        Container: dockerId,
        EndpointConfig: { IPAMConfig: { IPv4Address: ip } },
      }),
    );
    const info = await this.inspect(dockerId);
    return info?.NetworkSettings?.Networks?.[network]?.MacAddress ?? null;
  }

  /** Disconnects the container; one not connected (or gone) counts as disconnected. */
  async disconnect(network: string, dockerId: string): Promise<void> {
    try {
      await this.call('disconnect network', () =>
        this.docker.getNetwork(network).disconnect({ Container: dockerId, Force: true }),
      );
    } catch (err) {
      if (!isNotFound(err) && !/is not connected/i.test(String((err as Error).message))) throw err;
    }
  }

  /** The container's endpoint on `network` (address and MAC), when connected. */
  async endpointOn(dockerId: string, network: string): Promise<{ ip: string; mac: string } | undefined> {
    const net = (await this.inspect(dockerId))?.NetworkSettings?.Networks?.[network];
    return net ? { ip: net.IPAMConfig?.IPv4Address || net.IPAddress, mac: net.MacAddress } : undefined;
  }

  /**
   * Names the container's interface with MAC `mac` `name` (Docker numbers interfaces by its own
   * counter, so a reconnected one is eth2, eth3…) and, given `cidr` (a.b.c.d/len), makes that its
   * one address, from inside the container's namespace: a short-lived helper container shares the
   * namespace and holds NET_ADMIN itself, so the user's container never gets that capability.
   * Docker's record of the endpoint keeps the address it gave; the platform's records say which one
   * the interface has.
   */
  async configureInterface(
    dockerId: string,
    mac: string,
    want: { name: string; cidr?: string },
    helperImage: string,
  ): Promise<void> {
    await this.netHelper(
      dockerId,
      helperImage,
      'configure interface',
      { MAC: mac, NAME: want.name, ADDR: want.cidr ?? '' },
      [
        '[ -n "$dev" ] || { echo "no interface with MAC $MAC" >&2; exit 3; }',
        'if [ "$dev" != "$NAME" ]; then ip link set dev "$dev" down; ip link set dev "$dev" name "$NAME"; fi',
        'if [ -n "$ADDR" ]; then ip addr flush dev "$NAME"; ip addr add "$ADDR" dev "$NAME"; fi',
        'ip link set dev "$NAME" up',
      ],
    );
  }

  /**
   * Disconnects the container's endpoint with MAC `mac` from `network`. Docker removes the
   * interface by the name it gave, so one the platform renamed is left behind: it is deleted here.
   */
  async detachInterface(network: string, dockerId: string, mac: string, helperImage: string): Promise<void> {
    await this.disconnect(network, dockerId);
    await this.netHelper(dockerId, helperImage, 'remove interface', { MAC: mac }, [
      'if [ -n "$dev" ]; then ip link del dev "$dev"; fi',
    ]);
  }

  /** Runs `lines` in a helper container in the container's network namespace; `$dev` is the interface with `$MAC`. */
  private async netHelper(
    dockerId: string,
    helperImage: string,
    what: string,
    env: Record<string, string>,
    lines: string[],
  ): Promise<void> {
    const script = [
      'set -e',
      'dev=""',
      'for d in /sys/class/net/*; do [ "$(cat "$d/address")" = "$MAC" ] && dev="${d##*/}"; done',
      ...lines,
    ].join('\n');
    const helper = await this.call(`create helper (${what})`, () =>
      this.docker.createContainer({
        Image: helperImage,
        Cmd: ['/bin/sh', '-c', script],
        Env: Object.entries({ ...env, MAC: (env.MAC ?? '').toLowerCase() }).map(([k, v]) => `${k}=${v}`),
        Labels: { [LABELS.managed]: 'true', 'testbed.helper': 'network' },
        HostConfig: {
          NetworkMode: `container:${dockerId}`,
          CapDrop: ['ALL'],
          CapAdd: ['NET_ADMIN'],
          SecurityOpt: ['no-new-privileges'],
        },
      }),
    );
    try {
      await this.call(`start helper (${what})`, () => helper.start());
      const { StatusCode } = (await this.call(`wait for helper (${what})`, () => helper.wait())) as {
        StatusCode: number;
      };
      if (StatusCode !== 0) {
        const out = demultiplex((await helper.logs({ stdout: true, stderr: true })) as unknown as Buffer);
        throw new DockerCallError(
          this.node,
          what,
          `exit ${StatusCode}: ${out.toString('utf8').trim()}`,
          undefined,
        );
      }
    } finally {
      await helper.remove({ force: true }).catch(() => undefined);
    }
  }

  /** Runs a command inside a container and answers its output (tests, diagnostics). */
  async exec(dockerId: string, cmd: string[], ms = 20_000): Promise<{ exitCode: number; output: string }> {
    return this.call(
      'exec',
      async () => {
        const exec = await this.docker
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

  async listImages(): Promise<Docker.ImageInfo[]> {
    return this.call('list images', () => this.docker.listImages());
  }

  /** Docker's /events stream of the platform's containers; the returned function closes it. */
  async watchEvents(
    platform: string,
    onEvent: (e: { action: string; dockerId: string; containerId: string }) => void,
    onEnd: (err?: Error) => void,
  ): Promise<() => void> {
    this.streamClient ??= dockerClientFor(this.endpoint);
    const stream = (await this.call('events', () =>
      this.streamClient!.getEvents({
        filters: { type: ['container'], label: [`${LABELS.platform}=${platform}`] },
      }),
    )) as unknown as Readable;
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        try {
          const e = JSON.parse(line) as {
            Action?: string;
            id?: string;
            Actor?: { Attributes?: Record<string, string> };
          };
          onEvent({
            action: e.Action ?? '',
            dockerId: e.id ?? '',
            containerId: e.Actor?.Attributes?.[LABELS.containerId] ?? '',
          });
        } catch {
          // a partial line never parses; the next chunk completes it
        }
      }
    });
    stream.on('end', () => onEnd());
    stream.on('error', (err: Error) => onEnd(err));
    return () => (stream as Readable & { destroy(): void }).destroy();
  }
}

function notModified(err: { statusCode?: number }): void {
  if (err?.statusCode !== 304) throw err;
}

/** Docker multiplexes stdout/stderr of a non-tty container in 8-byte framed chunks. */
export function demultiplex(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    if (kind !== 0 && kind !== 1 && kind !== 2) return buf; // not multiplexed
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return out.length > 0 ? Buffer.concat(out) : buf;
}
