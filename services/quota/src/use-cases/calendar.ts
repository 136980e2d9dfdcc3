import { InvalidError, NotFoundError } from '@testbed/kit';
import { freeWindows, type Window } from '../domain/windows';
import { findNode } from '../store/node-store';
import {
  listReservations,
  overlappingSlots,
  type ReservationCursor,
  type ReservationFilter,
  type ReservationRecord,
} from '../store/reservation-store';
import { transaction, type QuotaContext } from './context';

const DAY_MS = 86_400_000;
/** Without `to`, availability looks this far ahead. */
export const DEFAULT_AVAILABILITY_DAYS = 7;
/** The longest range one availability request may ask about. */
export const MAX_AVAILABILITY_DAYS = 366;

export interface Availability {
  node: string;
  from: Date;
  to: Date;
  free: Window[];
  booked: (Window & { reservationId: string })[];
}

/** Free and booked windows of one node within [from, to) (default: now and a week on). */
export async function nodeAvailability(
  ctx: QuotaContext,
  node: string,
  range: { from?: Date; to?: Date },
): Promise<Availability> {
  const from = range.from ?? ctx.clock.now();
  const to = range.to ?? new Date(from.getTime() + DEFAULT_AVAILABILITY_DAYS * DAY_MS);
  if (to.getTime() <= from.getTime()) {
    throw InvalidError.field(
      'query.to',
      `must be after from (${from.toISOString()}), got ${to.toISOString()}`,
    );
  }
  if (to.getTime() - from.getTime() > MAX_AVAILABILITY_DAYS * DAY_MS) {
    throw InvalidError.field('query.to', `at most ${MAX_AVAILABILITY_DAYS} days after from`);
  }
  return transaction(ctx, async (tx) => {
    const known = await findNode(tx, node);
    if (!known) throw new NotFoundError('node', node);
    const window = { start: from, end: to };
    const slots = await overlappingSlots(tx, [known.id], window);
    const booked = slots.map((s) => ({
      reservationId: s.reservationId,
      start: new Date(Math.max(s.start.getTime(), from.getTime())),
      end: new Date(Math.min(s.end.getTime(), to.getTime())),
    }));
    return { node, from, to, free: freeWindows(window, booked), booked };
  });
}

export async function findReservationsPage(
  ctx: QuotaContext,
  filter: ReservationFilter,
  after: ReservationCursor | undefined,
  limit: number,
): Promise<ReservationRecord[]> {
  if (filter.from && filter.to && filter.to.getTime() <= filter.from.getTime()) {
    throw InvalidError.field('query.to', `must be after from (${filter.from.toISOString()})`);
  }
  return transaction(ctx, (tx) => listReservations(tx, filter, after, limit));
}
