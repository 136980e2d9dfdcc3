import { context, type Context, type Span } from '@opentelemetry/api';
import type { Logger } from '../log/logger';
import { parseCloudEvent, type CloudEvent } from './cloud-event';
import { errorText, type DeadLetter, type DeadLetterRoute } from './dead-letter';
import { isRetriable } from './errors';
import type { BusMetrics } from './metrics';
import { insertDeadLetter, markProcessed } from './processed-store';
import { AfterCommitQueue } from '../db/transaction';
import { backoffDelay, sleep, type RetryPolicy } from './retry';
import { failSpan, startProcessSpan } from './tracing';
import type { BusDatabase, EventHeaders, Subscription } from './types';

export interface Delivery {
  topic: string;
  /** The message key (the aggregate id), carried over to the dead letter. */
  key: string | undefined;
  /** The message value: JSON text from Kafka, the parsed event in-process. */
  value: unknown;
  headers: EventHeaders;
  /** Names the message when it is no event at all (Kafka: topic/partition/offset). */
  fallbackId: string;
}

export interface DeliveryDeps {
  db: BusDatabase;
  logger: Logger;
  metrics: BusMetrics;
  retry: RetryPolicy;
  /** `messaging.system` of the consumer span. */
  system: string;
  deadLetter: DeadLetterRoute;
  /** Aborts retry waits when the bus stops; the delivery then rejects and the message comes again. */
  signal: AbortSignal;
  /** Called before each retry wait (Kafka: heartbeat, so a long backoff keeps the group membership). */
  beforeRetryWait?: () => Promise<void>;
  /** Transaction deadline of one handler run (default 60 s). */
  handlerTimeoutMs?: number;
}

export type DeliveryOutcome = 'processed' | 'duplicate' | 'dead-lettered';

/** The process span of one message to one subscription, and when its delivery began. */
export interface DeliverySpan {
  span: Span;
  ctx: Context;
  t0: bigint;
}

export function startDeliverySpan(system: string, sub: Subscription, msg: Delivery): DeliverySpan {
  return { ...startProcessSpan(msg.topic, sub.consumer, msg.headers, system), t0: process.hrtime.bigint() };
}

/** Names the event on its span (once it parsed as one). */
export function describeEvent(span: Span, event: CloudEvent<unknown>): void {
  span.setAttributes({
    'messaging.message.id': event.id,
    'cloudevents.event_type': event.type,
    'cloudevents.event_source': event.source,
  });
}

/** Counts a settled delivery and ends its span. */
export function recordOutcome(
  deps: Pick<DeliveryDeps, 'metrics'>,
  sub: Subscription,
  msg: Delivery,
  started: DeliverySpan,
  outcome: DeliveryOutcome,
): void {
  deps.metrics.processing.observe(
    { consumer: sub.consumer, topic: msg.topic, outcome },
    Number(process.hrtime.bigint() - started.t0) / 1e9,
  );
  started.span.end();
}

/**
 * Hands one message to one subscription, exactly once in effect: each try is one transaction
 * that first claims (consumer, event id) and then runs the handler, so the handler's writes, the
 * events it enqueues and the claim commit or roll back together. Retriable failures are retried
 * with backoff up to the policy's bound; the rest, and the last failure, are dead-lettered.
 * Rejects only when the event could not be settled either way (database down, bus stopping): the
 * caller must then leave the message unacknowledged. `started` continues a span begun by the
 * caller (a grouped delivery that fell back to this one).
 */
export async function deliverEvent(
  deps: DeliveryDeps,
  sub: Subscription,
  msg: Delivery,
  started: DeliverySpan = startDeliverySpan(deps.system, sub, msg),
): Promise<DeliveryOutcome> {
  const { span, ctx } = started;
  try {
    const outcome = await context.with(ctx, () => settle(deps, sub, msg, span));
    recordOutcome(deps, sub, msg, started, outcome);
    return outcome;
  } catch (err) {
    failSpan(span, err);
    span.end();
    throw err;
  }
}

