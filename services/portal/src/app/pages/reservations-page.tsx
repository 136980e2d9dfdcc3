import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  bookReservation,
  cancelReservation,
  changeReservationEnd,
  listNodes,
  listReservations,
  nodeAvailability,
} from '../api/endpoints';
import type { Reservation } from '../api/types';
import type { ApiProblem } from '../api/client';
import { actsForOthers, useSession } from '../auth/session-store';
import { clock, day, fromLocalInput, shortDay, toLocalInput, when } from '../format';
import { navigate, type Route } from '../router';
import { Loading, StateBadge } from '../ui/bits';
import { ChoiceGroup, TextField } from '../ui/fields';
import { ConfirmDialog, Dialog } from '../ui/dialog';
import { useAction, useLoad } from '../ui/hooks';
import { ProblemBox, fieldError } from '../ui/problem-box';
import {
  addDays,
  bookingStart,
  dateKey,
  isFree,
  parseDateKey,
  slotsOf,
  span,
  startOfDay,
  startOfWeek,
  windowOf,
  type Booked,
  type Slot,
  type View,
} from '../calendar/calendar-model';

interface Booking {
  nodes: string[];
  start: number;
  end: number;
}

/**
 * Reservations: a calendar of nodes against time (a day of hours, a week of 6-hour slots) with
 * every booked slot drawn (yours named, others' as booked), booking by choosing a free slot,
 * extending and cancelling yours; a refused booking names the reservation in the way.
 */
