import type { Tx } from '@testbed/kit';
import type { LifecycleEvent } from '../domain/schedule';
import type { Window } from '../domain/windows';
import type { KnownNode } from './node-store';

export interface ReservationRecord {
  id: string;
  user: string;
  nodes: string[];
  start: Date;
  end: Date;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  cancelledAt: Date | null;
  startedEventAt: Date | null;
  endingEventAt: Date | null;
  endedEventAt: Date | null;
}

type Row = {
  id: string;
  user: string;
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  cancelledAt: Date | null;
  startedEventAt: Date | null;
  endingEventAt: Date | null;
  endedEventAt: Date | null;
  nodeNames: string[];
};

const fields = {
  id: true,
  user: true,
  nodeNames: true,
  startsAt: true,
  endsAt: true,
  createdBy: true,
  createdAt: true,
  updatedAt: true,
  cancelledAt: true,
  startedEventAt: true,
  endingEventAt: true,
  endedEventAt: true,
} as const;

function toReservation({ startsAt, endsAt, nodeNames, ...rest }: Row): ReservationRecord {
  return { ...rest, start: startsAt, end: endsAt, nodes: nodeNames };
}

export async function insertReservation(
  tx: Tx,
  r: {
    id: string;
    user: string;
    window: Window;
    nodes: KnownNode[];
    createdBy: string;
    requestKey: string | null;
  },
): Promise<ReservationRecord> {
  await tx.reservation.create({
    data: {
      id: r.id,
      user: r.user,
      startsAt: r.window.start,
      endsAt: r.window.end,
      createdBy: r.createdBy,
      requestKey: r.requestKey,
      nodeNames: r.nodes.map((n) => n.name).sort(),
    },
  });
  // In node order, so two bookings that wait on each other's slots always wait in the same
  // order: a conflict then ends in the exclusion error, never in a deadlock.
  for (const node of [...r.nodes].sort((a, b) => a.id - b.id)) {
    await tx.reservationSlot.create({
      data: { reservationId: r.id, nodeId: node.id, startsAt: r.window.start, endsAt: r.window.end },
    });
  }
  return (await findReservation(tx, r.id))!;
}

export async function findReservation(tx: Tx, id: string): Promise<ReservationRecord | undefined> {
  const row = await tx.reservation.findUnique({ where: { id }, select: fields });
  return row ? toReservation(row) : undefined;
}

export async function findByRequestKey(tx: Tx, requestKey: string): Promise<ReservationRecord | undefined> {
  const row = await tx.reservation.findUnique({ where: { requestKey }, select: fields });
  return row ? toReservation(row) : undefined;
}

