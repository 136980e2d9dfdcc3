import type { StreamRecord } from '@testbed/kit';
import { decodeSampleBatch, WireFormatError, type SampleBatch } from '@testbed/node-agent/src/wire';
import { isNew, type IngestCursor } from '../domain/batch-order';
import { deriveSample, type CounterState } from '../domain/derive';
import { bucketStart } from '../domain/tiers';
import { lockCursors, saveCursors } from '../store/cursor-store';
import { markDirty, minuteWatermarkShared } from '../store/rollup-store';
import { insertRawSamples, lastCounters, type RawSampleRow } from '../store/sample-store';
import { resolveSeriesKeys, seriesId } from '../store/series-store';
import type { SqlTx } from '../store/sql';
import type { StatsContext } from './context';

/** Samples stamped further ahead than this are refused (an agent's clock gone wrong). */
const MAX_FUTURE_MS = 86_400_000;
/** Counters older than this in the database do not continue a series after a restart. */
const COUNTER_LOOKBACK_MS = 3_600_000;

/**
 * The ingest: the record handler of `testbed.stats.samples` (consumer group `stats`). One call is
 * one transaction: lock the nodes' cursors, keep the batches that come after them, turn counters
 * into figures, COPY the rows, queue the roll-up buckets a late sample lands in, move the cursors,
 * commit. The stream commits its offsets only after that, and a batch it hands over again is
 * behind the cursor: stored once, whatever is replayed.
 */
export class SampleIngest {
  /** Counters of each series' newest stored sample: kept only after its transaction committed. */
  private readonly counters = new Map<number, CounterState>();
  private readonly keys = new Map<string, number>();

  constructor(private readonly ctx: StatsContext) {}

  readonly handle = async (records: StreamRecord[]): Promise<void> => {
    const batches = this.decode(records);
    if (batches.length === 0) return;
    const now = this.ctx.clock.now().getTime();
    const oldest = now - this.ctx.retention.rawMs;
    const keep = (tMs: number) => tMs >= oldest && tMs <= now + MAX_FUTURE_MS;
    const times = batches.flatMap((b) => b.samples.map((s) => b.t + s.offsetMs)).filter(keep);
    // DDL outside the transaction: making a partition locks its parent table.
    await this.ctx.partitions.ensure('raw', times);

    const stop = this.ctx.metrics.ingestSeconds.startTimer();
    const outcome = await this.ctx.sql.transaction(async (tx) => {
      const nodes = [...new Set(batches.map((b) => b.node))].sort();
      const cursors = await lockCursors(tx, nodes);
      const fresh: SampleBatch[] = [];
      for (const b of batches) {
        const c = cursors.get(b.node);
        if (!isNew(c, b.epoch, b.seq)) continue;
        fresh.push(b);
        cursors.set(b.node, { node: b.node, epoch: b.epoch, seq: b.seq });
      }
      if (fresh.length === 0) return { fresh, rows: [], refused: 0, counters: new Map(), keys: new Map() };

      const keys = await this.seriesKeys(tx, fresh);
      // A remembered sample older than a couple of intervals may have been followed by others
      // that another replica stored while it held the partition: those come from the database.
      const staleBefore = Math.min(...fresh.map((b) => b.t - 2.5 * b.intervalMs));
      const counters = await this.previousCounters(tx, [...new Set(keys.values())], now, staleBefore);
      const rows: RawSampleRow[] = [];
      let refused = 0;
      for (const b of fresh) {
        for (const s of b.samples) {
          const series = keys.get(seriesId(b.node, s.ref))!;
          const { sample, state } = deriveSample(counters.get(series), b, s);
          counters.set(series, state);
          if (keep(sample.tMs)) rows.push({ series, sample });
          else refused++;
        }
      }
      await insertRawSamples(tx, rows);
      const done = await minuteWatermarkShared(tx);
      const late = new Set(rows.filter((r) => r.sample.tMs < done).map((r) => bucketStart(r.sample.tMs, 60)));
      await markDirty(tx, 'minute', [...late], now);
      await saveCursors(
        tx,
        nodes.map((n) => cursors.get(n)).filter((c): c is IngestCursor => c !== undefined),
      );
      return { fresh, rows, refused, counters, keys };
    });
    stop();
    // Only what committed is remembered: a rolled-back call leaves no key or counter behind.
    for (const [id, key] of outcome.keys) this.keys.set(id, key);
    for (const [series, state] of outcome.counters) this.counters.set(series, state);
    const { metrics } = this.ctx;
    metrics.batches.inc({ outcome: 'stored' }, outcome.fresh.length);
    metrics.batches.inc({ outcome: 'duplicate' }, batches.length - outcome.fresh.length);
    metrics.samples.inc({ outcome: 'stored' }, outcome.rows.length);
    if (outcome.refused > 0) metrics.samples.inc({ outcome: 'refused' }, outcome.refused);
  };

  private decode(records: StreamRecord[]): SampleBatch[] {
    const out: SampleBatch[] = [];
    for (const r of records) {
      try {
        out.push(decodeSampleBatch(r.value));
      } catch (err) {
        if (!(err instanceof WireFormatError)) throw err;
        // No retry can read it: counted and passed over, so the partition moves on.
        this.ctx.metrics.batches.inc({ outcome: 'malformed' });
        this.ctx.logger.warn(
          { err: err.message, topic: r.topic, partition: r.partition, offset: r.offset },
          'a record on the samples topic is not a sample batch: skipped',
        );
      }
    }
    return out;
  }

  private async seriesKeys(tx: SqlTx, batches: SampleBatch[]): Promise<Map<string, number>> {
    const keys = new Map<string, number>();
    const wanted = new Map<string, { node: string; ref: string }>();
    for (const b of batches)
      for (const s of b.samples) {
        const id = seriesId(b.node, s.ref);
        const known = this.keys.get(id);
        if (known !== undefined) keys.set(id, known);
        else wanted.set(id, { node: b.node, ref: s.ref });
      }
    if (wanted.size > 0)
      for (const [id, key] of await resolveSeriesKeys(tx, [...wanted.values()])) keys.set(id, key);
    return keys;
  }

  /** The series' counters as this process last stored them, else as the database has them. */
  private async previousCounters(
    tx: SqlTx,
    series: number[],
    nowMs: number,
    staleBeforeMs: number,
  ): Promise<Map<number, CounterState>> {
    const out = new Map<number, CounterState>();
    const unknown: number[] = [];
    for (const s of series) {
      const c = this.counters.get(s);
      if (c && c.tMs >= staleBeforeMs) out.set(s, c);
      else unknown.push(s);
    }
    for (const [s, c] of await lastCounters(tx, unknown, nowMs - COUNTER_LOOKBACK_MS)) out.set(s, c);
    return out;
  }
}
