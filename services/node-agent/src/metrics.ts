import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SAMPLE_SOURCES, type SampleSource } from './wire/sample-batch';

/** The agent's own figures, on a Registry of its own (the embedded host merges it into its own). */
export function createAgentMetrics(registry: Registry = new Registry()) {
  const registers = [registry];
  const source = new Gauge({
    name: 'node_agent_source',
    help: 'Where the counters come from: 1 for the source in use (cgroup-v1, cgroup-v2, docker-stats)',
    labelNames: ['source'],
    registers,
  });
  return {
    registry,
    batchesMade: new Counter({
      name: 'node_agent_batches_made_total',
      help: 'Sample batches made (one per interval)',
      registers,
    }),
    batchesSent: new Counter({
      name: 'node_agent_batches_sent_total',
      help: 'Sample batches the broker took',
      registers,
    }),
    batchesDropped: new Counter({
      name: 'node_agent_batches_dropped_total',
      help: 'Sample batches dropped, oldest first, because the buffer was full (the broker away)',
      registers,
    }),
    samplesSent: new Counter({
      name: 'node_agent_samples_sent_total',
      help: 'Container samples in the batches the broker took',
      registers,
    }),
    bytesSent: new Counter({
      name: 'node_agent_sample_bytes_sent_total',
      help: 'Bytes of the sample batch records the broker took (record values, encoded and compressed)',
      registers,
    }),
    heartbeatsSent: new Counter({
      name: 'node_agent_heartbeats_sent_total',
      help: 'Heartbeats the broker took',
      registers,
    }),
    sendFailures: new Counter({
      name: 'node_agent_send_failures_total',
      help: 'Sends to the broker that failed (retried with backoff)',
      registers,
    }),
    intervalsSkipped: new Counter({
      name: 'node_agent_intervals_skipped_total',
      help: 'Intervals not sampled because the previous one was still being read (docker-stats fallback)',
      registers,
    }),
    bufferDepth: new Gauge({
      name: 'node_agent_buffer_batches',
      help: 'Sample batches waiting for the broker',
      registers,
    }),
    containers: new Gauge({
      name: 'node_agent_containers_sampled',
      help: 'Containers sampled in the last interval',
      registers,
    }),
    readSeconds: new Histogram({
      name: 'node_agent_read_duration_seconds',
      help: 'Time to read every container of one interval',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5],
      registers,
    }),
    setSource(active: SampleSource): void {
      for (const s of SAMPLE_SOURCES) source.set({ source: s }, s === active ? 1 : 0);
    },
  };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;
