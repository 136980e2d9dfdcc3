import { defineService, type ServiceModule } from '@testbed/kit';
import type { StatsConfig } from './config';
import { statsRecordSubscriptions, statsSubscriptions } from './events/handlers';
import { historyRoutes } from './http/history-routes';
import { liveRoutes } from './http/live-routes';
import { liveSocket } from './http/live-socket';
import { LiveHub } from './live/live-hub';
import { LiveView } from './live/live-view';
import { statsMetrics } from './metrics';
import { initRollupState } from './store/rollup-store';
import { statsSql } from './store/sql';
import { retentionOf, type StatsContext } from './use-cases/context';
import { SampleIngest } from './use-cases/ingest';
import { PartitionKeeper } from './use-cases/partition-keeper';
import { rollUp } from './use-cases/rollups';
import { SeriesDirectory } from './use-cases/series-directory';

export { statsConfigShape, defaultStatsConfig, type StatsConfig } from './config';
export type { LiveSample } from './live/live-view';

/**
 * The stats service: ingests the node agents' sample batches into raw and rolled-up series,
 * keeps the newest sample of every container for the live stream and the overview, and serves
 * history. Every replica serves the live stream of every node; the ingest's partitions are shared
 * among replicas; roll-ups and partitions are the leader's.
 */
export const createStatsService = defineService<StatsConfig>('stats', (deps): ServiceModule => {
  const sql = statsSql(deps.db);
  const metrics = statsMetrics(deps.metrics);
  const retention = retentionOf(deps.config);
  const directory = new SeriesDirectory(sql, deps.logger);
  const ctx: StatsContext = {
    db: deps.db,
    sql,
    clock: deps.clock,
    logger: deps.logger,
    config: deps.config,
    metrics,
    retention,
    partitions: new PartitionKeeper(sql, retention, metrics, deps.logger),
    directory,
  };
  const live = new LiveView({
    directory,
    clock: deps.clock,
    logger: deps.logger,
    metrics,
    staleIntervals: deps.config.STATS_LIVE_STALE_INTERVALS,
  });
  const hub = new LiveHub(live, metrics);
  const socket = liveSocket(hub);
  const ingest = new SampleIngest(ctx);
  let sweeper: NodeJS.Timeout | undefined;

  return {
    name: 'stats',
    routes: [...historyRoutes(ctx), ...liveRoutes(ctx, hub)],
    upgrades: [socket.route],
    subscriptions: statsSubscriptions(ctx),
    recordSubscriptions: statsRecordSubscriptions(ctx, ingest, live),
    leaderTasks: [
      {
        name: 'stats-rollups',
        intervalMs: deps.config.STATS_ROLLUP_INTERVAL_MS,
        run: async () => {
          await rollUp(ctx);
        },
      },
      {
        name: 'stats-partitions',
        intervalMs: deps.config.STATS_PARTITION_INTERVAL_MS,
        run: async () => {
          await ctx.partitions.maintain(deps.clock.now().getTime());
        },
      },
    ],
    start: async () => {
      // Side by side, as none needs another: every replica makes sure the partitions of now exist
      // before its ingest starts (the consumers start after every module has).
      const now = deps.clock.now().getTime();
      await Promise.all([initRollupState(sql, now), ctx.partitions.maintain(now), directory.refresh()]);
      sweeper = setInterval(() => live.sweep(), 1000);
      sweeper.unref();
    },
    closeStreams: () => {
      hub.closeAll();
      socket.close();
    },
    stop: async () => {
      if (sweeper) clearInterval(sweeper);
    },
  };
});
