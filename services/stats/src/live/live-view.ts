import type { Clock, Logger, StreamRecord } from '@testbed/kit';
import { decodeSampleBatch, WireFormatError, type SampleBatch } from '@testbed/node-agent/src/wire';
import { isNew, type IngestCursor } from '../domain/batch-order';
import { cpuShareOfLimit, deriveSample, shareOfLimit, type CounterState } from '../domain/derive';
import type { StatsMetrics } from '../metrics';
import { seriesId } from '../store/series-store';
import type { SeriesDirectory } from '../use-cases/series-directory';
import type { LiveSample } from './live-sample';

export type { LiveSample };

export type LiveEvent =
  | { type: 'samples'; node: string; t: string; intervalMs: number; items: LiveSample[] }
  | { type: 'gone'; node: string; items: { containerId: string; owner?: string }[] };

interface NodeState {
  cursor: IngestCursor;
  intervalMs: number;
  /** When its newest batch arrived here (this process's clock). */
  seenAtMs: number;
  entries: Map<string, LiveSample>;
}

/** A batch older than this many intervals updates counters but is not shown (a backlog draining). */
const SHOWN_WITHIN_INTERVALS = 3;

/**
 * The live view: the newest sample of every container, from every batch of every node (each
 * replica reads the whole topic: a broadcast subscription), with its figures derived as the
 * ingest derives them. A container missing from its node's next batch has stopped being
 * sampled (stopped, removed): it leaves the view at once; a node whose batches stop leaves it
 * after `staleIntervals` intervals.
 */
export class LiveView {
  private readonly nodes = new Map<string, NodeState>();
  private readonly counters = new Map<string, CounterState>();
  private readonly listeners = new Set<(e: LiveEvent) => void>();

  constructor(
    private readonly deps: {
      directory: SeriesDirectory;
      clock: Clock;
      logger: Logger;
      metrics: StatsMetrics;
      staleIntervals: number;
    },
  ) {}

  onEvent(listener: (e: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  readonly handle = async (records: StreamRecord[]): Promise<void> => {
    for (const r of records) {
      let batch: SampleBatch;
      try {
        batch = decodeSampleBatch(r.value);
      } catch (err) {
        if (err instanceof WireFormatError) continue; // the ingest counts it
        throw err;
      }
      this.onBatch(batch);
    }
  };

  /** Every container now in view, of every node (or of one). */
  snapshot(node?: string): LiveSample[] {
    const out: LiveSample[] = [];
    for (const [name, n] of this.nodes) if (!node || name === node) out.push(...n.entries.values());
    return out;
  }

  onBatch(b: SampleBatch): void {
    const now = this.deps.clock.now().getTime();
    const prev = this.nodes.get(b.node);
    if (prev && !isNew(prev.cursor, b.epoch, b.seq)) return;
    const shown = b.t >= now - SHOWN_WITHIN_INTERVALS * b.intervalMs;
    const entries = new Map<string, LiveSample>();
    for (const s of b.samples) {
      const id = seriesId(b.node, s.ref);
      const { sample, state } = deriveSample(this.counters.get(id), b, s);
      this.counters.set(id, state);
      const info = this.deps.directory.lookup(b.node, s.ref);
      const dockerId = info?.dockerId ?? s.ref;
      entries.set(s.ref, {
        t: new Date(sample.tMs).toISOString(),
        containerId: info?.platformId ?? dockerId,
        dockerId,
        name: info?.name ?? s.ref,
        node: b.node,
        ...(info?.owner ? { owner: info.owner } : {}),
        cpuPercent: sample.cpuPercent,
        ...(sample.cpuLimitMillis !== null ? { cpuLimitMillis: sample.cpuLimitMillis } : {}),
        ...optional('cpuPercentOfLimit', cpuShareOfLimit(sample.cpuPercent, sample.cpuLimitMillis)),
        memoryBytes: sample.memoryBytes,
        ...(sample.memoryLimitBytes !== null ? { memoryLimitBytes: sample.memoryLimitBytes } : {}),
        ...optional('memoryPercentOfLimit', shareOfLimit(sample.memoryBytes, sample.memoryLimitBytes)),
        rxBytes: sample.rxBytes,
        txBytes: sample.txBytes,
        rxBytesPerSecond: sample.rxBytesPerSecond,
        txBytesPerSecond: sample.txBytesPerSecond,
        pids: sample.pids,
      });
    }
    // Counters of containers no longer sampled are of no further use.
    for (const ref of prev?.entries.keys() ?? [])
      if (!entries.has(ref)) this.counters.delete(seriesId(b.node, ref));
    if (!shown) {
      this.nodes.set(b.node, {
        cursor: { node: b.node, epoch: b.epoch, seq: b.seq },
        intervalMs: b.intervalMs,
        seenAtMs: prev?.seenAtMs ?? now,
        entries: prev?.entries ?? new Map(),
      });
      return;
    }
    const gone = [...(prev?.entries ?? [])].filter(([ref]) => !entries.has(ref)).map(([, e]) => e);
    this.nodes.set(b.node, {
      cursor: { node: b.node, epoch: b.epoch, seq: b.seq },
      intervalMs: b.intervalMs,
      seenAtMs: now,
      entries,
    });
    if (gone.length > 0) this.emit({ type: 'gone', node: b.node, items: gone.map(goneItem) });
    this.deps.metrics.liveDelaySeconds.observe(Math.max(0, now - b.t) / 1000);
    this.emit({
      type: 'samples',
      node: b.node,
      t: new Date(b.t).toISOString(),
      intervalMs: b.intervalMs,
      items: [...entries.values()],
    });
  }

  /** Nodes whose batches stopped coming leave the view (their agent or the broker is away). */
  sweep(): void {
    const now = this.deps.clock.now().getTime();
    for (const [node, n] of this.nodes) {
      if (n.entries.size === 0 || now - n.seenAtMs <= this.deps.staleIntervals * n.intervalMs) continue;
      const gone = [...n.entries.values()];
      n.entries = new Map();
      this.emit({ type: 'gone', node, items: gone.map(goneItem) });
    }
  }

  private emit(e: LiveEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.deps.logger.warn({ err }, 'a live listener failed');
      }
    }
  }
}

function goneItem(e: LiveSample): { containerId: string; owner?: string } {
  return { containerId: e.containerId, ...(e.owner ? { owner: e.owner } : {}) };
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}
