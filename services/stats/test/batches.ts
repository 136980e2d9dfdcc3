import { randomBytes } from 'node:crypto';
import type { ContainerSample, SampleBatch } from '@testbed/node-agent';

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
