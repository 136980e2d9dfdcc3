import type { z } from 'zod';
import { nonRetriable, type CloudEvent, type Subscription, type Tx } from '@testbed/kit';
import {
  admit,
  containerAddressesChanged,
  containerRemoved,
  containerStarted,
  rejectRequest,
  releaseAdmission,
} from '../use-cases/admission';
import { nodeRegistered, nodeRemoved } from '../use-cases/nodes';
import type { QuotaContext } from '../use-cases/context';
import {
  containerRemoved as containerRemovedData,
  containerStarted as containerStartedData,
  interfaceChange,
  nodeEvent,
  PROVISIONING_EVENTS,
  provisioningEventTypes,
  QUOTA_COMMANDS,
  quotaEventTypes,
  releaseRequested,
  reserveRequested,
  resizeRequested,
} from './contracts';
import { resize } from '../use-cases/resize';

/**
 * A malformed admission request is answered (rejected, 422), not retried: the saga waits for an
 * answer, and no retry can mend the data. Only infrastructure errors go back to the bus's retries.
 */
async function onReserveRequested(ctx: QuotaContext, event: CloudEvent<unknown>, tx: Tx): Promise<void> {
  const parsed = reserveRequested.safeParse(event.data);
  if (!parsed.success) {
    const data = (event.data ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    await rejectRequest(ctx, tx, {
      requestId: text(data.requestId) ?? event.id,
      user: text(data.user),
      node: text(data.node),
      code: 'invalid-request',
      reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
    return;
  }
  await admit(ctx, { ...parsed.data, requestId: parsed.data.requestId ?? event.id }, tx);
}

/** Data that does not match its contract goes to the dead letters at once: no retry can mend it. */
function dataOf<S extends z.ZodType>(schema: S, event: CloudEvent<unknown>): z.output<S> {
  const parsed = schema.safeParse(event.data);
  if (!parsed.success) throw nonRetriable(new Error(`${event.type} ${event.id}: ${parsed.error.message}`));
  return parsed.data;
}

function handlersOf(
  ctx: QuotaContext,
): Record<string, (event: CloudEvent<unknown>, tx: Tx) => Promise<unknown>> {
  return {
    [quotaEventTypes.reserveRequested]: (e, tx) => onReserveRequested(ctx, e, tx),
    [quotaEventTypes.resizeRequested]: (e, tx) => resize(ctx, dataOf(resizeRequested, e), tx),
    [quotaEventTypes.releaseRequested]: (e, tx) =>
      releaseAdmission(ctx, dataOf(releaseRequested, e).requestId, tx),
    [provisioningEventTypes.containerStarted]: (e, tx) =>
      containerStarted(ctx, dataOf(containerStartedData, e), tx),
    [provisioningEventTypes.containerRemoved]: (e, tx) =>
      containerRemoved(ctx, dataOf(containerRemovedData, e).containerId, tx),
    [provisioningEventTypes.interfaceAttached]: (e, tx) => {
      const d = dataOf(interfaceChange, e);
      return containerAddressesChanged(ctx, d.containerId, d.interfaces.length, tx);
    },
    [provisioningEventTypes.interfaceDetached]: (e, tx) => {
      const d = dataOf(interfaceChange, e);
      return containerAddressesChanged(ctx, d.containerId, -d.interfaces.length, tx);
    },
    [provisioningEventTypes.nodeRegistered]: (e, tx) => nodeRegistered(ctx, dataOf(nodeEvent, e).name, tx),
    [provisioningEventTypes.nodeRemoved]: (e, tx) => nodeRemoved(ctx, dataOf(nodeEvent, e).name, tx),
  };
}

export function quotaSubscriptions(ctx: QuotaContext): Subscription[] {
  const handlers = handlersOf(ctx);
  return [
    {
      consumer: 'quota',
      topics: [QUOTA_COMMANDS, PROVISIONING_EVENTS],
      handle: async (event, { tx }) => {
        await handlers[event.type]?.(event, tx);
      },
    },
  ];
}
