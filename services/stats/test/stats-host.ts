import { randomUUID } from 'node:crypto';
import { enqueueEvent, type Clock } from '@testbed/kit';
import { encodeSampleBatch, STATS_SAMPLES_TOPIC, type SampleBatch } from '@testbed/node-agent';
import { PROVISIONING_EVENTS, type ContainerStartedEvent } from '@testbed/provisioning/src/events/contracts';
import { startTestHost, type TestHost } from '../../../test/support/test-host';
import { createStatsService, defaultStatsConfig, type StatsConfig } from '../src';

/** A host running the stats service alone, as its tests need it. */
export async function startStatsHost(opts: {
  name: string;
  database?: 'pglite' | 'postgres';
  bus?: 'in-process' | 'kafka';
  clock?: Clock;
  config?: Partial<StatsConfig>;
}): Promise<TestHost> {
  return startTestHost({
    name: opts.name,
    database: opts.database ?? 'pglite',
    bus: opts.bus ?? 'in-process',
    ...(opts.clock ? { clock: opts.clock } : {}),
    modules: (deps) => [
      createStatsService({ ...deps, source: 'stats', config: { ...defaultStatsConfig, ...opts.config } }),
    ],
  });
}

/** Publishes batches the way an agent does (its wire format, keyed by node). */
export async function publishBatches(host: TestHost, batches: SampleBatch[]): Promise<void> {
  for (const b of batches)
    await host.bus.records.send(STATS_SAMPLES_TOPIC, [{ key: b.node, value: encodeSampleBatch(b) }]);
}

/** What provisioning announces when a container starts (through the outbox, as provisioning does). */
export async function announceStarted(
  host: TestHost,
  c: { node: string; owner: string; name: string; dockerId: string; containerId?: string },
): Promise<string> {
  const containerId = c.containerId ?? randomUUID();
  const data: ContainerStartedEvent = {
    containerId,
    name: c.name,
    owner: c.owner,
    node: c.node,
    requestId: `prov:${randomUUID()}:${c.node}`,
    cpuMillis: 500,
    memoryBytes: 64 * 1024 * 1024,
    addresses: 1,
    interfaces: [{ name: 'eth0', pool: 'experiment', ip: '10.64.98.99' }],
    dockerId: c.dockerId,
  };
  await host.db.prisma.$transaction((tx) =>
    enqueueEvent(tx, {
      source: 'provisioning',
      topic: PROVISIONING_EVENTS,
      key: containerId,
      type: 'container.started',
      subject: containerId,
      data,
    }),
  );
  return containerId;
}

export async function rawRows(
  host: TestHost,
): Promise<{ series: number; t: Date; cpu_pct: number | null; mem_bytes: string }[]> {
  return host.db.prisma.$queryRawUnsafe(
    `SELECT series, t, cpu_pct, mem_bytes::text AS mem_bytes FROM stats.sample_raw ORDER BY series, t`,
  );
}
