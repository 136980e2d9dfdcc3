import { DomainError, enqueueEvent, eventRouter, onEvent, type Subscription, type Tx } from '@testbed/kit';
import {
  containerRemovedEvent,
  containerStartedEvent,
  interfaceChangedEvent,
  PROVISIONING_EVENTS,
  provisioningEventTypes,
} from '@testbed/provisioning/src/events/contracts';
import { allocate } from '../use-cases/allocate';
import { bindAddress, releaseAddresses, releaseContainer, releaseRequest } from '../use-cases/release';
import type { IpamContext } from '../use-cases/context';
import {
  allocateRequested,
  IPAM_COMMANDS,
  IPAM_EVENTS,
  ipamEventTypes,
  releaseRequested,
  type AllocateFailedEvent,
} from './contracts';

/** `ipam.allocate.failed`: the saga compensates on it. */
function answerFailure(ctx: IpamContext, tx: Tx, data: AllocateFailedEvent) {
  return enqueueEvent(tx, {
    source: ctx.source,
    topic: IPAM_EVENTS,
    key: data.pool ?? 'invalid',
    type: ipamEventTypes.allocateFailed,
    subject: data.pool ?? undefined,
    data,
  });
}

/**
 * ipam's commands and what it reads of provisioning's events, each validated against its
 * contract. An allocation command that cannot be served (malformed, no room) is answered with
 * `ipam.allocate.failed`, not retried; a malformed release has nothing to release (a dead letter).
 * Only infrastructure errors go back to the bus's retries.
 */
export function ipamSubscriptions(ctx: IpamContext): Subscription[] {
  const bindAll = async (
    data: { containerId: string; interfaces: { pool: string; ip: string }[] },
    tx: Tx,
  ) => {
    for (const { pool, ip } of data.interfaces) await bindAddress(ctx, pool, ip, data.containerId, tx);
  };
  return [
    eventRouter({
      consumer: 'ipam',
      topics: [IPAM_COMMANDS, PROVISIONING_EVENTS],
      routes: {
        [ipamEventTypes.allocateRequested]: onEvent(
          allocateRequested,
          async ({ data, event, tx }) => {
            const requestId = data.requestId || event.id;
            try {
              await allocate(ctx, { ...data, requestId }, tx);
            } catch (err) {
              if (!(err instanceof DomainError)) throw err;
              const firstConflict = (err.extensions.firstConflict as string | undefined) ?? null;
              await answerFailure(ctx, tx, {
                requestId,
                pool: data.pool,
                reason: err.message,
                status: err.status,
                firstConflict,
              });
            }
          },
          async ({ data, event, tx, problems }) => {
            const requestId = (data as { requestId?: unknown } | null)?.requestId;
            await answerFailure(ctx, tx, {
              requestId: typeof requestId === 'string' && requestId ? requestId : event.id,
              pool: null,
              reason: problems,
              status: 422,
              firstConflict: null,
            });
          },
        ),
        [ipamEventTypes.releaseRequested]: onEvent(releaseRequested, async ({ data, tx }) => {
          if (data.allocationRequestId) await releaseRequest(ctx, data.allocationRequestId, tx);
          if (data.pool && data.ips) await releaseAddresses(ctx, data.pool, data.ips, tx);
        }),
        [provisioningEventTypes.containerStarted]: onEvent(containerStartedEvent, ({ data, tx }) =>
          bindAll(data, tx),
        ),
        [provisioningEventTypes.containerRemoved]: onEvent(containerRemovedEvent, ({ data, tx }) =>
          releaseContainer(ctx, data.containerId, tx),
        ),
        // An attached interface's address is bound like a started container's.
        [provisioningEventTypes.interfaceAttached]: onEvent(interfaceChangedEvent, ({ data, tx }) =>
          bindAll(data, tx),
        ),
        // A second interface's address moved or went: what it no longer holds comes back to its pool.
        [provisioningEventTypes.interfaceDetached]: onEvent(interfaceChangedEvent, async ({ data, tx }) => {
          for (const { pool, ip } of data.interfaces) await releaseAddresses(ctx, pool, [ip], tx);
        }),
      },
    }),
  ];
}
