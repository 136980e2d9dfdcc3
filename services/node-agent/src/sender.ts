import type { Logger } from 'pino';
import type { RecordSink } from '@testbed/kit/src/bus/records/types';
import { backoffDelay, retryPolicy, sleep } from '@testbed/kit/src/bus/retry';
import type { BatchBuffer } from './batch-buffer';
import { delay, settleWithin } from './settle-within';
import type { HeartbeatSlot } from './heartbeats';
import type { AgentMetrics } from './metrics';
import { NODE_HEARTBEATS_TOPIC, STATS_SAMPLES_TOPIC } from './wire/heartbeat';

/** Batches per send: one Kafka request of at most about 100 kB for 100 containers. */
const MAX_PER_SEND = 50;
const RETRY = retryPolicy({ initialDelayMs: 200, maxDelayMs: 5_000 });

export interface Sender {
  /** Something new to send. */
  wake(): void;
  /** Resolves true once nothing waits (buffer and heartbeat), false when `timeoutMs` passed first. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Ends the loop; a send in flight is waited for up to `timeoutMs`. */
  stop(timeoutMs: number): Promise<void>;
  /**
   * The broker as the sends show it: `unreachable` once a send failed or one has been in flight
   * longer than `stallMs` (KafkaJS retries a request for tens of seconds before it fails),
   * `connected` after a send succeeded, `unknown` before the first.
   */
  broker(): 'connected' | 'unreachable' | 'unknown';
}

/**
 * One send at a time, oldest first: the pending heartbeat, then up to 50 buffered batches in
 * one request. Batches leave the buffer only once the sink resolved; a rejected send (the
 * broker away) puts them back in front and is retried with bounded backoff, so nothing is
 * reordered and nothing is lost but what the full buffer drops (counted).
 */
export function startSender(opts: {
  node: string;
  sink: RecordSink;
  buffer: BatchBuffer;
  heartbeats: HeartbeatSlot;
  metrics: AgentMetrics;
  logger: Logger;
  /** A send in flight this long counts as the broker away (default 5000). */
  stallMs?: number;
}): Sender {
  const { buffer, heartbeats, metrics, sink } = opts;
  const log = opts.logger.child({ component: 'sender' });
  const stopping = new AbortController();
  let wake: (() => void) | undefined;
  let failures = 0;
  let ok: boolean | undefined;
  let inFlightSince: number | undefined;
  const stallMs = opts.stallMs ?? 5_000;

  const idle = () => buffer.depth === 0 && !heartbeats.waiting;

  const sendOnce = async (): Promise<boolean> => {
    const beat = heartbeats.take();
    if (beat) {
      try {
        await sink.send(NODE_HEARTBEATS_TOPIC, [beat]);
        heartbeats.sent();
        metrics.heartbeatsSent.inc();
        return true;
      } catch (err) {
        heartbeats.failed();
        throw err;
      }
    }
    const batches = buffer.take(MAX_PER_SEND);
    if (batches.length === 0) return false;
    try {
      await sink.send(
        STATS_SAMPLES_TOPIC,
        batches.map((b) => ({ key: opts.node, value: b.value })),
      );
    } catch (err) {
      metrics.batchesDropped.inc(buffer.failed());
      throw err;
    }
    buffer.sent();
    metrics.batchesSent.inc(batches.length);
    let samples = 0;
    let bytes = 0;
    for (const b of batches) {
      samples += b.samples;
      bytes += b.value.length;
    }
    metrics.samplesSent.inc(samples);
    metrics.bytesSent.inc(bytes);
    return true;
  };

  const loop = async () => {
    while (!stopping.signal.aborted) {
      let sent: boolean;
      try {
        inFlightSince = Date.now();
        sent = await sendOnce();
        if (sent) {
          if (failures > 0) log.info({ failures, buffered: buffer.depth }, 'the broker takes records again');
          failures = 0;
          ok = true;
        }
      } catch (err) {
        failures++;
        ok = false;
        metrics.sendFailures.inc();
        // The first failure and then one line in twenty: an outage of hours stays readable.
        if (failures === 1 || failures % 20 === 0)
          log.warn({ err, failures, buffered: buffer.depth }, 'sending to the broker failed; retrying');
        await sleep(backoffDelay(RETRY, failures), stopping.signal).catch(() => undefined);
        continue;
      } finally {
        inFlightSince = undefined;
        metrics.bufferDepth.set(buffer.depth);
      }
      if (!sent) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  };
  const running = loop();

  return {
    wake: () => wake?.(),
    async flush(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!idle() && Date.now() < deadline) await delay(20);
      return idle();
    },
    async stop(timeoutMs) {
      stopping.abort();
      wake?.();
      await settleWithin(running, timeoutMs);
    },
    broker() {
      if (ok === false || (inFlightSince !== undefined && Date.now() - inFlightSince > stallMs))
        return 'unreachable';
      return ok ? 'connected' : 'unknown';
    },
  };
}
