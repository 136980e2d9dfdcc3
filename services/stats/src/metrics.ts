import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface StatsMetrics {
  batches: Counter<'outcome'>;
  samples: Counter<'outcome'>;
  ingestSeconds: Histogram<never>;
  rollupSeconds: Histogram<'tier'>;
  partitions: Counter<'tier' | 'action'>;
  liveSubscribers: Gauge<'transport'>;
  liveDelaySeconds: Histogram<never>;
  heartbeats: Counter<'outcome'>;
}

/** stats' own series next to the kit's bus and HTTP metrics. */
export function statsMetrics(registry: Registry): StatsMetrics {
  const registers = [registry];
  return {
    batches: new Counter({
      name: 'stats_batches_total',
      help: 'Sample batches by outcome: stored, duplicate (stored before), malformed',
      labelNames: ['outcome'],
      registers,
    }),
    samples: new Counter({
      name: 'stats_samples_total',
      help: 'Container samples by outcome: stored, or refused (too old for raw retention, in the future)',
      labelNames: ['outcome'],
      registers,
    }),
    ingestSeconds: new Histogram({
      name: 'stats_ingest_seconds',
      help: 'Time of one ingest transaction (decode, derive, COPY, commit)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    rollupSeconds: new Histogram({
      name: 'stats_rollup_seconds',
      help: 'Time of one roll-up pass per tier',
      labelNames: ['tier'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers,
    }),
    partitions: new Counter({
      name: 'stats_partitions_total',
      help: 'Partitions made ahead or dropped at the end of retention',
      labelNames: ['tier', 'action'],
      registers,
    }),
    liveSubscribers: new Gauge({
      name: 'stats_live_subscribers',
      help: 'Open live streams by transport',
      labelNames: ['transport'],
      registers,
    }),
    liveDelaySeconds: new Histogram({
      name: 'stats_live_delay_seconds',
      help: "Time from the agent's read to the sample's fan-out to live subscribers",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    heartbeats: new Counter({
      name: 'stats_heartbeats_total',
      help: 'Node agent heartbeats by outcome: recorded, malformed',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
