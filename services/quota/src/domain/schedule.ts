/** When a reservation's lifecycle events are due: pure, no I/O. */

export type LifecycleEvent = 'started' | 'ending' | 'ended';

export interface LifecycleState {
  startsAt: Date;
  endsAt: Date;
  startedEventAt: Date | null;
  endingEventAt: Date | null;
  endedEventAt: Date | null;
}

/** The instant `reservation.ending` is due: the lead time before the end, but never before the start. */
export function endingDueAt(r: Pick<LifecycleState, 'startsAt' | 'endsAt'>, leadMs: number): Date {
  return new Date(Math.max(r.startsAt.getTime(), r.endsAt.getTime() - leadMs));
}

/**
 * The events due at `now` and not yet emitted, in the order they must go out. Each is emitted
 * once, at the first pass at or after its instant, always in the order started, ending, ended:
 * a scheduler that was down catches up with all of them rather than skipping any.
 */
export function dueEvents(r: LifecycleState, now: Date, leadMs: number): LifecycleEvent[] {
  const t = now.getTime();
  if (r.endedEventAt || t < r.startsAt.getTime()) return [];
  const due: LifecycleEvent[] = [];
  if (!r.startedEventAt) due.push('started');
  if (!r.endingEventAt && t >= endingDueAt(r, leadMs).getTime()) due.push('ending');
  // endingDueAt is never after the end, so `ending` is out or in `due` by now.
  if (t >= r.endsAt.getTime()) due.push('ended');
  return due;
}
