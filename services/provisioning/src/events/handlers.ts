import type { CloudEvent, Subscription, Tx } from '@testbed/kit';
import { commandTypes, IPAM_EVENTS, parseSagaId, QUOTA_EVENTS, RESERVATION_EVENTS } from './contracts';
import { onAdmissionGranted, onAdmissionRejected, onAllocated, onAllocateFailed } from '../use-cases/saga';
import { recordReservationEnd, RESERVATION_STOP } from '../use-cases/reservation-end';
import { CONTAINER_UPDATE, onResizeAnswered, parseResizeRequestId, quotaResize } from '../use-cases/limits';
import {
  onInterfaceAllocated,
  onInterfaceAllocateFailed,
  parseInterfaceRequestId,
} from '../use-cases/interfaces';
import type { ProvisioningContext } from '../use-cases/context';

type Data = Record<string, unknown>;

/** quota's and ipam's answers drive the saga; answers to other services' requests are ignored. */
export function provisioningSubscriptions(ctx: ProvisioningContext): Subscription[] {
  const handlers: Record<string, (data: Data, tx: Tx) => Promise<void>> = {
    [commandTypes.quotaGranted]: async (d, tx) => {
      const id = parseSagaId(d.requestId);
      if (id?.node) await onAdmissionGranted(ctx, tx, id.operationId, id.node);
    },
    [commandTypes.quotaRejected]: async (d, tx) => {
      const id = parseSagaId(d.requestId);
      if (id?.node)
        await onAdmissionRejected(
          ctx,
          tx,
          id.operationId,
          id.node,
          String(d.reason ?? 'rejected'),
          Number(d.status ?? 409),
          String(d.code ?? 'quota-rejected'),
        );
    },
    [commandTypes.ipamAllocated]: async (d, tx) => {
      const interfaceOp = parseInterfaceRequestId(d.requestId);
      if (interfaceOp) {
        const ip = (d.items as { ip: string }[] | undefined)?.[0]?.ip;
        if (ip && (await onInterfaceAllocated(ctx, tx, interfaceOp, ip))) ctx.kick('interface', interfaceOp);
        return;
      }
      const id = parseSagaId(d.requestId);
      if (!id || id.node) return;
      const ips = ((d.items as { ip: string }[] | undefined) ?? []).map((i) => i.ip);
      if (await onAllocated(ctx, tx, id.operationId, ips)) ctx.kick('batch.create', id.operationId);
    },
    [commandTypes.ipamAllocateFailed]: async (d, tx) => {
      const interfaceOp = parseInterfaceRequestId(d.requestId);
      if (interfaceOp)
        return onInterfaceAllocateFailed(ctx, tx, interfaceOp, {
          type: 'address-unavailable',
          status: Number(d.status ?? 409),
          detail: String(d.reason ?? 'allocation failed'),
          firstConflict: (d.firstConflict as string | null) ?? null,
        });
      const id = parseSagaId(d.requestId);
      if (id && !id.node)
        await onAllocateFailed(
          ctx,
          tx,
          id.operationId,
          String(d.reason ?? 'allocation failed'),
          Number(d.status ?? 409),
          (d.firstConflict as string | null) ?? null,
        );
    },
    [quotaResize.granted]: async (d, tx) => {
      const id = parseResizeRequestId(d.requestId);
      if (id && (await onResizeAnswered(ctx, tx, id, { granted: true }))) ctx.kick(CONTAINER_UPDATE, id);
    },
    [quotaResize.rejected]: async (d, tx) => {
      const id = parseResizeRequestId(d.requestId);
      if (id)
        await onResizeAnswered(ctx, tx, id, {
          granted: false,
          code: String(d.code ?? 'quota-exceeded'),
          status: Number(d.status ?? 409),
          reason: String(d.reason ?? 'rejected'),
        });
    },
    [commandTypes.reservationEnded]: async (d, tx) => {
      const user = String(d.user ?? '');
      const nodes = (d.nodes as string[] | undefined) ?? [];
      const reservationId = String(d.reservationId ?? '');
      if (!user || !reservationId) return;
      // The stops are recorded with this event's consumption and run after the commit (Docker
      // work stays out of the transaction); a process that dies first leaves them to the resume task.
      const id = await recordReservationEnd(ctx, tx, { reservationId, user, nodes });
      if (id) ctx.kick(RESERVATION_STOP, id);
    },
  };
  return [
    {
      consumer: 'provisioning',
      topics: [QUOTA_EVENTS, IPAM_EVENTS, RESERVATION_EVENTS],
      handle: async (event: CloudEvent<unknown>, { tx }) => {
        await handlers[event.type]?.((event.data ?? {}) as Data, tx);
      },
    },
  ];
}
