/** A batch's create operation as it runs: progress, per-item state, removal of one or all. */
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  getOperation,
  listContainers,
  removeBatch,
  removeContainer,
  type BatchRemoval,
} from '../api/endpoints';
import { problemOf, type ApiProblem } from '../api/client';
import type { Operation, OperationItem } from '../api/types';
import { Link, Loading, StateBadge, StatusLine } from '../ui/bits';
import { DataTable, type Column } from '../ui/data-table';
import { ConfirmDialog } from '../ui/dialog';
import { useAction } from '../ui/hooks';
import { followOperation, isFinal, operationError } from '../ui/operation-wait';
import { ProblemBox } from '../ui/problem-box';
const CREATED = new Set(['running', 'stopped', 'exited']);

const indexOf = (name: string): number => Number(/-(\d+)$/.exec(name)?.[1] ?? 0);

export function BatchProgress({ opId }: { opId: string }) {
  const [op, setOp] = useState<Operation | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [removed, setRemoved] = useState<Set<string>>(new Set());
  const [said, setSaid] = useState('');
  const [confirmAll, setConfirmAll] = useState(false);
  const all = useAction();
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      try {
        const first = await getOperation(opId);
        const done = await followOperation(first, setOp, { signal: abort.signal, everyMs: 500 });
        if (isFinal(done)) {
          // Items of a finished operation are as it ended: the containers removed since are marked.
          const live = new Set((await listContainers()).map((c) => c.id));
          setRemoved(
            new Set(
              done.items.filter((i) => i.containerId && !live.has(i.containerId)).map((i) => i.containerId!),
            ),
          );
        }
      } catch (err) {
        if (!abort.signal.aborted) setProblem(problemOf(err));
      }
    })();
    return () => abort.abort();
  }, [opId]);

  if (problem) return <ProblemBox problem={problem} />;
  if (!op) return <Loading what="the batch" />;
  const request = (op.request ?? {}) as { namePrefix?: string; count?: number; batchId?: string };
  const items = [...op.items].sort((a, b) => indexOf(a.name) - indexOf(b.name));
  const total = request.count ?? items.length;
  const created = items.filter((i) => CREATED.has(i.state)).length;
  const failed = items.filter((i) => i.state === 'failed').length;
  const shown = items.filter((i) => !i.containerId || !removed.has(i.containerId));
  const finished = isFinal(op);

  const removeAll = async () => {
    const ended = await all.run(async () => followOperation(await removeBatch(request.batchId!), () => {}));
    setConfirmAll(false);
    if (ended && !isFinal(ended)) setSaid('The removal goes on: its operation is on the Operations page.');
    else if (ended) {
      const r = (ended.result ?? { removed: 0, errors: [] }) as BatchRemoval;
      const kept = new Set(r.errors.map((e) => e.containerId));
      setRemoved(new Set(items.map((i) => i.containerId!).filter((id) => id && !kept.has(id))));
      const n = r.removed;
      const failed = r.errors.length ? ` ${operationError(ended)}.` : '';
      setSaid(`Removed ${n} container${n === 1 ? '' : 's'} of the batch.${failed}`);
    }
  };

  return (
    <section class="batch-progress" aria-labelledby="batch-progress-heading">
      <h2 id="batch-progress-heading" ref={heading} tabIndex={-1}>
        Batch {request.namePrefix ?? ''} <StateBadge state={op.state} />
      </h2>
      <div class="progress-line">
        <progress id="batch-progress" max={total} value={created + failed} aria-label="Containers created" />
        <span class="progress-text" data-testid="batch-progress-text" aria-live="polite">
          {created + failed}/{total}
          {failed ? ` (${failed} failed)` : ''}
        </span>
      </div>
      {finished && op.state !== 'succeeded' ? <p class="problem-detail">{operationError(op)}</p> : null}
      <StatusLine text={said} />
      <DataTable
        labelledBy="batch-progress-heading"
        testId="batch-items"
        items={shown}
        rowKey={(i) => i.name}
        rowData={(i) => ({ 'data-item': i.name })}
        columns={itemColumns(finished, (i, id) => {
          setRemoved(new Set([...removed, id]));
          setSaid(`${i.name} removed.`);
        })}
      />
      {removed.size > 0 ? <p class="muted">{removed.size} removed since the batch ran.</p> : null}
      <ProblemBox problem={all.problem} />
      {finished && request.batchId && shown.some((i) => i.containerId) ? (
        <div class="actions">
          <button type="button" class="danger" onClick={() => setConfirmAll(true)}>
            Remove the whole batch
          </button>
          <Link href="/monitor">Watch them on the monitor</Link>
        </div>
      ) : null}
      <ConfirmDialog
        open={confirmAll}
        title="Remove the whole batch?"
        message={`Every container of batch ${request.namePrefix ?? ''} is stopped and removed; their addresses are released.`}
        confirmLabel="Remove the batch"
        busy={all.busy}
        // The button that opened it is gone with the batch: focus goes to the batch's heading.
        fallbackFocus={() => heading.current}
        onConfirm={() => void removeAll()}
        onClose={() => setConfirmAll(false)}
      />
    </section>
  );
}

const isCreated = (i: OperationItem) => Boolean(i.containerId) && CREATED.has(i.state);

function itemColumns(
  finished: boolean,
  onRemoved: (i: OperationItem, containerId: string) => void,
): Column<OperationItem>[] {
  return [
    {
      label: 'Name',
      cell: (i) => (isCreated(i) ? <Link href={`/containers/${i.containerId}`}>{i.name}</Link> : i.name),
    },
    { label: 'Node', cell: (i) => i.node ?? '–' },
    {
      label: 'State',
      cell: (i) => (
        <>
          <StateBadge state={i.state} />
          {i.error ? (
            <span class="problem-detail">
              {' '}
              {typeof i.error === 'string' ? i.error : JSON.stringify(i.error)}
            </span>
          ) : null}
        </>
      ),
    },
    { label: 'Address', cell: (i) => <code>{i.ip ?? '–'}</code> },
    {
      label: 'Actions',
      cell: (i) => (
        <RemoveItem i={i} removable={finished && isCreated(i)} onRemoved={(id) => onRemoved(i, id)} />
      ),
    },
  ];
}

/** An item's own remove button (once the batch finished) and what went wrong removing it. */
function RemoveItem({
  i,
  removable,
  onRemoved,
}: {
  i: OperationItem;
  removable: boolean;
  onRemoved: (id: string) => void;
}) {
  const { busy, problem, run } = useAction();
  const remove = async () => {
    const ok = await run(async () => {
      await removeContainer(i.containerId!, true);
      return true;
    });
    if (ok) onRemoved(i.containerId!);
  };
  return (
    <>
      {removable ? (
        <button
          type="button"
          class="small danger"
          disabled={busy}
          aria-label={`Remove ${i.name}`}
          onClick={() => void remove()}
        >
          {busy ? 'Removing…' : 'Remove'}
        </button>
      ) : null}
      <ProblemBox problem={problem} />
    </>
  );
}
