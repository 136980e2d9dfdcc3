import { bucketStart } from '../domain/tiers';
import {
  advanceWatermark,
  markDirty,
  rollUpHours,
  rollUpMinutes,
  runsOf,
  takeDirty,
  watermark,
  type RollupTier,
} from '../store/rollup-store';
import type { StatsContext } from './context';

const BUCKET_MS: Record<RollupTier, number> = { minute: 60_000, hour: 3_600_000 };

/** Buckets remade per transaction: bounded work, so no pass holds its locks for long. */
const BUCKETS_PER_TX = 30;
/** Transactions per tier and pass: a long backlog is worked off over several passes. */
const TXS_PER_PASS = 40;

/**
 * One roll-up pass (the leader's task): move the minute watermark up to the last minute that
 * ended `lag` ago and remake every queued minute bucket; then the same for hours, up to the
 * minute watermark. A remade minute behind the hour watermark queues its hour again.
 */
export async function rollUp(ctx: StatsContext): Promise<{ minutes: number; hours: number }> {
  const now = ctx.clock.now().getTime();
  const minuteTarget = bucketStart(now - ctx.config.STATS_ROLLUP_LAG_MS, 60);
  await ctx.sql.transaction((tx) => advanceWatermark(tx, 'minute', minuteTarget));
  const minutes = await drain(ctx, 'minute');
  const minuteDone = (await watermark(ctx.sql, 'minute')) ?? minuteTarget;
  await ctx.sql.transaction((tx) => advanceWatermark(tx, 'hour', bucketStart(minuteDone, 3600)));
  const hours = await drain(ctx, 'hour');
  return { minutes, hours };
}

async function drain(ctx: StatsContext, tier: RollupTier): Promise<number> {
  let done = 0;
  for (let i = 0; i < TXS_PER_PASS; i++) {
    const stop = ctx.metrics.rollupSeconds.startTimer({ tier });
    const now = ctx.clock.now().getTime();
    const n = await ctx.sql.transaction(async (tx) => {
      const buckets = await takeDirty(tx, tier, BUCKETS_PER_TX, now - ctx.config.STATS_ROLLUP_SETTLE_MS);
      for (const run of runsOf(buckets, BUCKET_MS[tier])) {
        if (tier === 'minute') await rollUpMinutes(tx, run.fromMs, run.toMs);
        else await rollUpHours(tx, run.fromMs, run.toMs);
      }
      if (tier === 'minute' && buckets.length > 0) {
        const hourDone = (await watermark(tx, 'hour')) ?? Number.POSITIVE_INFINITY;
        const hours = new Set(buckets.map((b) => bucketStart(b, 3600)).filter((h) => h < hourDone));
        await markDirty(tx, 'hour', [...hours], now);
      }
      return buckets.length;
    });
    stop();
    done += n;
    if (n < BUCKETS_PER_TX) break;
  }
  return done;
}
