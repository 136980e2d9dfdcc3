import type Docker from 'dockerode';

/**
 * What a platform container is on its daemon, as data: labels, limits, capabilities, command.
 * Pure functions, so the rules are tested without a daemon.
 */

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

/** Docker's NanoCpus of a CPU share in millicores. */
export const nanoCpus = (cpuMillis: number) => cpuMillis * 1_000_000;

/** The labels that make a container the platform's: whose, which record, which operation made it. */
export function platformLabels(spec: ContainerSpec, node: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.platform]: spec.platform,
    [LABELS.owner]: spec.owner,
    [LABELS.containerId]: spec.id,
    [LABELS.operation]: spec.operationId,
    [LABELS.node]: node,
    [LABELS.name]: spec.name,
  };
}

/**
 * The create request of a platform container: its fixed address on the node's network, CPU,
 * memory and pids limits, never privileged, every capability dropped but sshd's, no new
 * privileges; a machine users ssh into, so without a command it runs sshd (or waits).
 */
export function containerCreateOptions(spec: ContainerSpec, node: string): Docker.ContainerCreateOptions {
  return {
    name: spec.name,
    Hostname: spec.name,
    Image: spec.image,
    Cmd: spec.command ?? DEFAULT_COMMAND,
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: platformLabels(spec, node),
    HostConfig: {
      NetworkMode: spec.network,
      NanoCpus: nanoCpus(spec.cpuMillis),
      Memory: spec.memoryBytes,
      PidsLimit: spec.pidsLimit,
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: SSHD_CAPABILITIES,
      SecurityOpt: ['no-new-privileges'],
      // A cgroup namespace of its own: the container never sees the node's cgroup tree.
      CgroupnsMode: 'private',
    } as Docker.HostConfig,
    NetworkingConfig: {
      EndpointsConfig: { [spec.network]: { IPAMConfig: { IPv4Address: spec.ip } } },
    },
  };
}

/** A live change of limits: swap follows memory (twice it), so a smaller limit never fails on swap. */
export function limitsUpdate(limits: { cpuMillis?: number; memoryBytes?: number }): Record<string, number> {
  return {
    ...(limits.cpuMillis !== undefined ? { NanoCpus: nanoCpus(limits.cpuMillis) } : {}),
    ...(limits.memoryBytes !== undefined
      ? { Memory: limits.memoryBytes, MemorySwap: limits.memoryBytes * 2 }
      : {}),
  };
}

/**
 * The short-lived helper that works in a container's network namespace: it alone holds
 * NET_ADMIN, so the user's container never gets that capability. `$dev` is the interface whose
 * MAC is `$MAC` when `lines` run.
 */
export function interfaceHelperOptions(
  dockerId: string,
  image: string,
  env: Record<string, string>,
  lines: string[],
): Docker.ContainerCreateOptions {
  const script = [
    'set -e',
    'dev=""',
    'for d in /sys/class/net/*; do [ "$(cat "$d/address")" = "$MAC" ] && dev="${d##*/}"; done',
    ...lines,
  ].join('\n');
  return {
    Image: image,
    Cmd: ['/bin/sh', '-c', script],
    Env: Object.entries({ ...env, MAC: (env.MAC ?? '').toLowerCase() }).map(([k, v]) => `${k}=${v}`),
    Labels: { [LABELS.managed]: 'true', 'testbed.helper': 'network' },
    HostConfig: {
      NetworkMode: `container:${dockerId}`,
      CapDrop: ['ALL'],
      CapAdd: ['NET_ADMIN'],
      SecurityOpt: ['no-new-privileges'],
    },
  };
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

/** The create request of the node's network for a pool: macvlan on the parent link, else a bridge. */
export function networkCreateOptions(spec: NetworkSpec): Docker.NetworkCreateOptions {
  return {
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
  };
}
