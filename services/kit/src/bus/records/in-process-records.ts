import type { Logger } from '../../log/logger';
import { backoffDelay, retryPolicy, sleep } from '../retry';
import type { OutgoingRecord, RecordStreams, RecordSubscription, StreamRecord } from './types';

export interface InProcessRecordStreams extends RecordStreams {
  start(): void;
  /** Ends the pumps after the records in hand; what is still queued is dropped (this process ends). */
  stop(): Promise<void>;
  /** Records each subscription dropped because its queue was full. */
  dropped(): number;
}

/** Records handed to one handler call at most. */
const MAX_CALL = 500;

/**
 * The embedded default's record streams: each subscription has a bounded queue in memory and a
 * pump that hands records to its handler in order, retrying a failed call with backoff. A full
 * queue drops its oldest record (counted): the embedded agent and the ingest live and die with
 * this process, so there is nothing durable to keep them in.
 */
export function createInProcessRecordStreams(opts: {
  logger: Logger;
  /** Records queued per subscription before the oldest are dropped (default 20,000). */
  maxQueued?: number;
}): InProcessRecordStreams {
  const log = opts.logger.child({ component: 'records', streams: 'in-process' });
  const maxQueued = opts.maxQueued ?? 20_000;
  const retry = retryPolicy({ initialDelayMs: 100, maxDelayMs: 5_000 });
  const stopping = new AbortController();
  const lanes: { sub: RecordSubscription; queue: StreamRecord[]; inHand: number; wake?: () => void }[] = [];
  const offsets = new Map<string, number>();
  let dropped = 0;
  let pumps: Promise<void>[] = [];
  let started = false;

  const pump = async (lane: (typeof lanes)[number]) => {
    for (let attempt = 1; !stopping.signal.aborted;) {
      if (lane.queue.length === 0) {
        await new Promise<void>((resolve) => (lane.wake = resolve));
        lane.wake = undefined;
        continue;
      }
      const records = lane.queue.slice(0, MAX_CALL);
      lane.inHand = records.length;
      try {
        await lane.sub.handle(records);
        lane.queue.splice(0, records.length);
        attempt = 1;
      } catch (err) {
        const delay = backoffDelay(retry, attempt++);
        log.warn({ err, group: lane.sub.group, retryInMs: delay }, 'record handler failed; will retry');
        await sleep(delay, stopping.signal).catch(() => undefined);
      } finally {
        lane.inHand = 0;
      }
    }
  };

  return {
    subscribe(sub) {
      if (started) throw new Error('subscribe before the record streams start');
      lanes.push({ sub, queue: [], inHand: 0 });
    },
    async send(topic: string, records: OutgoingRecord[]) {
      const now = Date.now();
      const stamped = records.map((r): StreamRecord => {
        const offset = offsets.get(topic) ?? 0;
        offsets.set(topic, offset + 1);
        return {
          topic,
          partition: 0,
          offset: String(offset),
          key: r.key,
          value: r.value,
          timestamp: now,
          headers: r.headers ?? {},
        };
      });
      for (const lane of lanes) {
        if (!lane.sub.topics.includes(topic)) continue;
        lane.queue.push(...stamped);
        const over = lane.queue.length - maxQueued;
        if (over > 0) {
          // The pump may hold the head in hand: the oldest of the rest go.
          dropped += lane.queue.splice(lane.inHand, over).length;
        }
        lane.wake?.();
      }
    },
    start() {
      if (started) return;
      started = true;
      pumps = lanes.map(pump);
    },
    async stop() {
      stopping.abort();
      for (const lane of lanes) lane.wake?.();
      await Promise.all(pumps);
    },
    dropped: () => dropped,
  };
}
