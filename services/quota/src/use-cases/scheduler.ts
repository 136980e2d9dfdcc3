import { dueEvents } from '../domain/schedule';
import { emitReservationEvent } from '../events/reservation-events';
import { findReservations, lockDueReservations, markEmitted } from '../store/reservation-store';
import { transaction, type QuotaContext } from './context';

/**
 * One scheduler pass: every lifecycle event due at the clock's now is emitted, and marked as
 * emitted in the same transaction, under the reservations' row locks. Two schedulers at once
 * (a leadership hand-over, two replicas) therefore still emit each event once. Answers how
 * many events it emitted; at most `batch` reservations per pass (the next pass takes the rest).
 */
export async function runSchedulerPass(ctx: QuotaContext, batch = 200): Promise<number> {
  return transaction(ctx, async (tx) => {
    const now = ctx.clock.now();
    const ids = await lockDueReservations(tx, now, batch);
    if (ids.length === 0) return 0;
    const leadMs = ctx.config.QUOTA_ENDING_LEAD_SECONDS * 1000;
    let emitted = 0;
    for (const r of await findReservations(tx, ids)) {
      const due = dueEvents(
        {
          startsAt: r.start,
          endsAt: r.end,
          startedEventAt: r.startedEventAt,
          endingEventAt: r.endingEventAt,
          endedEventAt: r.endedEventAt,
        },
        now,
        leadMs,
      );
      for (const kind of due)
        await emitReservationEvent(ctx, tx, kind, r, kind === 'ended' ? 'end' : undefined);
      await markEmitted(tx, r.id, due, now);
      emitted += due.length;
    }
    return emitted;
  });
}
