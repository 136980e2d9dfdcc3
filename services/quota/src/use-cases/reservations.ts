import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  InvalidError,
  NotFoundError,
  type FieldProblem,
  type Tx,
  recordAudit,
} from '@testbed/kit';
import { checkNewEnd, mostAtOnce, windowProblems, type Window } from '../domain/windows';
import { lockUser } from '../store/user-store';
import {
  findByRequestKey,
  findReservation,
  insertReservation,
  lockReservation,
  markCancelled,
  markEmitted,
  overlappingSlots,
  updateEnd,
  userWindowsOverlapping,
  type BookedSlot,
  type ReservationRecord,
} from '../store/reservation-store';
import { findNodes } from '../store/node-store';
import {
  DEADLOCK_DETECTED,
  EXCLUSION_VIOLATION,
  isUniqueViolation,
  sqlStateOf,
} from '../store/postgres-errors';
import { emitReservationEvent } from '../events/reservation-events';
import { transaction, type QuotaContext } from './context';
import { resolveNodes } from './nodes';
import { seeUser, userLimits } from './users';

/** 409 with the reservation in the way: which node, and that reservation's window. */
export class ReservationOverlapError extends ConflictError {
  constructor(slot: BookedSlot, nodes: string[]) {
    super(
      `node '${slot.node}' is booked from ${slot.start.toISOString()} to ${slot.end.toISOString()} by reservation ${slot.reservationId}`,
      {
        node: slot.node,
        conflictingReservation: {
          id: slot.reservationId,
          nodes,
          start: slot.start.toISOString(),
          end: slot.end.toISOString(),
        },
      },
      'reservation-overlap',
    );
  }
}

/** How often a booking that lost a race is tried again (the winner may have been cancelled since). */
const ATTEMPTS = 3;

/**
 * The database's constraint is the last word on overlaps; the checks before it only give the
 * common case a good answer without an aborted transaction. When the constraint (or a deadlock
 * between two bookings) ends the transaction, `work` runs again: it then sees the winner and names it.
 */
async function withOverlapRetry<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const state = sqlStateOf(err);
      if (attempt >= ATTEMPTS || (state !== EXCLUSION_VIOLATION && state !== DEADLOCK_DETECTED)) throw err;
    }
  }
}

async function throwIfOverlapping(
  tx: Tx,
  nodeIds: number[],
  window: Window,
  exceptId?: string,
): Promise<void> {
  const [first] = await overlappingSlots(tx, nodeIds, window, exceptId);
  if (!first) return;
  const other = await findReservation(tx, first.reservationId);
  throw new ReservationOverlapError(first, other?.nodes ?? [first.node]);
}

/** The user's limit of reservations at one instant, counting `window` as one of them. */
async function checkConcurrentLimit(
  ctx: QuotaContext,
  tx: Tx,
  user: string,
  window: Window,
  exceptId?: string,
): Promise<void> {
  const { maxConcurrentReservations: limit } = await userLimits(ctx, tx, user);
  const others = await userWindowsOverlapping(tx, user, window, exceptId);
  const atOnce = mostAtOnce([...others, window]);
  if (atOnce > limit) {
    throw new ConflictError(
      `limit ${limit} concurrent reservations for '${user}', this one would make ${atOnce} at once`,
      { limit, atOnce },
      'reservation-limit',
    );
  }
}

export interface BookingInput {
  user: string;
  nodes: string[];
  start: Date;
  end: Date;
  /** Who asked (the token's subject). */
  createdBy: string;
  /** From the Idempotency-Key: the same key answers the same reservation. */
  requestKey?: string;
}

