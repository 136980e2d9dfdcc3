import { nonRetriable, type RecordSubscription, type StreamRecord, type Subscription } from '@testbed/kit';
import { NODE_HEARTBEATS_TOPIC, nodeHeartbeat, STATS_SAMPLES_TOPIC } from '@testbed/node-agent/src/wire';
import {
  containerRemovedEvent,
  containerStartedEvent,
  PROVISIONING_EVENTS,
  provisioningEventTypes,
} from '@testbed/provisioning/src/events/contracts';
import type { LiveView } from '../live/live-view';
import { recordHeartbeat } from '../store/agent-store';
import { recordContainerRemoved, recordContainerStarted } from '../store/container-store';
import { applyInventory } from '../store/series-store';
import type { StatsContext } from '../use-cases/context';
import type { SampleIngest } from '../use-cases/ingest';

/** Provisioning's container events: stats' projection of who owns which container. */
export function statsSubscriptions(ctx: StatsContext): Subscription[] {
  return [
    {
      consumer: 'stats',
      topics: [PROVISIONING_EVENTS],
      async handle(event, { tx }) {
        const at = new Date(event.time);
        if (event.type === provisioningEventTypes.containerStarted) {
          const parsed = containerStartedEvent.safeParse(event.data);
          if (!parsed.success)
            throw nonRetriable(new Error(`malformed container.started: ${parsed.error.message}`));
          await recordContainerStarted(tx, parsed.data, at);
        } else if (event.type === provisioningEventTypes.containerRemoved) {
          const parsed = containerRemovedEvent.safeParse(event.data);
          if (!parsed.success)
            throw nonRetriable(new Error(`malformed container.removed: ${parsed.error.message}`));
          await recordContainerRemoved(tx, parsed.data, at);
        } else return;
        ctx.directory.invalidate();
      },
    },
  ];
}

/** The agents' record streams: samples into the database and into the live view, heartbeats. */
export function statsRecordSubscriptions(
  ctx: StatsContext,
  ingest: SampleIngest,
  live: LiveView,
): RecordSubscription[] {
  return [
    { group: 'stats-ingest', topics: [STATS_SAMPLES_TOPIC], handle: ingest.handle },
    { group: 'stats-live', broadcast: true, topics: [STATS_SAMPLES_TOPIC], handle: live.handle },
    { group: 'stats-heartbeats', topics: [NODE_HEARTBEATS_TOPIC], handle: (r) => heartbeats(ctx, r) },
  ];
}

async function heartbeats(ctx: StatsContext, records: StreamRecord[]): Promise<void> {
  for (const r of records) {
    let data: unknown;
    try {
      data = (JSON.parse(r.value.toString('utf8')) as { data?: unknown }).data;
    } catch {
      data = undefined;
    }
    const parsed = nodeHeartbeat.safeParse(data);
    if (!parsed.success) {
      ctx.metrics.heartbeats.inc({ outcome: 'malformed' });
      ctx.logger.warn({ offset: r.offset, partition: r.partition }, 'a heartbeat that is not one: skipped');
      continue;
    }
    await recordHeartbeat(ctx.sql, parsed.data);
    if (parsed.data.inventory) {
      await applyInventory(ctx.sql, parsed.data.node, parsed.data.inventory);
      ctx.directory.invalidate();
    }
    ctx.metrics.heartbeats.inc({ outcome: 'recorded' });
  }
}
