import { useState } from 'preact/hooks';
import { cancelOperation, listOperations } from '../api/endpoints';
import type { Operation } from '../api/types';
import { actsForOthers, useSession } from '../auth/session-store';
import { when } from '../format';
import { Link, StateBadge, StatusLine } from '../ui/bits';
import { DataTable } from '../ui/data-table';
import { ConfirmDialog } from '../ui/dialog';
import { SelectField } from '../ui/fields';
import { useAction, useLoad } from '../ui/hooks';
import { AsyncList } from '../ui/load-status';
import { isFinal, operationError } from '../ui/operation-wait';

const SHOWN = 100;
/** The items that got a container (running or stopped). */
const createdItems = (op: Operation) =>
  op.items.filter((i) => i.state === 'running' || i.state === 'stopped' || i.state === 'exited').length;

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
      <StatusLine text={said} />
      <AsyncList
        loaded={ops}
        what="the operations"
        problem={ops.problem ?? cancel.problem}
        empty="No operations."
      >
        {(items) => (
          <>
            <DataTable
              caption="Operations"
              items={items.slice(0, SHOWN)}
              rowKey={(op) => op.id}
              rowData={(op) => ({ 'data-operation': op.id })}
              columns={[
                {
                  label: 'Kind',
                  cell: (op) => (
                    <>
                      {op.kind === 'batch.create' ? (
                        <Link href={`/batches?op=${op.id}`}>{op.kind}</Link>
                      ) : (
                        op.kind
                      )}
                      <br />
                      <code class="muted">{op.id.slice(0, 8)}</code>
                    </>
                  ),
                },
                { label: 'State', cell: (op) => <StateBadge state={op.state} /> },
                {
                  label: 'Items',
                  cell: (op) => (op.items.length ? `${createdItems(op)}/${op.items.length}` : '–'),
                },
                actsForOthers(s) && { label: 'Owner', cell: (op) => op.owner },
                { label: 'Started', cell: (op) => when(op.createdAt) },
                { label: 'Updated', cell: (op) => when(op.updatedAt) },
                {
                  label: 'Detail',
                  cell: (op) => (op.state === 'failed' || op.state === 'cancelled' ? operationError(op) : ''),
                },
                {
                  label: 'Actions',
                  cell: (op) =>
                    !isFinal(op) ? (
                      <button
                        type="button"
                        class="small danger"
                        aria-label={`Cancel operation ${op.id.slice(0, 8)}`}
                        onClick={() => setCancelling(op)}
                      >
                        Cancel
                      </button>
                    ) : null,
                },
              ]}
            />
            {items.length > SHOWN ? (
              <p class="muted">
                The newest {SHOWN} of {items.length}.
              </p>
            ) : null}
          </>
        )}
      </AsyncList>
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
