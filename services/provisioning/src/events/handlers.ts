import { eventRouter, onEvent, type Subscription } from '@testbed/kit';
import {
  allocatedEvent,
  allocateFailedEvent,
  IPAM_EVENTS,
  ipamEventTypes,
} from '@testbed/ipam/src/events/contracts';
import {
  QUOTA_EVENTS,
  quotaEventTypes,
  RESERVATION_EVENTS,
  reservationEvent,
  reservationEventTypes,
  reserveGranted,
  reserveRejected,
  resizeGranted,
  resizeRejected,
} from '@testbed/quota/src/events/contracts';
import {
  parseAdmissionId,
  parseAllocationId,
  parseInterfaceRequestId,
  parseResizeRequestId,
} from '../domain/request-ids';
import {
  onAdmissionGranted,
  onAdmissionRejected,
  onAllocated,
  onAllocateFailed,
} from '../use-cases/create-saga';
import { onInterfaceAllocated, onInterfaceAllocateFailed } from '../use-cases/interfaces';
import { onResizeAnswered } from '../use-cases/limits';
import { recordReservationEnd } from '../use-cases/reservation-end';
import type { ProvisioningContext } from '../context';

/**
 * quota's and ipam's answers drive the sagas, a reservation's end stops its containers; each
 * event validated against the contract of the service that sent it. Answers to other services'
 * requests (request ids that are not provisioning's) are not its business.
 */
export function provisioningSubscriptions(ctx: ProvisioningContext): Subscription[] {
  return [
    eventRouter({
      consumer: 'provisioning',
      topics: [QUOTA_EVENTS, IPAM_EVENTS, RESERVATION_EVENTS],
      routes: {
        [quotaEventTypes.reserveGranted]: onEvent(reserveGranted, async ({ data, tx }) => {
          const id = parseAdmissionId(data.requestId);
          if (id) await onAdmissionGranted(ctx, tx, id.operationId, id.node);
        }),
        [quotaEventTypes.reserveRejected]: onEvent(reserveRejected, async ({ data, tx }) => {
          const id = parseAdmissionId(data.requestId);
          if (id) await onAdmissionRejected(ctx, tx, id.operationId, id.node, data);
        }),
        [quotaEventTypes.resizeGranted]: onEvent(resizeGranted, async ({ data, tx, afterCommit }) => {
          const id = parseResizeRequestId(data.requestId);
          if (id) await onResizeAnswered(ctx, tx, afterCommit, id, { granted: true });
        }),
        [quotaEventTypes.resizeRejected]: onEvent(resizeRejected, async ({ data, tx, afterCommit }) => {
          const id = parseResizeRequestId(data.requestId);
          if (id) await onResizeAnswered(ctx, tx, afterCommit, id, { granted: false, ...data });
        }),
        [ipamEventTypes.allocated]: onEvent(allocatedEvent, async ({ data, tx, afterCommit }) => {
          const interfaceOp = parseInterfaceRequestId(data.requestId);
          const ip = data.items[0]?.ip;
          if (interfaceOp && ip) await onInterfaceAllocated(ctx, tx, afterCommit, interfaceOp, ip);
          const saga = parseAllocationId(data.requestId);
          if (saga)
            await onAllocated(
              ctx,
              tx,
              afterCommit,
              saga,
              data.items.map((i) => i.ip),
            );
        }),
        [ipamEventTypes.allocateFailed]: onEvent(allocateFailedEvent, async ({ data, tx }) => {
          const interfaceOp = parseInterfaceRequestId(data.requestId);
          if (interfaceOp)
            await onInterfaceAllocateFailed(ctx, tx, interfaceOp, {
              type: 'address-unavailable',
              status: data.status,
              detail: data.reason,
              firstConflict: data.firstConflict,
            });
          const saga = parseAllocationId(data.requestId);
          if (saga) await onAllocateFailed(ctx, tx, saga, data);
        }),
        [reservationEventTypes.ended]: onEvent(reservationEvent, ({ data, tx, afterCommit }) =>
          recordReservationEnd(ctx, tx, afterCommit, {
            reservationId: data.reservationId,
            user: data.user,
            nodes: data.nodes,
          }),
        ),
      },
    }),
  ];
}
