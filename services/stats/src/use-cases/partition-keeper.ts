import type { Logger } from '@testbed/kit';
import {
  isExpired,
  partitionOf,
  partitionsCovering,
  PARTITION_SPAN_MS,
  type Partition,
} from '../domain/partitions';
import { TIERS, type Retention, type Tier } from '../domain/tiers';
import type { StatsMetrics } from '../metrics';
import { createPartition, dropPartition, listPartitions } from '../store/partition-store';
import type { SqlSession } from '../store/sql';

const RETENTION_OF: Record<Tier, keyof Retention> = { raw: 'rawMs', minute: 'minuteMs', hour: 'hourMs' };

/**
 * Keeps each tier's partitions: the current and the next span made ahead (so the ingest rarely
 * makes one), any a late sample needs made on demand, and those wholly past retention dropped.
 * Remembers what exists, so the ingest asks the catalogue only for a span it has not seen.
 */
export class PartitionKeeper {
  private readonly known = new Set<string>();

  constructor(
    private readonly sql: SqlSession,
    private readonly retention: Retention,
    private readonly metrics: StatsMetrics,
    private readonly logger: Logger,
  ) {}

  /** Makes sure the partitions holding these times exist (outside the caller's transaction). */
  async ensure(tier: Tier, timesMs: Iterable<number>): Promise<void> {
    const missing = new Map<string, Partition>();
    for (const t of timesMs) {
      const p = partitionOf(tier, t);
      if (!this.known.has(p.name)) missing.set(p.name, p);
    }
    for (const p of missing.values()) {
      if (await createPartition(this.sql, p)) this.metrics.partitions.inc({ tier, action: 'created' });
      this.known.add(p.name);
    }
  }

  /**
   * The leader's pass: every tier's partitions over its whole retention and one span ahead (empty
   * partitions cost nothing; roll-ups of late samples then never wait for DDL), expired ones dropped.
   * The catalogue is read first, so only the missing are made: a start with 90 days of minute and
   * two years of hour partitions in place is three reads, not some 45 `CREATE … IF NOT EXISTS`.
   */
  async maintain(nowMs: number): Promise<{ dropped: string[] }> {
    const dropped: string[] = [];
    for (const tier of TIERS) {
      const retentionMs = this.retention[RETENTION_OF[tier]];
      const existing = await listPartitions(this.sql, tier);
      for (const p of existing) this.known.add(p.name);
      const live = partitionsCovering(tier, nowMs - retentionMs, nowMs + PARTITION_SPAN_MS[tier]);
      await this.ensure(
        tier,
        live.filter((p) => !isExpired(p, nowMs, retentionMs)).map((p) => p.fromMs),
      );
      for (const p of existing) {
        if (!isExpired(p, nowMs, retentionMs)) continue;
        await dropPartition(this.sql, p);
        this.known.delete(p.name);
        this.metrics.partitions.inc({ tier, action: 'dropped' });
        dropped.push(p.name);
      }
    }
    if (dropped.length > 0) this.logger.info({ dropped }, 'dropped partitions past retention');
    return { dropped };
  }
}
