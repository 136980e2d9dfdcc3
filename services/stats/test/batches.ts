import { randomBytes } from 'node:crypto';
import { encodeSampleBatch, type ContainerSample, type SampleBatch } from '@testbed/node-agent';

/** A Docker-like id and its short ref, for containers of synthetic batches. */
export function dockerId(): { id: string; ref: string } {
  const id = randomBytes(32).toString('hex');
  return { id, ref: id.slice(0, 12) };
}

export function sampleOf(ref: string, over: Partial<ContainerSample> = {}): ContainerSample {
  return {
    ref,
    offsetMs: 0,
    generation: 1,
    cpuUsec: 0,
    memoryUsageBytes: 32 * 1024 * 1024,
    memoryInactiveFileBytes: 4 * 1024 * 1024,
    memoryLimitBytes: 64 * 1024 * 1024,
    cpuLimitMillis: null,
    pids: 3,
    interfaces: [{ name: 'eth0', rxBytes: 1000, rxPackets: 10, txBytes: 500, txPackets: 5 }],
    ...over,
  };
}

export function batchOf(
  node: string,
  over: Partial<SampleBatch> & Pick<SampleBatch, 'seq' | 't' | 'samples'>,
): SampleBatch {
  return { node, epoch: 1_700_000_000_000, intervalMs: 3000, cpus: 2, source: 'cgroup-v1', ...over };
}

/** Nodes with containers each, as a simulated fleet of agents. */
export interface Fleet {
  nodes: { name: string; refs: string[] }[];
}

export function fleetOf(prefix: string, nodes: number, containers: number): Fleet {
  return {
    nodes: Array.from({ length: nodes }, (_, n) => ({
      name: `${prefix}-${n}`,
      refs: Array.from({ length: containers }, () => dockerId().ref),
    })),
  };
}

/**
 * The fleet's records of interval `i` (one batch per node, 3 s apart from `base`), as the agents
 * would send them; `sample` makes container k's counters.
 */
export function fleetRecords(
  fleet: Fleet,
  base: number,
  i: number,
  sample: (ref: string, k: number) => Partial<ContainerSample>,
): { key: string; value: Buffer }[] {
  return fleet.nodes.map((n) => ({
    key: n.name,
    value: encodeSampleBatch(
      batchOf(n.name, {
        epoch: base,
        seq: i + 1,
        t: base + i * 3000,
        samples: n.refs.map((ref, k) => sampleOf(ref, sample(ref, k))),
      }),
    ),
  }));
}
