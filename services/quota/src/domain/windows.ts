import { InvalidError, type FieldProblem } from '@testbed/kit';

/** Time windows of reservations, half-open [start, end): pure, no I/O. */
export interface Window {
  start: Date;
  end: Date;
}

/**
 * A window may start this much before "now" and still count as starting now: the caller's clock
 * and the network are never exact, and "book from now" is what a person means.
 */
export const START_TOLERANCE_MS = 60_000;

export function overlaps(a: Window, b: Window): boolean {
  return a.start.getTime() < b.end.getTime() && b.start.getTime() < a.end.getTime();
}

/** The problems of a new booking's window, each naming its field; none when it is fine. */
export function windowProblems(window: Window, now: Date): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (window.end.getTime() <= window.start.getTime()) {
    problems.push({
      path: 'body.end',
      message: `must be after start (${window.start.toISOString()}), got ${window.end.toISOString()}`,
    });
  }
  if (window.end.getTime() <= now.getTime()) {
    problems.push({ path: 'body.end', message: `is in the past (now is ${now.toISOString()})` });
  } else if (window.start.getTime() < now.getTime() - START_TOLERANCE_MS) {
    problems.push({ path: 'body.start', message: `is in the past (now is ${now.toISOString()})` });
  }
  return problems;
}

/** A new end for an existing reservation (extend or shorten): after its start and after now. */
export function checkNewEnd(current: Window, end: Date, now: Date): void {
  if (end.getTime() <= current.start.getTime()) {
    throw InvalidError.field(
      'body.end',
      `must be after the reservation's start (${current.start.toISOString()}), got ${end.toISOString()}`,
    );
  }
  if (end.getTime() <= now.getTime()) {
    throw InvalidError.field('body.end', `is in the past (now is ${now.toISOString()})`);
  }
}

/** The gaps of `range` that none of `booked` covers, in order. */
export function freeWindows(range: Window, booked: Window[]): Window[] {
  const sorted = [...booked].sort((a, b) => a.start.getTime() - b.start.getTime());
  const free: Window[] = [];
  let cursor = range.start.getTime();
  const end = range.end.getTime();
  for (const b of sorted) {
    if (b.start.getTime() > cursor)
      free.push({ start: new Date(cursor), end: new Date(Math.min(b.start.getTime(), end)) });
    cursor = Math.max(cursor, b.end.getTime());
    if (cursor >= end) break;
  }
  if (cursor < end) free.push({ start: new Date(cursor), end: new Date(end) });
  return free.filter((w) => w.end.getTime() > w.start.getTime());
}

/** The most windows that cover one instant (a sweep over their edges; ends before starts at a tie). */
export function mostAtOnce(windows: Window[]): number {
  const edges = windows.flatMap((w) => [
    { at: w.start.getTime(), delta: 1 },
    { at: w.end.getTime(), delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let most = 0;
  for (const e of edges) {
    current += e.delta;
    most = Math.max(most, current);
  }
  return most;
}

export type ReservationState = 'upcoming' | 'active' | 'ended' | 'cancelled';

export function reservationState(r: Window & { cancelledAt: Date | null }, now: Date): ReservationState {
  if (r.cancelledAt) return 'cancelled';
  if (now.getTime() < r.start.getTime()) return 'upcoming';
  return now.getTime() < r.end.getTime() ? 'active' : 'ended';
}