export function ReservationsPage({ route }: { route: Route }) {
  const s = useSession()!;
  const view: View = route.query.get('view') === 'week' ? 'week' : 'day';
  const anchor = parseDateKey(route.query.get('date'));
  const slots = useMemo(() => slotsOf(view, anchor, clock, view === 'week' ? shortDay : day), [view, anchor]);
  const { from, to } = windowOf(slots);
  const nodes = useLoad(listNodes, []);
  const nodeNames = (nodes.data ?? []).map((n) => n.name);
  const calendar = useLoad(
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
  const [booking, setBooking] = useState<Booking | null>(null);
  const [managing, setManaging] = useState<Reservation | null>(null);
  const [inTheWay, setInTheWay] = useState<string | null>(null);
  const [said, setSaid] = useState('');
  const now = Date.now();

  const go = (v: View, t: number) =>
    navigate(`/reservations?view=${v}&date=${dateKey(t)}`, { replace: true });
  const step = view === 'day' ? 1 : 7;
  const mine = new Map((calendar.data?.mine ?? []).map((r) => [r.id, r]));
  const label =
    view === 'day' ? day(anchor) : `${day(startOfWeek(anchor))} – ${day(addDays(startOfWeek(anchor), 6))}`;

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
      <div class="cal-toolbar">
        <ChoiceGroup
          name="cal-view"
          legend="View"
          type="radio"
          options={[
            { value: 'day', label: 'Day' },
            { value: 'week', label: 'Week' },
          ]}
          selected={[view]}
          onToggle={(v, on) => on && go(v as View, anchor)}
        />
        <div class="cal-nav" role="group" aria-label="Move in time">
          <button type="button" onClick={() => go(view, addDays(anchor, -step))}>
            {view === 'day' ? 'Previous day' : 'Previous week'}
          </button>
          <button type="button" onClick={() => go(view, startOfDay(Date.now()))}>
            Today
          </button>
          <button type="button" onClick={() => go(view, addDays(anchor, step))}>
            {view === 'day' ? 'Next day' : 'Next week'}
          </button>
        </div>
        <p class="cal-range" aria-live="polite">
          <strong>{label}</strong>
        </p>
      </div>
      <ProblemBox problem={nodes.problem ?? calendar.problem} />
      {calendar.loading && !calendar.data ? <Loading what="the calendar" /> : null}
      <p role="status" class="said">
        {said}
      </p>
      {nodes.data && calendar.data ? (
        <CalendarGrid
          view={view}
          slots={slots}
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
      <MyReservations
        items={calendar.data?.mine ?? []}
        me={s.user}
        seesAll={actsForOthers(s)}
        onManage={setManaging}
      />

      <BookDialog
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
      <ManageDialog
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

interface GridProps {
  view: View;
  slots: Slot[];
  nodes: string[];
  booked: Booked[];
  mine: Map<string, Reservation>;
  me: string;
  seesAll: boolean;
  now: number;
  inTheWay: string | null;
  onFree: (node: string, slot: Slot) => void;
  onBooked: (b: Booked) => void;
}

/** Nodes against time as a CSS grid; the free slots are one keyboard stop moved with the arrow keys. */
function CalendarGrid({
  view,
  slots,
  nodes,
  booked,
  mine,
  me,
  seesAll,
  now,
  inTheWay,
  onFree,
  onBooked,
}: GridProps) {
  const [active, setActive] = useState<{ node: number; slot: number }>({ node: 0, slot: 0 });
  const grid = useRef<HTMLDivElement>(null);
  const narrow = () => matchMedia('(max-width: 700px)').matches;
  useEffect(() => {
    // Start on the first free slot of the first node.
    const first = slots.findIndex((sl) => isFree(sl, nodes[0] ?? '', booked, now));
    setActive({ node: 0, slot: Math.max(0, first) });
  }, [view, slots[0]?.start, nodes.join(',')]);

  const onKey = (e: KeyboardEvent) => {
    // Where focus is now (not the state, which a focus just before may not have updated yet).
    const cell = (e.target as HTMLElement).closest<HTMLElement>('[data-cell]')?.dataset.cell;
    if (!cell) return;
    const [node, slot] = cell.split('-').map(Number) as [number, number];
    const keys: Record<string, [number, number]> = narrow()
      ? { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] }
      : { ArrowRight: [0, 1], ArrowLeft: [0, -1], ArrowDown: [1, 0], ArrowUp: [-1, 0] };
    let move = keys[e.key];
    if (e.key === 'Home') move = [0, -slot];
    if (e.key === 'End') move = [0, slots.length - 1 - slot];
    if (!move) return;
    e.preventDefault();
    const next = {
      node: Math.min(nodes.length - 1, Math.max(0, node + move[0])),
      slot: Math.min(slots.length - 1, Math.max(0, slot + move[1])),
    };
    // Every cell is in the page already: focus moves at once, the roving tabindex follows.
    grid.current?.querySelector<HTMLElement>(`[data-cell="${next.node}-${next.slot}"]`)?.focus();
    setActive(next);
  };

  return (
    <div
      ref={grid}
      class={`cal cal-${view}`}
      role="grid"
      aria-label={`Nodes against time (${view}); arrow keys move between slots`}
      aria-rowcount={nodes.length + 1}
      aria-colcount={slots.length + 1}
      style={{ '--slots': slots.length, '--nodes': nodes.length }}
      onKeyDown={onKey}
    >
      <div class="cal-corner" style={{ '--r': 1, '--c0': 1 }} aria-hidden="true" />
      {slots.map((sl) => (
        <div
          key={`h${sl.index}`}
          class={`cal-time${view === 'week' && sl.index % 4 === 0 ? ' cal-daystart' : ''}`}
          style={{ '--r': 1, '--c0': sl.index + 2 }}
          aria-hidden="true"
        >
          {sl.label}
        </div>
      ))}
      {nodes.map((node, ni) => (
        <div key={node} role="row" class="cal-row" aria-rowindex={ni + 2}>
          <div class="cal-node" role="rowheader" style={{ '--r': ni + 2, '--c0': 1 }}>
            {node}
          </div>
          {slots.map((sl) => {
            const free = isFree(sl, node, booked, now);
            const isActive = active.node === ni && active.slot === sl.index;
            const text = `${node}, ${day(sl.start)} ${clock(sl.start)}–${clock(sl.end)}`;
            return (
              <div
                key={sl.index}
                role="gridcell"
                class="cal-slot-wrap"
                style={{ '--r': ni + 2, '--c0': sl.index + 2 }}
              >
                <button
                  type="button"
                  class={`cal-slot${free ? ' free' : sl.end <= now ? ' past' : ' taken'}`}
                  data-cell={`${ni}-${sl.index}`}
                  tabIndex={isActive ? 0 : -1}
                  aria-disabled={free ? undefined : 'true'}
                  aria-label={free ? `Book ${text}` : `${text}: ${sl.end <= now ? 'past' : 'booked'}`}
                  onFocus={() => setActive({ node: ni, slot: sl.index })}
                  onClick={() => free && onFree(node, sl)}
                />
              </div>
            );
          })}
          {booked
            .filter((b) => b.node === node)
            .map((b) => {
              const range = span(slots, b);
              if (!range) return null;
              const r = mine.get(b.reservationId);
              const who = r ? (r.user === me ? 'You' : seesAll ? r.user : 'Booked') : 'Booked';
              const text = `${who}: ${clock(b.start)}–${clock(b.end)}`;
              return (
                <div
                  key={b.reservationId}
                  role="gridcell"
                  class="cal-bar-wrap"
                  style={{ '--r': ni + 2, '--c0': range[0] + 2, '--c1': range[1] + 2 }}
                >
                  <button
                    type="button"
                    class={`cal-bar${r ? ' mine' : ' others'}${inTheWay === b.reservationId ? ' in-the-way' : ''}`}
                    data-reservation={b.reservationId}
                    title={`${node}: ${when(b.start)} – ${when(b.end)}`}
                    onClick={() => onBooked(b)}
                  >
                    <span class="cal-bar-text">{text}</span>
                    <span class="visually-hidden">
                      {`, ${node} ${r ? (r.user === me ? 'reserved by you' : `reserved by ${r.user}`) : 'booked by another user'} from ${when(b.start)} to ${when(b.end)}${inTheWay === b.reservationId ? ', in the way of your booking' : ''}`}
                    </span>
                  </button>
                </div>
              );
            })}
        </div>
      ))}
    </div>
  );
}

function MyReservations({
  items,
  me,
  seesAll,
  onManage,
}: {
  items: Reservation[];
  me: string;
  seesAll: boolean;
  onManage: (r: Reservation) => void;
}) {
  const shown = items.filter((r) => r.state !== 'cancelled');
  return (
    <section aria-labelledby="mine-heading">
      <h2 id="mine-heading">{seesAll ? 'Reservations in this range' : 'Your reservations in this range'}</h2>
      {shown.length === 0 ? <p class="empty">None.</p> : null}
      {shown.length > 0 ? (
        <div class="table-wrap">
          <table class="data stack" aria-labelledby="mine-heading">
            <thead>
              <tr>
                {seesAll ? <th scope="col">User</th> : null}
                <th scope="col">Nodes</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">State</th>
                <th scope="col">Manage</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <tr key={r.id} data-reservation={r.id}>
                  {seesAll ? <td data-label="User">{r.user === me ? `${r.user} (you)` : r.user}</td> : null}
                  <td data-label="Nodes">{r.nodes.join(', ')}</td>
                  <td data-label="From">{when(r.start)}</td>
                  <td data-label="To">{when(r.end)}</td>
                  <td data-label="State">
                    <StateBadge state={r.state} />
                  </td>
                  <td data-label="Manage">
                    <button type="button" class="small" onClick={() => onManage(r)}>
                      Extend or cancel
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function BookDialog({
  booking,
  nodes,
  user,
  onClose,
  onBooked,
  onConflict,
}: {
  booking: Booking | null;
  nodes: string[];
  user: string;
  onClose: () => void;
  onBooked: (r: Reservation) => void;
  onConflict: (id: string) => void;
}) {
  const [chosen, setChosen] = useState<string[]>([]);
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const { busy, problem, run, setProblem } = useAction();
  useEffect(() => {
    if (!booking) return;
    setChosen(booking.nodes);
    setStart(toLocalInput(booking.start));
    setEnd(toLocalInput(booking.end));
    setProblem(null);
  }, [booking]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await run(() =>
      bookReservation({
        user,
        nodes: chosen,
        start: new Date(fromLocalInput(start)).toISOString(),
        end: new Date(fromLocalInput(end)).toISOString(),
      }),
    );
    if (r) onBooked(r);
  };
  useConflict(problem, onConflict);
  return (
    <Dialog open={booking !== null} title="Book a reservation" onClose={onClose}>
      <form class="form" onSubmit={submit} noValidate>
        <ChoiceGroup
          name="book-nodes"
          legend="Nodes"
          type="checkbox"
          options={nodes.map((n) => ({ value: n, label: n }))}
          selected={chosen}
          onToggle={(v, on) => setChosen(on ? [...chosen, v] : chosen.filter((x) => x !== v))}
          error={fieldError(problem, 'nodes')}
        />
        <TextField
          id="book-start"
          label="From"
          type="datetime-local"
          value={start}
          onValue={setStart}
          error={fieldError(problem, 'start')}
        />
        <TextField
          id="book-end"
          label="To"
          type="datetime-local"
          value={end}
          onValue={setEnd}
          hint="Make it longer than the slot if you need; a booking that runs into another is refused and names it."
          error={fieldError(problem, 'end')}
        />
        <ProblemBox problem={problem} shownFields={['nodes', 'start', 'end']} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy || chosen.length === 0}>
            {busy ? 'Booking…' : 'Book'}
          </button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function useConflict(problem: ApiProblem | null, onConflict: (id: string) => void) {
  useEffect(() => {
    const c = problem?.body.conflictingReservation as { id?: string } | undefined;
    if (c?.id) onConflict(c.id);
  }, [problem]);
}

function ManageDialog({
  reservation,
  onClose,
  onChanged,
  onCancelled,
  onConflict,
}: {
  reservation: Reservation | null;
  onClose: () => void;
  onChanged: (r: Reservation, message: string) => void;
  onCancelled: (r: Reservation) => void;
  onConflict: (id: string) => void;
}) {
  const [end, setEnd] = useState('');
  const [confirming, setConfirming] = useState(false);
  const { busy, problem, run, setProblem } = useAction();
  useEffect(() => {
    if (reservation) setEnd(toLocalInput(new Date(reservation.end).getTime()));
    setProblem(null);
  }, [reservation?.id, reservation?.end]);
  useConflict(problem, onConflict);
  const r = reservation;
  const changeEnd = async (to: number, what: string) => {
    if (!r) return;
    const updated = await run(() => changeReservationEnd(r.id, new Date(to).toISOString()));
    if (updated) onChanged(updated, `${what}: ${updated.nodes.join(', ')} now until ${when(updated.end)}.`);
  };
  const cancel = async () => {
    if (!r) return;
    const ok = await run(async () => {
      await cancelReservation(r.id);
      return true;
    });
    setConfirming(false);
    if (ok) onCancelled(r);
  };
  return (
    <Dialog
      open={r !== null}
      title={r ? `Reservation of ${r.nodes.join(', ')}` : 'Reservation'}
      onClose={onClose}
    >
      {r ? (
        <ManageBody
          r={r}
          end={end}
          setEnd={setEnd}
          busy={busy}
          problem={problem}
          changeEnd={changeEnd}
          onCancel={() => setConfirming(true)}
        />
      ) : null}
      <ConfirmDialog
        open={confirming && r !== null}
        title="Cancel this reservation?"
        message={
          r
            ? `${r.nodes.join(', ')} from ${when(r.start)} to ${when(r.end)} is freed; a reservation under way ends now and its containers are stopped.`
            : ''
        }
        confirmLabel="Cancel the reservation"
        busy={busy}
        onConfirm={() => void cancel()}
        onClose={() => setConfirming(false)}
      />
    </Dialog>
  );
}

function ManageBody({
  r,
  end,
  setEnd,
  busy,
  problem,
  changeEnd,
  onCancel,
}: {
  r: Reservation;
  end: string;
  setEnd: (v: string) => void;
  busy: boolean;
  problem: ApiProblem | null;
  changeEnd: (to: number, what: string) => Promise<void>;
  onCancel: () => void;
}) {
  return (
    <>
      <dl class="facts">
        <dt>From</dt>
        <dd>{when(r.start)}</dd>
        <dt>To</dt>
        <dd data-testid="reservation-end">{when(r.end)}</dd>
        <dt>State</dt>
        <dd>
          <StateBadge state={r.state} />
        </dd>
      </dl>
      <div class="actions">
        <button
          type="button"
          class="primary"
          disabled={busy}
          onClick={() => void changeEnd(new Date(r.end).getTime() + 3600_000, 'Extended by an hour')}
        >
          Extend by 1 hour
        </button>
      </div>
      <form
        class="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void changeEnd(fromLocalInput(end), 'Changed the end');
        }}
      >
        <TextField
          id="manage-end"
          label="New end"
          type="datetime-local"
          value={end}
          onValue={setEnd}
          error={fieldError(problem, 'end')}
        />
        <ProblemBox problem={problem} shownFields={['end']} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Change the end
          </button>
          <button type="button" class="danger" disabled={busy} onClick={onCancel}>
            Cancel the reservation
          </button>
        </div>
      </form>
    </>
  );
}
