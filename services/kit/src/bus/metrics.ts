import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface BusMetrics {
  published: Counter<'topic' | 'type'>;
  publishFailures: Counter<never>;
  /** From the outbox row's write to the broker's acknowledgement. */
  relayLatency: Histogram<'topic'>;
  consumed: Counter<'consumer' | 'topic' | 'outcome'>;
  /** One event's delivery: its handler's transaction, retries included, or its dead letter. */
  processing: Histogram<'consumer' | 'topic' | 'outcome'>;
  /** Messages of the topic not yet consumed by the group (Kafka; per the last fetched batch). */
  consumerLag: Gauge<'consumer' | 'topic'>;
  retried: Counter<'consumer' | 'topic'>;
  deadLettered: Counter<'consumer' | 'topic'>;
}

const cache = new WeakMap<Registry, BusMetrics>();

/**
 * The bus's counters in `registry` (a relay and a bus in one process share them), or unregistered
 * ones when there is no registry, so the code counts unconditionally. The backlog gauge counts
 * unpublished outbox rows when Prometheus scrapes, not on every relay pass.
 */
export function busMetrics(registry: Registry | undefined, backlog: () => Promise<number>): BusMetrics {
  if (registry) {
    const known = cache.get(registry);
    if (known) return known;
  }
  const registers = registry ? [registry] : [];
  const metrics: BusMetrics = {
    published: new Counter({
      name: 'bus_events_published_total',
      help: 'Outbox events published, by topic and CloudEvents type',
      labelNames: ['topic', 'type'],
      registers,
    }),
    publishFailures: new Counter({
      name: 'bus_relay_failures_total',
      help: 'Outbox relay passes that failed to publish',
      registers,
    }),
    relayLatency: new Histogram({
      name: 'bus_relay_latency_seconds',
      help: 'Time from an outbox row written to its event accepted by the broker',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    processing: new Histogram({
      name: 'bus_event_processing_seconds',
      help: 'Time a consumer took to settle one event (processed, duplicate or dead-lettered)',
      labelNames: ['consumer', 'topic', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'bus_consumer_lag_messages',
      help: 'Messages of a topic its consumer group has not consumed yet (Kafka, summed over partitions)',
      labelNames: ['consumer', 'topic'],
      registers,
    }),
    consumed: new Counter({
      name: 'bus_events_consumed_total',
      help: 'Events a consumer handled (outcome processed) or skipped as already handled (outcome duplicate)',
      labelNames: ['consumer', 'topic', 'outcome'],
      registers,
    }),
    retried: new Counter({
      name: 'bus_events_retried_total',
      help: 'Handler tries that failed and were retried',
      labelNames: ['consumer', 'topic'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'bus_events_dead_lettered_total',
      help: 'Events sent to the dead-letter path',
      labelNames: ['consumer', 'topic'],
      registers,
    }),
  };
  new Gauge({
    name: 'bus_outbox_backlog',
    help: 'Outbox rows not yet published',
    registers,
    async collect() {
      this.set(await backlog());
    },
  });
  if (registry) cache.set(registry, metrics);
  return metrics;
}
