import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger';
import { busMetrics, type BusMetrics } from './metrics';
import {
  claimUnpublished,
  countUnpublished,
  keysHeldElsewhere,
  markPublished,
  orderingKey,
  readUnpublished,
  recordPublishFailure,
  type OutboxRow,
} from './outbox-store';
import { onOutboxWrite } from './outbox-writes';
import { sleep } from './retry';

/** The first quick look after rows were noted (doubling while they are not yet visible). */
const QUICK_MS = 2;
import { failSpan, startPublishSpan } from './tracing';
import type { BusDatabase, EventHeaders } from './types';

/** One outbox row on its way out; `headers` already carry the publish span's trace context. */
export interface OutboxMessage {
  id: string;
  topic: string;
  key: string;
  event: unknown;
  headers: EventHeaders;
}

/** Where the relay sends rows: Kafka, or the in-process subscribers. */
export interface OutboxPublisher {
  /** `messaging.system` of the publish spans. */
  readonly system: string;
  /** Resolves once every message is durably accepted (in order per topic and key); rejects otherwise. */
  publish(messages: OutboxMessage[]): Promise<void>;
}

export interface OutboxRelayOptions {
  db: BusDatabase;
  publisher: OutboxPublisher;
  logger: Logger;
  /** Wait between polls when the outbox is drained (default 200 ms). */
  pollMs?: number;
  /** Rows per pass (default 200). */
  batchSize?: number;
  /** Publish only rows of these sources (default: all). */
  sources?: string[];
  metrics?: Registry;
  /** Longest wait after failed passes (default 30 s). */
  maxBackoffMs?: number;
  /** Transaction deadline of one pass on Postgres: rows stay locked while publishing (default 60 s). */
  passTimeoutMs?: number;
}

export interface OutboxRelay {
  /**
   * Ends after the pass in progress; rows it could not mark are published again by the next
   * relay. With `flushMs`, keeps passing until the outbox is drained or that time is up (what
   * stopped consumers enqueued last leaves with this process).
   */
  stop(opts?: { flushMs?: number }): Promise<void>;
}

interface PassResult {
  claimed: number;
  published: number;
}

/** One relay pass: claim, publish, mark. Exposed for tests and one-shot tools. */
export async function relayOutboxBatch(opts: OutboxRelayOptions, metrics?: BusMetrics): Promise<PassResult> {
  const m = metrics ?? busMetrics(opts.metrics, () => countUnpublished(opts.db.prisma));
  const batchSize = opts.batchSize ?? 200;
  let attempted: OutboxRow[] = [];
  try {
    if (opts.db.kind === 'postgres') {
      // The row locks live as long as this transaction: they are what keeps another relay off these rows.
      return await opts.db.prisma.$transaction(
        async (tx) => {
          const claimed = await claimUnpublished(tx, batchSize, opts.sources);
          const held = await keysHeldElsewhere(tx, claimed, opts.sources);
          attempted = claimed.filter((r) => !held.has(orderingKey(r.topic, r.key)));
          await publishRows(opts.publisher, attempted, m);
          await markPublished(
            tx,
            attempted.map((r) => r.seq),
          );
          return { claimed: claimed.length, published: attempted.length };
        },
        { timeout: opts.passTimeoutMs ?? 60_000, maxWait: 10_000 },
      );
    }
    // PGlite is one connection in one process: no other relay can exist, and holding its only
    // transaction while in-process consumers need their own would deadlock.
    attempted = await readUnpublished(opts.db.prisma, batchSize, opts.sources);
    await publishRows(opts.publisher, attempted, m);
    await markPublished(
      opts.db.prisma,
      attempted.map((r) => r.seq),
    );
    return { claimed: attempted.length, published: attempted.length };
  } catch (err) {
    m.publishFailures.inc();
    await recordPublishFailure(
      opts.db.prisma,
      attempted.map((r) => r.seq),
      err instanceof Error ? err.message : String(err),
    ).catch((recordErr: unknown) =>
      opts.logger.warn({ err: recordErr }, 'outbox relay could not record a publish failure'),
    );
    throw err;
  }
}

