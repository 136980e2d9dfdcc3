import { eventRouter, onEvent, type Subscription } from '@testbed/kit';
import {
  containerRemovedEvent,
  containerStartedEvent,
  interfaceChangedEvent,
  nodeEvent,
  PROVISIONING_EVENTS,
  provisioningEventTypes,
} from '@testbed/provisioning/src/events/contracts';
import {
  admit,
  containerAddressesChanged,
  containerRemoved,
  containerStarted,
  rejectRequest,
  releaseAdmission,
} from '../use-cases/admission';
import { nodeRegistered, nodeRemoved } from '../use-cases/nodes';
import { resize } from '../use-cases/resize';
import type { QuotaContext } from '../use-cases/context';
import {
  QUOTA_COMMANDS,
  quotaEventTypes,
  releaseRequested,
  reserveRequested,
  resizeRequested,
} from './contracts';

const text = (v: unknown) => (typeof v === 'string' ? v : null);

/**
 * quota's commands and what it reads of provisioning's events, each validated against its
 * contract. A malformed admission request is answered (rejected, 422), not retried: the saga
 * waits for an answer, and no retry can mend the data; any other malformed event is a dead
 * letter. Only infrastructure errors go back to the bus's retries.
 */
export function quotaSubscriptions(ctx: QuotaContext): Subscription[] {
  return [
    eventRouter({
      consumer: 'quota',
      topics: [QUOTA_COMMANDS, PROVISIONING_EVENTS],
      routes: {
        [quotaEventTypes.reserveRequested]: onEvent(
          reserveRequested,
          ({ data, event, tx }) => admit(ctx, { ...data, requestId: data.requestId ?? event.id }, tx),
          async ({ data, event, tx, problems }) => {
            const d = (data ?? {}) as Record<string, unknown>;
            await rejectRequest(ctx, tx, {
              requestId: text(d.requestId) ?? event.id,
              user: text(d.user),
              node: text(d.node),
              code: 'invalid-request',
              reason: problems,
            });
          },
        ),
        [quotaEventTypes.resizeRequested]: onEvent(resizeRequested, ({ data, tx }) => resize(ctx, data, tx)),
        [quotaEventTypes.releaseRequested]: onEvent(releaseRequested, ({ data, tx }) =>
          releaseAdmission(ctx, data.requestId, tx),
        ),
        [provisioningEventTypes.containerStarted]: onEvent(containerStartedEvent, ({ data, tx }) =>
          containerStarted(ctx, data, tx),
        ),
        [provisioningEventTypes.containerRemoved]: onEvent(containerRemovedEvent, ({ data, tx }) =>
          containerRemoved(ctx, data.containerId, tx),
        ),
        [provisioningEventTypes.interfaceAttached]: onEvent(interfaceChangedEvent, ({ data, tx }) =>
          containerAddressesChanged(ctx, data.containerId, data.interfaces.length, tx),
        ),
        [provisioningEventTypes.interfaceDetached]: onEvent(interfaceChangedEvent, ({ data, tx }) =>
          containerAddressesChanged(ctx, data.containerId, -data.interfaces.length, tx),
        ),
        [provisioningEventTypes.nodeRegistered]: onEvent(nodeEvent, ({ data, tx }) =>
          nodeRegistered(ctx, data.name, tx),
        ),
        [provisioningEventTypes.nodeRemoved]: onEvent(nodeEvent, ({ data, tx }) =>
          nodeRemoved(ctx, data.name, tx),
        ),
      },
    }),
  ];
}
