import { enqueueEvent, type Tx } from '@testbed/kit';
import type { ReservationRecord } from '../store/reservation-store';
import type { QuotaContext } from '../use-cases/context';
import { RESERVATION_EVENTS, reservationEventTypes, type ReservationEventData } from './contracts';

export type ReservationEventKind = keyof typeof reservationEventTypes;

/** Writes a `reservation.*` event to the outbox in the caller's transaction, keyed by the reservation. */
export async function emitReservationEvent(
  ctx: QuotaContext,
  tx: Tx,
  kind: ReservationEventKind,
  r: ReservationRecord,
  reason?: ReservationEventData['reason'],
): Promise<void> {
  const data: ReservationEventData = {
    reservationId: r.id,
    user: r.user,
    nodes: r.nodes,
    start: r.start.toISOString(),
    end: r.end.toISOString(),
    ...(reason ? { reason } : {}),
  };
  await enqueueEvent(tx, {
    source: ctx.source,
    topic: RESERVATION_EVENTS,
    key: r.id,
    type: reservationEventTypes[kind],
    subject: r.id,
    data,
    time: ctx.clock.now(),
  });
}
