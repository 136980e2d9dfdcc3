import type { Clock, Database, Logger } from '@testbed/kit';
import type { StatsConfig } from '../config';
import type { Retention } from '../domain/tiers';
import type { StatsMetrics } from '../metrics';
import type { StatsSql } from '../store/sql';
import type { PartitionKeeper } from './partition-keeper';
import type { SeriesDirectory } from './series-directory';

/** What stats' use cases need; made by the service factory. */
export interface StatsContext {
  db: Database;
  sql: StatsSql;
  clock: Clock;
  logger: Logger;
  config: StatsConfig;
  metrics: StatsMetrics;
  retention: Retention;
  partitions: PartitionKeeper;
  directory: SeriesDirectory;
}

export function retentionOf(config: StatsConfig): Retention {
  return {
    rawMs: config.STATS_RAW_RETENTION_HOURS * 3_600_000,
    minuteMs: config.STATS_MINUTE_RETENTION_HOURS * 3_600_000,
    hourMs: config.STATS_HOUR_RETENTION_HOURS * 3_600_000,
  };
}
