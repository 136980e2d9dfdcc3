import { busMetrics } from '../metrics';
import { countUnpublished } from '../outbox-store';
import { startOutboxRelay, type OutboxRelay } from '../relay';
import { retryPolicy } from '../retry';
import { SubscriptionSet } from '../subscriptions';
import type { Bus, CommonBusOptions, Subscription } from '../types';
import { createLocalPublisher, outboxDeadLetterRoute } from './local-publisher';
import { createInProcessRecordStreams } from '../records/in-process-records';

export type InProcessBusOptions = CommonBusOptions;

/**
 * The embedded default's bus: the same outbox, processed-event and dead-letter tables as the
 * Kafka bus, with the relay handing rows straight to this process's subscribers.
 */
export function createInProcessBus(opts: InProcessBusOptions): Bus {
  const subs = new SubscriptionSet();
  const retry = retryPolicy(opts.retry);
  const metrics = busMetrics(opts.metrics, () => countUnpublished(opts.db.prisma));
  const logger = opts.logger.child({ component: 'bus', bus: 'in-process' });
  const stopping = new AbortController();
  let relay: OutboxRelay | undefined;
  let state: 'new' | 'started' | 'stopped' = 'new';
  const records = createInProcessRecordStreams({ logger });

  const publisher = createLocalPublisher(subs, () => ({
    db: opts.db,
    logger,
    metrics,
    retry,
    system: 'in-process',
    deadLetter: outboxDeadLetterRoute,
    signal: stopping.signal,
  }));

  return {
    subscribe(sub: Subscription) {
      if (state !== 'new') throw new Error('subscribe before the bus starts');
      subs.add(sub);
    },
    records,
    // Nothing to reach: the subscribers are in this process.
    async connect() {},
    async start() {
      if (state !== 'new') return;
      state = 'started';
      records.start();
      if (opts.relay === false) {
        if (subs.all().length > 0)
          logger.warn('in-process bus without a relay: its subscribers get nothing until a relay runs');
        return;
      }
      relay = startOutboxRelay({
        db: opts.db,
        publisher,
        logger,
        // Every row of an in-process bus is written by this process, and each commit notes the
        // relay: the poll only backs the notes up (at 100 ms it was most of a batch's outbox reads).
        pollMs: opts.relay?.pollMs ?? 1_000,
        batchSize: opts.relay?.batchSize,
        sources: opts.sources,
        metrics: opts.metrics,
      });
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      // Retry waits end now; their events stay unpublished and are delivered after a restart.
      stopping.abort();
      await records.stop();
      await relay?.stop();
    },
    async isReady() {
      return state === 'started';
    },
  };
}
