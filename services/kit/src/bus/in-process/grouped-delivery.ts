import { context } from '@opentelemetry/api';
import { parseCloudEvent, type CloudEvent } from '../cloud-event';
import { errorText } from '../dead-letter';
import {
  deliverEvent,
  describeEvent,
  handlerTxOptions,
  recordOutcome,
  startDeliverySpan,
  type Delivery,
  type DeliveryDeps,
  type DeliverySpan,
} from '../deliver';
import { AfterCommitQueue } from '../../db/transaction';
import { orderingKey } from '../outbox-store';
import { markProcessedMany } from '../processed-store';
import type { Subscription } from '../types';

/** Events of one subscription per transaction (a relay pass is at most 200 rows). */
export const GROUP_SIZE = 32;

/**
 * Hands a relay pass's messages of one subscription over in outbox order, up to `groupSize` in
 * one transaction: one claim statement for all of them, then each handler in its own process
 * span, all committed together. Every delivery being a transaction of its own was most of the
 * database work of a batch; the guarantees are those of `deliverEvent`, which takes over a group
 * that fails (each of its events then delivered, retried or dead-lettered on its own). Rejects
 * when an event was left unsettled; the groups after it are not delivered, so no later event of
 * its key overtakes it.
 */
export async function deliverInGroups(
  deps: DeliveryDeps,
  sub: Subscription,
  messages: readonly Delivery[],
  groupSize = GROUP_SIZE,
): Promise<void> {
  for (let i = 0; i < messages.length; i += groupSize) {
    await deliverGroup(deps, sub, messages.slice(i, i + groupSize));
  }
}

async function deliverGroup(deps: DeliveryDeps, sub: Subscription, group: Delivery[]): Promise<void> {
  const events = group.map(tryParse);
  // One message gains nothing; a poison message is dead-lettered by the one-by-one path.
  if (group.length === 1 || events.some((e) => e === undefined)) return deliverOneByOne(deps, sub, group);
  const parsed = events as CloudEvent<unknown>[];
  const spans = group.map((msg, i) => {
    const started = startDeliverySpan(deps.system, sub, msg);
    describeEvent(started.span, parsed[i]!);
    return started;
  });
  const afterCommit = new AfterCommitQueue();
  let outcomes: ('processed' | 'duplicate')[];
  try {
    outcomes = await deps.db.prisma.$transaction(
      (tx) =>
        afterCommit.within(async () => {
          afterCommit.clear();
          const claimed = await markProcessedMany(
            tx,
            sub.consumer,
            parsed.map((e) => e.id),
          );
          const out: ('processed' | 'duplicate')[] = [];
          for (const [i, event] of parsed.entries()) {
            if (!claimed.has(event.id)) {
              out.push('duplicate');
              continue;
            }
            const msg = group[i]!;
            await context.with(spans[i]!.ctx, () =>
              sub.handle(event, {
                tx,
                afterCommit: afterCommit.add,
                headers: msg.headers,
                topic: msg.topic,
                attempt: 1,
              }),
            );
            out.push('processed');
          }
          return out;
        }),
      handlerTxOptions(deps),
    );
  } catch (err) {
    afterCommit.discard();
    // Which event failed, and whether it fails again, is for the one-by-one path to find out.
    for (const { span } of spans) span.addEvent('group rolled back', { 'error.message': errorText(err) });
    deps.logger.debug(
      { err, consumer: sub.consumer, events: group.length },
      'a group of events rolled back; delivering them one by one',
    );
    return deliverOneByOne(deps, sub, group, spans);
  }
  afterCommit.run((err) =>
    deps.logger.error({ err, consumer: sub.consumer }, 'after-commit work of an event failed'),
  );
  for (const [i, outcome] of outcomes.entries()) {
    const msg = group[i]!;
    deps.metrics.consumed.inc({ consumer: sub.consumer, topic: msg.topic, outcome });
    recordOutcome(deps, sub, msg, spans[i]!, outcome);
  }
}

/** `deliverEvent` per message: one key's messages one after another, up to 8 keys side by side. */
async function deliverOneByOne(
  deps: DeliveryDeps,
  sub: Subscription,
  group: Delivery[],
  spans?: DeliverySpan[],
): Promise<void> {
  const lanes = new Map<string, number[]>();
  group.forEach((msg, i) => {
    const k = orderingKey(msg.topic, msg.key ?? '');
    lanes.set(k, [...(lanes.get(k) ?? []), i]);
  });
  const queue = [...lanes.values()];
  const failures: unknown[] = [];
  const worker = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      const rest = [...lane];
      try {
        for (let i = rest.shift(); i !== undefined; i = rest.shift())
          await deliverEvent(deps, sub, group[i]!, spans?.[i]);
      } catch (err) {
        failures.push(err);
      } finally {
        // The spans of a lane's messages that were never tried end here, unsettled.
        for (const i of rest) spans?.[i]?.span.end();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

function tryParse(msg: Delivery): CloudEvent<unknown> | undefined {
  try {
    return parseCloudEvent(msg.value);
  } catch {
    return undefined;
  }
}
