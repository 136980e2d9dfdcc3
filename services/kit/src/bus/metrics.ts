import { Counter, Gauge, type Registry } from 'prom-client';

export interface BusMetrics {
  published: Counter<'topic'>;
  publishFailures: Counter<never>;
  consumed: Counter<'consumer' | 'topic' | 'outcome'>;
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
      help: 'Outbox events published',
      labelNames: ['topic'],
      registers,
    }),
    publishFailures: new Counter({
      name: 'bus_relay_failures_total',
      help: 'Outbox relay passes that failed to publish',
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
