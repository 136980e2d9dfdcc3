import { useEffect, useState } from 'preact/hooks';
import { bookReservation } from '../api/endpoints';
import type { Reservation } from '../api/types';
import { fromLocalInput, toLocalInput } from '../format';
import { SubmitButton } from '../ui/bits';
import { CheckboxGroup, TextField } from '../ui/fields';
import { Dialog } from '../ui/dialog';
import { useAction } from '../ui/hooks';
import { ProblemBox, fieldError } from '../ui/problem-box';
import { useConflictingReservation } from './reservation-conflict';

/** What a chosen free slot proposes: its node, and from its start (or now) to its end. */
export interface Booking {
  nodes: string[];
  start: number;
  end: number;
}

/** Books the proposed nodes and times, which the user may change first; open while `booking` is set. */
export function BookReservationDialog({
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
  useConflictingReservation(problem, onConflict);
  return (
    <Dialog open={booking !== null} title="Book a reservation" onClose={onClose}>
      <form class="form" onSubmit={submit} noValidate>
        <CheckboxGroup
          name="book-nodes"
          legend="Nodes"
          options={nodes.map((n) => ({ value: n, label: n }))}
          selected={chosen}
          onSelected={setChosen}
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
          <SubmitButton class="primary" busy={busy} busyLabel="Booking…" disabled={chosen.length === 0}>
            Book
          </SubmitButton>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </form>
    </Dialog>
  );
}
