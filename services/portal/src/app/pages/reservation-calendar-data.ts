import { listReservations, nodeAvailability } from '../api/endpoints';
import type { Reservation } from '../api/types';
import type { Booked } from '../calendar/calendar-model';
import { useLoad, type Loaded } from '../ui/hooks';

export interface CalendarData {
  /** The reservations the user may see in full (an operator: everyone's). */
  mine: Reservation[];
  /** Every booked window on the nodes, whoever holds it. */
  booked: Booked[];
}

/** The reservations and every node's booked windows between `from` and `to`, refreshed every 15 s. */
export function useCalendarData(from: number, to: number, nodeNames: string[]): Loaded<CalendarData> {
  return useLoad(
    async () => {
      const [mine, availability] = await Promise.all([
        listReservations({ from: new Date(from).toISOString(), to: new Date(to).toISOString() }),
        Promise.all(
          nodeNames.map((n) => nodeAvailability(n, new Date(from).toISOString(), new Date(to).toISOString())),
        ),
      ]);
      const booked: Booked[] = availability.flatMap((a) =>
        a.booked.map((b) => ({
          node: a.node,
          reservationId: b.reservationId,
          start: new Date(b.start).getTime(),
          end: new Date(b.end).getTime(),
        })),
      );
      return { mine, booked };
    },
    [from, to, nodeNames.join(',')],
    15_000,
  );
}
