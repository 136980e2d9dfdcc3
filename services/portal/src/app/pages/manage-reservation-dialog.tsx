import { useEffect, useState } from 'preact/hooks';
import { cancelReservation, changeReservationEnd } from '../api/endpoints';
import type { ApiProblem } from '../api/client';
import type { Reservation } from '../api/types';
import { fromLocalInput, toLocalInput, when } from '../format';
import { StateBadge, SubmitButton } from '../ui/bits';
import { TextField } from '../ui/fields';
import { ConfirmDialog, Dialog } from '../ui/dialog';
import { useAction } from '../ui/hooks';
import { ProblemBox, fieldError } from '../ui/problem-box';
import { useConflictingReservation } from './reservation-conflict';

/** One of the user's reservations: extended by an hour, its end changed, or cancelled after a confirmation. */
export function ManageReservationDialog({
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
  useConflictingReservation(problem, onConflict);
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

/** The reservation's facts, "Extend by 1 hour", a new end and "Cancel the reservation". */
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
          <SubmitButton busy={busy}>Change the end</SubmitButton>
          <button type="button" class="danger" disabled={busy} onClick={onCancel}>
            Cancel the reservation
          </button>
        </div>
      </form>
    </>
  );
}