/** Books the nodes for the user over [start, end): all of them or none. */
export async function bookReservation(
  ctx: QuotaContext,
  input: BookingInput,
): Promise<{ reservation: ReservationRecord; created: boolean }> {
  const window = { start: input.start, end: input.end };
  const nodeNames = [...new Set(input.nodes)];
  const book = () =>
    transaction(ctx, async (tx) => {
      if (input.requestKey) {
        const earlier = await findByRequestKey(tx, input.requestKey);
        if (earlier) return { reservation: earlier, created: false };
      }
      const problems: FieldProblem[] = windowProblems(window, ctx.clock.now());
      const { nodes, problems: nodeProblems } = await resolveNodes(tx, nodeNames, 'body.nodes');
      problems.push(...nodeProblems);
      if (problems.length > 0) throw new InvalidError(problems);
      // Booking for a user is a sighting (API.md): one not seen yet is known from now on, with the
      // default limits, in the booking's transaction.
      await seeUser(ctx, input.user, 'booking', tx);

      await lockUser(tx, input.user);
      await checkConcurrentLimit(ctx, tx, input.user, window);
      await throwIfOverlapping(
        tx,
        nodes.map((n) => n.id),
        window,
      );
      const reservation = await insertReservation(tx, {
        id: randomUUID(),
        user: input.user,
        window,
        nodes,
        createdBy: input.createdBy,
        requestKey: input.requestKey ?? null,
      });
      await emitReservationEvent(ctx, tx, 'created', reservation);
      await recordAudit(tx, {
        targetId: reservation.id,
        details: { user: reservation.user, nodes: input.nodes, start: window.start, end: window.end },
      });
      return { reservation, created: true };
    });
  try {
    return await withOverlapRetry(book);
  } catch (err) {
    // Two requests with one Idempotency-Key at once: the second finds the first's reservation.
    if (input.requestKey && isUniqueViolation(err)) {
      const earlier = await transaction(ctx, (tx) => findByRequestKey(tx, input.requestKey!));
      if (earlier) return { reservation: earlier, created: false };
    }
    throw err;
  }
}

export async function getReservation(ctx: QuotaContext, id: string): Promise<ReservationRecord> {
  const found = await transaction(ctx, (tx) => findReservation(tx, id));
  if (!found) throw new NotFoundError('reservation', id);
  return found;
}

/**
 * Locks a reservation for a change, in the order every writer uses (the user's lock, then the
 * row), and refuses changes to one that is over.
 */
async function lockForChange(tx: Tx, id: string, now: Date): Promise<ReservationRecord> {
  const seen = await findReservation(tx, id);
  if (!seen) throw new NotFoundError('reservation', id);
  await lockUser(tx, seen.user);
  await lockReservation(tx, id);
  const current = (await findReservation(tx, id))!;
  if (current.cancelledAt) {
    throw new ConflictError(
      `reservation ${id} was cancelled at ${current.cancelledAt.toISOString()}`,
      {},
      'reservation-cancelled',
    );
  }
  if (current.end.getTime() <= now.getTime()) {
    throw new ConflictError(
      `reservation ${id} ended at ${current.end.toISOString()}`,
      {},
      'reservation-ended',
    );
  }
  return current;
}

/** Extends or shortens a reservation: a new end, after its start and after now; 409 on overlap. */
export async function changeReservationEnd(
  ctx: QuotaContext,
  id: string,
  end: Date,
): Promise<ReservationRecord> {
  return withOverlapRetry(() =>
    transaction(ctx, async (tx) => {
      const now = ctx.clock.now();
      const current = await lockForChange(tx, id, now);
      checkNewEnd(current, end, now);
      if (end.getTime() === current.end.getTime()) return current;
      const window = { start: current.start, end };
      if (end.getTime() > current.end.getTime()) {
        await checkConcurrentLimit(ctx, tx, current.user, window, id);
        const nodes = await findNodes(tx, current.nodes);
        await throwIfOverlapping(
          tx,
          nodes.map((n) => n.id),
          window,
          id,
        );
      }
      const updated = await updateEnd(tx, id, end);
      await emitReservationEvent(ctx, tx, 'updated', updated);
      await recordAudit(tx, { details: { user: updated.user, end } });
      return updated;
    }),
  );
}

/**
 * Cancels a reservation that has not ended: its nodes are free at once. One that had started
 * also ends now (`reservation.ended`, reason `cancelled`), so provisioning stops its containers.
 * Cancelling a cancelled reservation changes nothing.
 */
export async function cancelReservation(ctx: QuotaContext, id: string): Promise<ReservationRecord> {
  return transaction(ctx, async (tx) => {
    const now = ctx.clock.now();
    const seen = await findReservation(tx, id);
    if (seen?.cancelledAt) return seen;
    const current = await lockForChange(tx, id, now);
    const cancelled = await markCancelled(tx, id, now);
    await emitReservationEvent(ctx, tx, 'cancelled', cancelled);
    await recordAudit(tx, { details: { user: cancelled.user } });
    if (current.startedEventAt && !current.endedEventAt) {
      await emitReservationEvent(ctx, tx, 'ended', cancelled, 'cancelled');
      await markEmitted(tx, id, ['ended'], now);
    }
    return cancelled;
  });
}