/** Row lock for a change of the reservation (end, cancel) against the scheduler and other changes. */
export async function lockReservation(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT id::text AS id FROM quota.reservation WHERE id = ${id}::uuid FOR UPDATE`;
  return rows.length === 1;
}

export interface BookedSlot {
  reservationId: string;
  node: string;
  start: Date;
  end: Date;
}

/** Live slots of these nodes that overlap the window, earliest first (other than `exceptId`'s). */
export async function overlappingSlots(
  tx: Tx,
  nodeIds: number[],
  window: Window,
  exceptId?: string,
): Promise<BookedSlot[]> {
  const rows = await tx.reservationSlot.findMany({
    where: {
      nodeId: { in: nodeIds },
      startsAt: { lt: window.end },
      endsAt: { gt: window.start },
      ...(exceptId ? { reservationId: { not: exceptId } } : {}),
    },
    select: { reservationId: true, startsAt: true, endsAt: true, node: { select: { name: true } } },
    orderBy: [{ startsAt: 'asc' }, { reservationId: 'asc' }],
  });
  return rows.map((r) => ({
    reservationId: r.reservationId,
    node: r.node.name,
    start: r.startsAt,
    end: r.endsAt,
  }));
}

/** Windows of the user's reservations (not cancelled) that overlap `window`, other than `exceptId`. */
export async function userWindowsOverlapping(
  tx: Tx,
  user: string,
  window: Window,
  exceptId?: string,
): Promise<Window[]> {
  const rows = await tx.reservation.findMany({
    where: {
      user,
      cancelledAt: null,
      startsAt: { lt: window.end },
      endsAt: { gt: window.start },
      ...(exceptId ? { id: { not: exceptId } } : {}),
    },
    select: { startsAt: true, endsAt: true },
  });
  return rows.map((r) => ({ start: r.startsAt, end: r.endsAt }));
}

/** Whether one of the user's reservations holds the node at `at`. */
export async function coveringReservation(
  tx: Tx,
  user: string,
  node: string,
  at: Date,
): Promise<string | undefined> {
  const row = await tx.reservationSlot.findFirst({
    where: {
      node: { name: node },
      startsAt: { lte: at },
      endsAt: { gt: at },
      reservation: { user, cancelledAt: null },
    },
    select: { reservationId: true },
  });
  return row?.reservationId;
}

/** A new end; a `reservation.ending` already sent is re-armed, since it announced the old end. */
export async function updateEnd(tx: Tx, id: string, end: Date): Promise<ReservationRecord> {
  await tx.reservation.update({ where: { id }, data: { endsAt: end, endingEventAt: null } });
  await tx.reservationSlot.updateMany({ where: { reservationId: id }, data: { endsAt: end } });
  return (await findReservation(tx, id))!;
}

/** Cancels: the slots go (the nodes are free at once); the reservation stays, marked, with its node names. */
export async function markCancelled(tx: Tx, id: string, at: Date): Promise<ReservationRecord> {
  await tx.reservationSlot.deleteMany({ where: { reservationId: id } });
  await tx.reservation.update({ where: { id }, data: { cancelledAt: at } });
  return (await findReservation(tx, id))!;
}

export interface ReservationFilter {
  user?: string;
  node?: string;
  /** Reservations overlapping [from, to). */
  from?: Date;
  to?: Date;
}

/** Cursor key: start, then id. */
export type ReservationCursor = [string, string];

export async function listReservations(
  tx: Tx,
  filter: ReservationFilter,
  after: ReservationCursor | undefined,
  limit: number,
): Promise<ReservationRecord[]> {
  const afterStart = after ? new Date(after[0]) : undefined;
  const rows = await tx.reservation.findMany({
    where: {
      cancelledAt: null,
      ...(filter.user ? { user: filter.user } : {}),
      ...(filter.node ? { nodeNames: { has: filter.node } } : {}),
      ...(filter.from ? { endsAt: { gt: filter.from } } : {}),
      ...(filter.to ? { startsAt: { lt: filter.to } } : {}),
      ...(after && afterStart
        ? { OR: [{ startsAt: { gt: afterStart } }, { startsAt: afterStart, id: { gt: after[1] } }] }
        : {}),
    },
    select: fields,
    orderBy: [{ startsAt: 'asc' }, { id: 'asc' }],
    take: limit,
  });
  return rows.map(toReservation);
}

/** The user's reservations not cancelled and not over at `now`, split by whether they have begun. */
export async function countLiveReservations(
  tx: Tx,
  user: string,
  now: Date,
): Promise<{ active: number; upcoming: number }> {
  const [active, upcoming] = await Promise.all([
    tx.reservation.count({ where: { user, cancelledAt: null, startsAt: { lte: now }, endsAt: { gt: now } } }),
    tx.reservation.count({ where: { user, cancelledAt: null, startsAt: { gt: now } } }),
  ]);
  return { active, upcoming };
}

/**
 * Reservations with a lifecycle event possibly due (begun, `ended` not yet emitted), locked for
 * this transaction. SKIP LOCKED: a second scheduler (or a change in flight) leaves them to
 * whoever holds them, and the markers written under the lock make a later pass see them done.
 */
export async function lockDueReservations(tx: Tx, now: Date, limit: number): Promise<string[]> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT id::text AS id FROM quota.reservation
    WHERE ended_event_at IS NULL AND cancelled_at IS NULL AND starts_at <= ${now}
    ORDER BY starts_at, id
    LIMIT ${limit}
    FOR UPDATE SKIP LOCKED`;
  return rows.map((r) => r.id);
}

export async function findReservations(tx: Tx, ids: string[]): Promise<ReservationRecord[]> {
  const rows = await tx.reservation.findMany({
    where: { id: { in: ids } },
    select: fields,
    orderBy: { startsAt: 'asc' },
  });
  return rows.map(toReservation);
}

const markerColumn = {
  started: 'startedEventAt',
  ending: 'endingEventAt',
  ended: 'endedEventAt',
} as const satisfies Record<LifecycleEvent, string>;

export async function markEmitted(tx: Tx, id: string, events: LifecycleEvent[], at: Date): Promise<void> {
  if (events.length === 0) return;
  await tx.reservation.update({
    where: { id },
    data: Object.fromEntries(events.map((e) => [markerColumn[e], at])),
  });
}
