import { useState } from 'preact/hooks';
import { listNodes } from '../api/endpoints';
import type { Reservation } from '../api/types';
import { actsForOthers, useSession } from '../auth/session-store';
import { when } from '../format';
import type { Route } from '../router';
import { StatusLine } from '../ui/bits';
import { useLoad } from '../ui/hooks';
import { LoadStatus } from '../ui/load-status';
import { bookingStart } from '../calendar/calendar-model';
import { BookReservationDialog, type Booking } from './book-reservation-dialog';
import { ManageReservationDialog } from './manage-reservation-dialog';
import { useCalendarData } from './reservation-calendar-data';
import { CalendarGrid } from './reservation-calendar-grid';
import { useCalendarRange } from './reservation-calendar-range';
import { CalendarToolbar } from './reservation-calendar-toolbar';
import { ReservationList } from './reservation-list';

/**
 * Reservations: a calendar of nodes against time (a day of hours, a week of 6-hour slots) with
 * every booked slot drawn (yours named, others' as booked), booking by choosing a free slot,
 * extending and cancelling yours; a refused booking names the reservation in the way.
 */
export function ReservationsPage({ route }: { route: Route }) {
  const s = useSession()!;
  const range = useCalendarRange(route);
  const nodes = useLoad(listNodes, []);
  const nodeNames = (nodes.data ?? []).map((n) => n.name);
  const calendar = useCalendarData(range.from, range.to, nodeNames);
  const [booking, setBooking] = useState<Booking | null>(null);
  const [managing, setManaging] = useState<Reservation | null>(null);
  const [inTheWay, setInTheWay] = useState<string | null>(null);
  const [said, setSaid] = useState('');
  const now = Date.now();

  const mine = new Map((calendar.data?.mine ?? []).map((r) => [r.id, r]));

  const refreshed = async (message: string) => {
    setSaid(message);
    await calendar.reload();
  };

  return (
    <section>
      <h1 tabIndex={-1}>Reservations</h1>
      <p class="lead">
        Book nodes by the hour. Every booked slot is drawn: yours with your name, others’ as booked. Choose a
        free slot to book it; choose one of yours to extend or cancel it.
      </p>
      <CalendarToolbar range={range} />
      <LoadStatus loaded={calendar} what="the calendar" problem={nodes.problem ?? calendar.problem} />
      <StatusLine text={said} />
      {nodes.data && calendar.data ? (
        <CalendarGrid
          view={range.view}
          slots={range.slots}
          nodes={nodeNames}
          booked={calendar.data.booked}
          mine={mine}
          me={s.user}
          seesAll={actsForOthers(s)}
          now={now}
          inTheWay={inTheWay}
          onFree={(node, slot) => {
            const start = bookingStart(slot, now);
            setBooking({ nodes: [node], start, end: slot.end });
          }}
          onBooked={(b) => {
            const r = mine.get(b.reservationId);
            if (r) setManaging(r);
            else setSaid(`${b.node} is booked by another user from ${when(b.start)} to ${when(b.end)}.`);
          }}
        />
      ) : null}
      <ReservationList
        items={calendar.data?.mine ?? []}
        me={s.user}
        seesAll={actsForOthers(s)}
        onManage={setManaging}
      />

      <BookReservationDialog
        booking={booking}
        nodes={nodeNames}
        user={s.user}
        onClose={() => setBooking(null)}
        onConflict={(id) => setInTheWay(id)}
        onBooked={(r) => {
          setBooking(null);
          setInTheWay(null);
          void refreshed(`Booked ${r.nodes.join(', ')} from ${when(r.start)} to ${when(r.end)}.`);
        }}
      />
      <ManageReservationDialog
        reservation={managing}
        onClose={() => setManaging(null)}
        onConflict={(id) => setInTheWay(id)}
        onChanged={(r, message) => {
          setManaging(r);
          void refreshed(message);
        }}
        onCancelled={(r) => {
          setManaging(null);
          void refreshed(`Cancelled the reservation of ${r.nodes.join(', ')} from ${when(r.start)}.`);
        }}
      />
    </section>
  );
}
