import { z } from 'zod';

const hours = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const ms = (fallback: number) => z.coerce.number().int().min(50).max(3_600_000).default(fallback);

/** stats' own variables: how long each tier is kept, how roll-ups and partitions are kept up. */
export const statsConfigShape = z.object({
  /** Raw samples are kept this long (whole daily partitions are dropped after it). */
  STATS_RAW_RETENTION_HOURS: hours(48, 24 * 366),
  /** Per-minute roll-ups are kept this long. */
  STATS_MINUTE_RETENTION_HOURS: hours(90 * 24, 24 * 3660),
  /** Per-hour roll-ups are kept this long. */
  STATS_HOUR_RETENTION_HOURS: hours(730 * 24, 24 * 36600),
  /** How often the leader rolls closed minutes and hours up. */
  STATS_ROLLUP_INTERVAL_MS: ms(15_000),
  /** A minute is rolled up once it ended this long ago (samples in flight land first). */
  STATS_ROLLUP_LAG_MS: z.coerce.number().int().min(0).max(3_600_000).default(15_000),
  /**
   * A bucket a late sample marked is remade once no sample has marked it for this long: a backlog
   * draining after an outage keeps marking the same minutes, which are then made once, at its end.
   */
  STATS_ROLLUP_SETTLE_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** How often the leader makes partitions ahead and drops those past retention. */
  STATS_PARTITION_INTERVAL_MS: ms(3_600_000),
  /** A container missing from its node's batches this many intervals has left the live view. */
  STATS_LIVE_STALE_INTERVALS: z.coerce.number().int().min(1).max(100).default(2),
});

export type StatsConfig = z.infer<typeof statsConfigShape>;

export const defaultStatsConfig: StatsConfig = statsConfigShape.parse({});