async function publishRows(
  publisher: OutboxPublisher,
  rows: OutboxRow[],
  metrics: BusMetrics,
): Promise<void> {
  if (rows.length === 0) return;
  const spans = rows.map((r) => startPublishSpan(r, publisher.system));
  try {
    await publisher.publish(
      rows.map((r, i) => ({
        id: r.id,
        topic: r.topic,
        key: r.key,
        event: r.event,
        headers: spans[i]!.headers,
      })),
    );
  } catch (err) {
    for (const { span } of spans) {
      failSpan(span, err);
      span.end();
    }
    throw err;
  }
  for (const { span } of spans) span.end();
  const now = Date.now();
  for (const r of rows) {
    metrics.published.inc({ topic: r.topic, type: eventType(r.event) });
    metrics.relayLatency.observe({ topic: r.topic }, Math.max(0, now - r.createdAt.getTime()) / 1000);
  }
}

/**
 * Publishes the outbox until stopped: passes back to back while rows keep coming, a poll
 * interval apart once drained, and with a growing (capped) delay after failures. A row is marked
 * published only after the publisher accepted it, so a crash anywhere publishes it again
 * (at-least-once; consumers drop the copy by event id).
 */
export function startOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const pollMs = opts.pollMs ?? 200;
  const batchSize = opts.batchSize ?? 200;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const metrics = busMetrics(opts.metrics, () => countUnpublished(opts.db.prisma));
  const stopping = new AbortController();
  const log = opts.logger.child({ component: 'outbox-relay' });

  // Rows just written in this process: pass again at once rather than wait out the poll. A row
  // noted but not yet visible (its transaction has not committed) is looked for again after
  // 2, 4, 8 … ms, up to the poll interval.
  let noted = false;
  let wake: (() => void) | undefined;
  const stopNotes = onOutboxWrite(() => {
    noted = true;
    wake?.();
  });
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopping.signal.addEventListener('abort', done, { once: true });
      wake = done;
    });

  const loop = async () => {
    let failures = 0;
    let quick = 0;
    while (!stopping.signal.aborted) {
      let delay = pollMs;
      const sawNote = noted;
      noted = false;
      try {
        const pass = await relayOutboxBatch(opts, metrics);
        if (failures > 0) log.info({ failures }, 'outbox relay recovered');
        failures = 0;
        // A full batch with progress: more rows are likely waiting.
        if (pass.claimed === batchSize && pass.published > 0) delay = 0;
        else if (noted)
          delay = 0; // written while this pass ran
        else if (sawNote && pass.published === 0) {
          quick = quick === 0 ? QUICK_MS : quick * 2;
          if (quick < pollMs) {
            delay = quick;
            noted = true; // still looking for it
          } else quick = 0;
        } else quick = 0;
      } catch (err) {
        failures += 1;
        quick = 0;
        delay = Math.min(maxBackoffMs, pollMs * 2 ** Math.min(failures, 16));
        log.error({ err, failures, retryInMs: delay }, 'outbox relay pass failed');
      }
      if (delay === 0) continue;
      // After failures the backoff holds; otherwise a note cuts the wait short.
      if (failures > 0) await sleep(delay, stopping.signal).catch(() => undefined);
      else if (!noted || quick > 0) await wait(delay);
    }
    stopNotes();
  };
  const running = loop();

  return {
    async stop({ flushMs = 0 } = {}) {
      stopping.abort();
      await running;
      const deadline = Date.now() + flushMs;
      while (Date.now() < deadline) {
        try {
          const pass = await relayOutboxBatch(opts, metrics);
          if (pass.claimed < batchSize || pass.published === 0) return;
        } catch (err) {
          log.warn({ err }, 'outbox relay flush failed; the rows wait for the next relay');
          return;
        }
      }
    },
  };
}

/** The CloudEvents type of an outbox row's event (rows are written by enqueueEvent: always one). */
function eventType(event: unknown): string {
  const type = (event as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : 'unknown';
}
