/** The reservation calendar's pure rules (services/portal/src/app/calendar/calendar-model.ts), in UTC. */
// The slots are the browser's local time: here local time is UTC (Node reads TZ again when it changes).
process.env.TZ = 'UTC';
import {
  addDays,
  bookingStart,
  isFree,
  parseDateKey,
  slotsOf,
  span,
  startOfWeek,
  windowOf,
} from '../src/app/calendar/calendar-model';

const T = (iso: string) => new Date(iso).getTime();
const hour = (t: number) => new Date(t).toISOString().slice(11, 16);

test('a day is 24 hourly slots, a week 28 slots of 6 hours from Monday', () => {
  const day = slotsOf('day', T('2030-03-06T15:20:00Z'), hour, hour);
  expect(day).toHaveLength(24);
  expect(windowOf(day)).toEqual({ from: T('2030-03-06T00:00:00Z'), to: T('2030-03-07T00:00:00Z') });
  const week = slotsOf('week', T('2030-03-06T15:20:00Z'), hour, (t) =>
    new Date(t).toISOString().slice(0, 10),
  );
  expect(week).toHaveLength(28);
  expect(startOfWeek(T('2030-03-10T23:00:00Z'))).toBe(T('2030-03-04T00:00:00Z')); // Sunday → its Monday
  expect(week[0]).toMatchObject({ start: T('2030-03-04T00:00:00Z'), label: '2030-03-04' });
  expect(week[1]).toMatchObject({ start: T('2030-03-04T06:00:00Z'), label: '06:00' });
  expect(windowOf(week).to).toBe(addDays(T('2030-03-04T00:00:00Z'), 7));
  expect(parseDateKey('2030-03-06')).toBe(T('2030-03-06T00:00:00Z'));
});

test('a booking covers the slots it touches; a slot is free only if ahead and not booked', () => {
  const day = slotsOf('day', T('2030-03-06T00:00:00Z'), hour, hour);
  const booked = [
    { node: 'node1', reservationId: 'r', start: T('2030-03-06T10:30:00Z'), end: T('2030-03-06T12:00:00Z') },
  ];
  expect(span(day, booked[0]!)).toEqual([10, 12]);
  expect(span(day, { start: T('2030-03-07T01:00:00Z'), end: T('2030-03-07T02:00:00Z') })).toBeNull();
  const now = T('2030-03-06T08:15:20Z');
  expect(isFree(day[7]!, 'node1', booked, now)).toBe(false); // past
  expect(isFree(day[8]!, 'node1', booked, now)).toBe(true); // under way: bookable from now
  expect(isFree(day[10]!, 'node1', booked, now)).toBe(false);
  expect(isFree(day[11]!, 'node1', booked, now)).toBe(false);
  expect(isFree(day[12]!, 'node1', booked, now)).toBe(true);
  expect(isFree(day[10]!, 'node2', booked, now)).toBe(true);
  expect(bookingStart(day[8]!, now)).toBe(T('2030-03-06T08:16:00Z'));
  expect(bookingStart(day[9]!, now)).toBe(T('2030-03-06T09:00:00Z'));
});
