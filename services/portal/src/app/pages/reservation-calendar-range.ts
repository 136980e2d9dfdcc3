import { useMemo } from 'preact/hooks';
import { clock, day, shortDay } from '../format';
import { navigate, type Route } from '../router';
import {
  addDays,
  dateKey,
  parseDateKey,
  slotsOf,
  startOfWeek,
  windowOf,
  type Slot,
  type View,
} from '../calendar/calendar-model';

/** The stretch of time the calendar shows, as the page's address says it. */
export interface CalendarRange {
  view: View;
  /** Local midnight of the day shown, or of a day in the week shown. */
  anchor: number;
  slots: Slot[];
  from: number;
  to: number;
  /** Days the previous and next buttons move. */
  step: number;
  /** The day or the week, as the toolbar names it. */
  label: string;
}

/** The view (`?view=day|week`) and date (`?date=YYYY-MM-DD`, default today) of the address, and their slots. */
export function useCalendarRange(route: Route): CalendarRange {
  const view: View = route.query.get('view') === 'week' ? 'week' : 'day';
  const anchor = parseDateKey(route.query.get('date'));
  const slots = useMemo(() => slotsOf(view, anchor, clock, view === 'week' ? shortDay : day), [view, anchor]);
  const { from, to } = windowOf(slots);
  const step = view === 'day' ? 1 : 7;
  const label =
    view === 'day' ? day(anchor) : `${day(startOfWeek(anchor))} – ${day(addDays(startOfWeek(anchor), 6))}`;
  return { view, anchor, slots, from, to, step, label };
}

/** Shows another view or date; the address replaces the current one, so Back leaves the calendar. */
export const showCalendar = (view: View, t: number) =>
  navigate(`/reservations?view=${view}&date=${dateKey(t)}`, { replace: true });
