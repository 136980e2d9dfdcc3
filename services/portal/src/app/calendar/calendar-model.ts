/** The calendar's time slots and what is drawn in them; pure, so the page only renders. */

export type View = 'day' | 'week';

export interface Slot {
  index: number;
  start: number;
  end: number;
  label: string;
}

export interface Booked {
  node: string;
  reservationId: string;
  start: number;
  end: number;
}

const HOUR = 3600_000;

/** Local midnight of the day holding `t`. */
export function startOfDay(t: number): number {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Local midnight of the Monday of the week holding `t`. */
export function startOfWeek(t: number): number {
  const d = new Date(startOfDay(t));
  const back = (d.getDay() + 6) % 7;
  d.setDate(d.getDate() - back);
  return d.getTime();
}

/** Adds days in local time (a day with a DST change is 23 or 25 hours). */
export function addDays(t: number, days: number): number {
  const d = new Date(t);
  d.setDate(d.getDate() + days);
  return d.getTime();
}

export function dateKey(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function parseDateKey(key: string | null): number {
  const m = key ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(key) : null;
  if (!m) return startOfDay(Date.now());
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime();
}

/** Day: 24 slots of an hour. Week: 7 days of four 6-hour slots. */
export function slotsOf(
  view: View,
  anchor: number,
  fmtHour: (t: number) => string,
  fmtDay: (t: number) => string,
): Slot[] {
  const slots: Slot[] = [];
  if (view === 'day') {
    const day = startOfDay(anchor);
    for (let h = 0; h < 24; h++) {
      const start = new Date(day).setHours(h);
      const end = new Date(day).setHours(h + 1);
      slots.push({ index: h, start, end, label: fmtHour(start) });
    }
  } else {
    const week = startOfWeek(anchor);
    for (let d = 0; d < 7; d++) {
      const day = addDays(week, d);
      for (let q = 0; q < 4; q++) {
        const start = new Date(day).setHours(q * 6);
        const end = new Date(day).setHours(q * 6 + 6);
        slots.push({ index: d * 4 + q, start, end, label: q === 0 ? fmtDay(start) : fmtHour(start) });
      }
    }
  }
  return slots;
}

export const windowOf = (slots: Slot[]) => ({ from: slots[0]!.start, to: slots[slots.length - 1]!.end });

/** The slots a booked window covers, at least partly: [first, last + 1). */
export function span(slots: Slot[], b: { start: number; end: number }): [number, number] | null {
  const first = slots.findIndex((s) => s.end > b.start);
  if (first < 0 || slots[first]!.start >= b.end) return null;
  let last = first;
  while (last + 1 < slots.length && slots[last + 1]!.start < b.end) last++;
  return [first, last + 1];
}

/** A slot can be booked when part of it is still ahead and nothing on the node overlaps it. */
export function isFree(slot: Slot, node: string, booked: Booked[], now: number): boolean {
  if (slot.end <= now) return false;
  return !booked.some((b) => b.node === node && b.start < slot.end && b.end > slot.start);
}

/** Where a booking of a free slot starts: the slot's start, or now (to the minute) for the slot under way. */
export function bookingStart(slot: Slot, now: number): number {
  return slot.start >= now ? slot.start : Math.ceil(now / 60_000) * 60_000;
}

export const HOUR_MS = HOUR;
