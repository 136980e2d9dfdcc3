import type { ContainerSample, SampleBatch } from '@testbed/node-agent/src/wire';

/** What is kept of a series' previous sample to make rates of the next one. */
export interface CounterState {
  epoch: number;
  generation: number;
  tMs: number;
  cpuUsec: number;
  rxBytes: number;
  txBytes: number;
}

/** One sample as stored and shown: counters turned into figures. */
export interface DerivedSample {
  tMs: number;
  cpuUsec: number;
  /** Percent of one core over the interval before `tMs`; null where a new counter series starts. */
  cpuPercent: number | null;
  cpuLimitMillis: number | null;
  /** As `docker stats` counts it: usage less the inactive file cache. */
  memoryBytes: number;
  memoryLimitBytes: number | null;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  rxBytesPerSecond: number | null;
  txBytesPerSecond: number | null;
  pids: number;
}

/** A gap longer than this between two samples is not averaged over: the series starts anew. */
const MAX_GAP_MS = 3_600_000;

/**
 * Docker's CLI counts memory as usage minus the inactive file cache (v1 `total_inactive_file`,
 * v2 `inactive_file`) when that is smaller than the usage, and the usage itself otherwise.
 */
export function dockerStatsMemory(usage: number, inactiveFile: number): number {
  return inactiveFile < usage ? usage - inactiveFile : usage;
}

/**
 * Turns one sample's counters into figures, given the series' previous counters. The counters
 * make a delta only when they belong to the same series: the same generation of the same agent,
 * or (across an agent's restart) counters that did not go back. A counter that went back (a
 * restart, a recreate), a gap over an hour or a CPU figure beyond what the node's CPUs can give
 * starts a new series instead: no negative and no absurd figure is ever made.
 */
export function deriveSample(
  prev: CounterState | undefined,
  batch: Pick<SampleBatch, 'epoch' | 't' | 'cpus'>,
  s: ContainerSample,
): { sample: DerivedSample; state: CounterState } {
  const tMs = batch.t + s.offsetMs;
  let rxBytes = 0;
  let txBytes = 0;
  let rxPackets = 0;
  let txPackets = 0;
  for (const i of s.interfaces) {
    rxBytes += i.rxBytes;
    txBytes += i.txBytes;
    rxPackets += i.rxPackets;
    txPackets += i.txPackets;
  }
  const state: CounterState = {
    epoch: batch.epoch,
    generation: s.generation,
    tMs,
    cpuUsec: s.cpuUsec,
    rxBytes,
    txBytes,
  };
  const dtMs = prev ? tMs - prev.tMs : 0;
  const continues =
    prev !== undefined &&
    dtMs > 0 &&
    dtMs <= MAX_GAP_MS &&
    (prev.epoch !== batch.epoch || prev.generation === s.generation) &&
    s.cpuUsec >= prev.cpuUsec;
  let cpuPercent: number | null = null;
  if (continues) {
    // µs of CPU over ms of wall time: / (dt × 1000) × 100.
    const pct = (s.cpuUsec - prev.cpuUsec) / (dtMs * 10);
    // Allow for the jitter of two reads' timestamps, never for more than every CPU busy.
    if (pct <= batch.cpus * 100 * 1.05 + 1) cpuPercent = pct;
  }
  const rate = (now: number, before: number | undefined) =>
    continues && before !== undefined && now >= before ? ((now - before) * 1000) / dtMs : null;
  return {
    sample: {
      tMs,
      cpuUsec: s.cpuUsec,
      cpuPercent,
      cpuLimitMillis: s.cpuLimitMillis,
      memoryBytes: dockerStatsMemory(s.memoryUsageBytes, s.memoryInactiveFileBytes),
      memoryLimitBytes: s.memoryLimitBytes,
      rxBytes,
      txBytes,
      rxPackets,
      txPackets,
      rxBytesPerSecond: rate(rxBytes, prev?.rxBytes),
      txBytesPerSecond: rate(txBytes, prev?.txBytes),
      pids: s.pids,
    },
    state,
  };
}

/** A figure as a share (percent) of its limit, where there is one. */
export function shareOfLimit(value: number | null, limit: number | null): number | undefined {
  if (value === null || limit === null || limit <= 0) return undefined;
  return (value / limit) * 100;
}

/** CPU percent of one core as a share of a limit in millicores (1000 = one core = 100 %). */
export function cpuShareOfLimit(cpuPercent: number | null, limitMillis: number | null): number | undefined {
  return shareOfLimit(cpuPercent, limitMillis === null ? null : limitMillis / 10);
}
