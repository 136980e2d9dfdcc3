/**
 * What a node agent publishes once per interval to `testbed.stats.samples` (keyed by node): the
 * raw counters of every container it samples. Counters are cumulative, as the kernel keeps them;
 * the stats service turns them into rates. Each batch stands alone (no reference to an earlier
 * one), so a batch dropped from a full buffer costs only its own interval.
 */

/** Where the figures came from: the node's cgroup files, or Docker's one-shot stats (a VM's daemon). */
export type SampleSource = 'cgroup-v1' | 'cgroup-v2' | 'docker-stats';

export const SAMPLE_SOURCES: readonly SampleSource[] = ['cgroup-v1', 'cgroup-v2', 'docker-stats'];

export interface InterfaceCounters {
  /** The interface's name inside the container (eth0, eth1…); the loopback is never sent. */
  name: string;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

export interface ContainerSample {
  /** Docker's short id: the first 12 hex digits of the container's id. */
  ref: string;
  /** When this container's counters were read, in ms after the batch's `t`. */
  offsetMs: number;
  /**
   * Bumped each time the agent opens the container's cgroup anew (first sight, start, restart):
   * counters of a new generation start over, so they never make a delta with the old ones.
   */
  generation: number;
  /** CPU time used since the cgroup was made, in microseconds. */
  cpuUsec: number;
  /** The cgroup's memory use (v1 `memory.usage_in_bytes`, v2 `memory.current`). */
  memoryUsageBytes: number;
  /** Page cache that can be dropped at once (v1 `total_inactive_file`, v2 `inactive_file`). */
  memoryInactiveFileBytes: number;
  /** The memory limit; null when unlimited. */
  memoryLimitBytes: number | null;
  /** The CPU limit (CFS quota over period) in millicores; null when unlimited. */
  cpuLimitMillis: number | null;
  pids: number;
  interfaces: InterfaceCounters[];
}

export interface SampleBatch {
  node: string;
  /** The agent process's start time (ms since 1970): orders the agent's lifetimes on a node. */
  epoch: number;
  /** 1, 2, 3… within an epoch: the stats service stores each (node, epoch, seq) once. */
  seq: number;
  /** When the interval's reads began (ms since 1970). */
  t: number;
  intervalMs: number;
  /** The node's online CPUs: no container can use more. */
  cpus: number;
  source: SampleSource;
  samples: ContainerSample[];
}

/** Docker's short id of a full id (or of a short one). */
export function shortId(dockerId: string): string {
  return dockerId.slice(0, 12).toLowerCase();
}

export const SHORT_ID = /^[0-9a-f]{12}$/;