async function settle(
  deps: DeliveryDeps,
  sub: Subscription,
  msg: Delivery,
  span: Span,
): Promise<DeliveryOutcome> {
  const labels = { consumer: sub.consumer, topic: msg.topic };
  const log = deps.logger.child({ consumer: sub.consumer, topic: msg.topic });
  let event: CloudEvent<unknown>;
  try {
    event = parseCloudEvent(msg.value);
  } catch (err) {
    // A poison message: no retry can parse it.
    failSpan(span, err);
    return deadLetter(
      deps,
      {
        ...labels,
        key: msg.key,
        eventId: msg.fallbackId,
        event: undefined,
        raw: msg.value,
        error: errorText(err),
        attempts: 1,
        headers: msg.headers,
      },
      log,
    );
  }
  describeEvent(span, event);
  const txOptions = handlerTxOptions(deps);

  for (let attempt = 1; ; attempt++) {
    // Whether this try got as far as the handler: a failure before it (database unreachable)
    // says nothing about the event, which must not be dead-lettered for it.
    let handlerRan = false;
    const afterCommit = new AfterCommitQueue();
    try {
      const outcome = await deps.db.prisma
        .$transaction(
          (tx) =>
            afterCommit.within(async () => {
              afterCommit.clear();
              if (!(await markProcessed(tx, sub.consumer, event.id))) return 'duplicate' as const;
              handlerRan = true;
              await sub.handle(event, {
                tx,
                afterCommit: afterCommit.add,
                headers: msg.headers,
                topic: msg.topic,
                attempt,
              });
              return 'processed' as const;
            }),
          txOptions,
        )
        .catch((err: unknown) => {
          afterCommit.discard();
          throw err;
        });
      afterCommit.run((err) =>
        log.error({ err, eventId: event.id, type: event.type }, 'after-commit work of an event failed'),
      );
      deps.metrics.consumed.inc({ ...labels, outcome: outcome });
      if (outcome === 'duplicate')
        log.debug({ eventId: event.id }, 'event already handled by this consumer: skipped');
      return outcome;
    } catch (err) {
      const lastTry = !isRetriable(err) || attempt >= deps.retry.attempts;
      if (lastTry && !handlerRan) {
        // Unsettled: the transport keeps the message and offers it again later.
        failSpan(span, err);
        throw err;
      }
      if (lastTry) {
        failSpan(span, err);
        return deadLetter(
          deps,
          {
            ...labels,
            key: msg.key,
            eventId: event.id,
            event,
            raw: msg.value,
            error: errorText(err),
            attempts: attempt,
            headers: msg.headers,
          },
          log,
        );
      }
      const delayMs = backoffDelay(deps.retry, attempt);
      deps.metrics.retried.inc(labels);
      span.addEvent('retry', { attempt, 'error.message': errorText(err), delay_ms: delayMs });
      log.warn(
        { err, eventId: event.id, type: event.type, attempt, retryInMs: delayMs },
        handlerRan ? 'event handler failed; will retry' : 'could not start handling an event; will retry',
      );
      await deps.beforeRetryWait?.();
      await sleep(delayMs, deps.signal);
    }
  }
}

/** The transaction bounds of handler runs. */
export function handlerTxOptions(deps: Pick<DeliveryDeps, 'handlerTimeoutMs'>) {
  return { timeout: deps.handlerTimeoutMs ?? 60_000, maxWait: 30_000 };
}

async function deadLetter(deps: DeliveryDeps, letter: DeadLetter, log: Logger): Promise<DeliveryOutcome> {
  const written = await deps.db.prisma.$transaction(
    async (tx) => {
      // The mark makes every later copy of this message a duplicate; if it is already there the
      // event was settled meanwhile (by another instance of this consumer) and nothing is due.
      if (!(await markProcessed(tx, letter.consumer, letter.eventId))) return false;
      await insertDeadLetter(tx, { ...letter, event: letter.event ?? letter.raw });
      await deps.deadLetter(letter, tx);
      return true;
    },
    { timeout: 60_000, maxWait: 30_000 },
  );
  if (!written) return 'duplicate';
  deps.metrics.deadLettered.inc({ consumer: letter.consumer, topic: letter.topic });
  log.error(
    { eventId: letter.eventId, attempts: letter.attempts, error: letter.error },
    'event dead-lettered',
  );
  return 'dead-lettered';
}
