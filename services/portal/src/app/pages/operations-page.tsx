import { useState } from 'preact/hooks';
import { cancelOperation, listOperations } from '../api/endpoints';
import type { Operation } from '../api/types';
import { actsForOthers, useSession } from '../auth/session-store';
import { when } from '../format';
import { Link, Loading, StateBadge } from '../ui/bits';
import { ConfirmDialog } from '../ui/dialog';
import { SelectField } from '../ui/fields';
import { useAction, useLoad } from '../ui/hooks';
import { isFinal, operationError } from '../ui/operation-wait';
import { ProblemBox } from '../ui/problem-box';

const SHOWN = 100;
const STATES = ['', 'pending', 'running', 'succeeded', 'partially_succeeded', 'failed', 'cancelled'];

/** Long-running work (creates, batches, interface changes, pulls…): its state, and cancel while it runs. */
export function OperationsPage() {
  const s = useSession()!;
  const [state, setState] = useState('');
  const ops = useLoad(() => listOperations({ state: state || undefined }), [state], 3000);
  const [cancelling, setCancelling] = useState<Operation | null>(null);
  const cancel = useAction();
  const [said, setSaid] = useState('');
  const doCancel = async () => {
    const op = cancelling!;
    const r = await cancel.run(() => cancelOperation(op.id));
    setCancelling(null);
    if (r) {
      setSaid(`Operation ${op.id.slice(0, 8)} is ${r.state}; what it did is rolled back.`);
      await ops.reload();
    }
  };
  return (
    <section>
      <h1 tabIndex={-1}>Operations</h1>
      <p class="lead">{actsForOthers(s) ? 'Every user’s operations' : 'Your operations'}, newest first.</p>
      <div class="filters">
        <SelectField
          id="ops-state"
          label="State"
          value={state}
          onValue={setState}
          options={STATES.map((v) => ({ value: v, label: v ? v.replace(/_/g, ' ') : 'Any state' }))}
        />
      </div>
      <p role="status" class="said">
        {said}
      </p>
      <ProblemBox problem={ops.problem ?? cancel.problem} />
      {ops.loading && !ops.data ? <Loading what="the operations" /> : null}
      {ops.data && ops.data.length === 0 ? <p class="empty">No operations.</p> : null}
      {ops.data && ops.data.length > 0 ? (
        <div class="table-wrap">
          <table class="data stack">
            <caption class="visually-hidden">Operations</caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">State</th>
                <th scope="col">Items</th>
                {actsForOthers(s) ? <th scope="col">Owner</th> : null}
                <th scope="col">Started</th>
                <th scope="col">Updated</th>
                <th scope="col">Detail</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {ops.data.slice(0, SHOWN).map((op) => {
                const done = op.items.filter(
                  (i) => i.state === 'running' || i.state === 'stopped' || i.state === 'exited',
                ).length;
                return (
                  <tr key={op.id} data-operation={op.id}>
                    <td data-label="Kind">
                      {op.kind === 'batch.create' ? (
                        <Link href={`/batches?op=${op.id}`}>{op.kind}</Link>
                      ) : (
                        op.kind
                      )}
                      <br />
                      <code class="muted">{op.id.slice(0, 8)}</code>
                    </td>
                    <td data-label="State">
                      <StateBadge state={op.state} />
                    </td>
                    <td data-label="Items">{op.items.length ? `${done}/${op.items.length}` : '–'}</td>
                    {actsForOthers(s) ? <td data-label="Owner">{op.owner}</td> : null}
                    <td data-label="Started">{when(op.createdAt)}</td>
                    <td data-label="Updated">{when(op.updatedAt)}</td>
                    <td data-label="Detail">
                      {op.state === 'failed' || op.state === 'cancelled' ? operationError(op) : ''}
                    </td>
                    <td data-label="Actions">
                      {!isFinal(op) ? (
                        <button
                          type="button"
                          class="small danger"
                          aria-label={`Cancel operation ${op.id.slice(0, 8)}`}
                          onClick={() => setCancelling(op)}
                        >
                          Cancel
                        </button>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {ops.data && ops.data.length > SHOWN ? (
        <p class="muted">
          The newest {SHOWN} of {ops.data.length}.
        </p>
      ) : null}
      <ConfirmDialog
        open={cancelling !== null}
        title="Cancel the operation?"
        message="It stops where it is and what it already did is rolled back (containers removed, addresses released)."
        confirmLabel="Cancel the operation"
        busy={cancel.busy}
        onConfirm={() => void doCancel()}
        onClose={() => setCancelling(null)}
      />
    </section>
  );
}
