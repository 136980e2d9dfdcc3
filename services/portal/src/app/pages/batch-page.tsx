import { useEffect, useRef, useState } from 'preact/hooks';
import {
  createBatch,
  getOperation,
  listContainers,
  listNodes,
  removeBatch,
  removeContainer,
  suggestAddresses,
  type BatchBody,
} from '../api/endpoints';
import { problemOf, type ApiProblem } from '../api/client';
import type { Operation, OperationItem } from '../api/types';
import { navigate, type Route } from '../router';
import { Link, Loading, StateBadge } from '../ui/bits';
import { ChoiceGroup, TextAreaField, TextField } from '../ui/fields';
import { ConfirmDialog } from '../ui/dialog';
import { useAction, useLoad } from '../ui/hooks';
import { followOperation, isFinal, operationError } from '../ui/operation-wait';
import { ProblemBox, fieldError } from '../ui/problem-box';

const MiB = 1024 * 1024;
const FIELDS = [
  'namePrefix',
  'count',
  'image',
  'nodes',
  'baseIp',
  'placement',
  'cpuMillis',
  'memoryBytes',
  'sshPublicKeys',
];
const CREATED = new Set(['running', 'stopped', 'exited']);

const indexOf = (name: string): number => Number(/-(\d+)$/.exec(name)?.[1] ?? 0);

/** Batch: create and run N containers over one or more nodes with ascending addresses; watch it run. */
export function BatchPage({ route }: { route: Route }) {
  const opId = route.query.get('op');
  return (
    <section>
      <h1 tabIndex={-1}>Batch</h1>
      <p class="lead">
        Create and run N containers named prefix-1…N with ascending addresses from a base address.
      </p>
      <div class={opId ? 'batch-layout' : ''}>
        <BatchForm key="form" onStarted={(id) => navigate(`/batches?op=${id}`, { replace: false })} />
        {opId ? <BatchProgress key={opId} opId={opId} /> : null}
      </div>
    </section>
  );
}

function BatchForm({ onStarted }: { onStarted: (opId: string) => void }) {
  const nodes = useLoad(listNodes, []);
  const [prefix, setPrefix] = useState('');
  const [count, setCount] = useState('5');
  const [image, setImage] = useState('testbed/busybox');
  const [chosen, setChosen] = useState<string[]>([]);
  const [placement, setPlacement] = useState<'spread' | 'pack'>('spread');
  const [baseIp, setBaseIp] = useState('');
  const [suggested, setSuggested] = useState<string[] | null>(null);
  const [suggestProblem, setSuggestProblem] = useState<ApiProblem | null>(null);
  const [cpu, setCpu] = useState('');
  const [memory, setMemory] = useState('');
  const [keys, setKeys] = useState('');
  const { busy, problem, run } = useAction();
  const edited = useRef(false);

  useEffect(() => {
    if (chosen.length === 0 && nodes.data?.length) {
      const up = nodes.data.find((n) => n.health.state === 'up' && n.schedulable) ?? nodes.data[0]!;
      setChosen([up.name]);
    }
  }, [nodes.data]);

  const pool = nodes.data?.find((n) => n.name === chosen[0])?.experimentPool;
  const n = Number(count);
  const suggest = async (force = false) => {
    if (!pool || !Number.isInteger(n) || n < 1) return;
    setSuggestProblem(null);
    try {
      const block = await suggestAddresses(pool, n);
      setSuggested(block);
      if (force || !edited.current) {
        edited.current = false;
        setBaseIp(block[0] ?? '');
      }
    } catch (err) {
      setSuggested(null);
      setSuggestProblem(problemOf(err));
    }
  };
  useEffect(() => {
    const t = setTimeout(() => void suggest(), 250);
    return () => clearTimeout(t);
  }, [pool, count]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const body: BatchBody = {
      namePrefix: prefix.trim(),
      count: Number(count),
      image: image.trim(),
      nodes: chosen,
      placement,
      ...(baseIp.trim() ? { baseIp: baseIp.trim() } : {}),
      ...(cpu.trim() ? { cpuMillis: Number(cpu) } : {}),
      ...(memory.trim() ? { memoryBytes: Math.round(Number(memory) * MiB) } : {}),
      sshPublicKeys: keys
        .split('\n')
        .map((k) => k.trim())
        .filter(Boolean),
    };
    const answer = await run(() => createBatch(body));
    if (answer) {
      edited.current = false;
      onStarted(answer.body.id);
      // The batch holds its block now: the next suggestion is the block after it.
      setTimeout(() => void suggest(true), 1500);
    }
  };

  return (
    <form class="form" onSubmit={submit} noValidate aria-labelledby="batch-form-heading">
      <h2 id="batch-form-heading">New batch</h2>
      {nodes.loading && !nodes.data ? <Loading what="the nodes" /> : null}
      <ProblemBox problem={nodes.problem} />
      <div class="field-row">
        <TextField
          id="batch-prefix"
          label="Name prefix"
          value={prefix}
          onValue={setPrefix}
          required
          autoComplete="off"
          hint="Containers are named prefix-1, prefix-2, …"
          error={fieldError(problem, 'namePrefix')}
        />
        <TextField
          id="batch-count"
          label="Count"
          type="number"
          min={1}
          max={1000}
          value={count}
          onValue={setCount}
          required
          error={fieldError(problem, 'count')}
        />
      </div>
      <TextField
        id="batch-image"
        label="Image"
        value={image}
        onValue={setImage}
        required
        error={fieldError(problem, 'image')}
      />
      <ChoiceGroup
        name="batch-nodes"
        legend="Nodes"
        type="checkbox"
        options={(nodes.data ?? []).map((x) => ({
          value: x.name,
          label: `${x.name} (${x.health.state}, ${x.use.containers} containers)`,
        }))}
        selected={chosen}
        onToggle={(v, on) => setChosen(on ? [...chosen, v] : chosen.filter((c) => c !== v))}
        error={fieldError(problem, 'nodes')}
      />
      <ChoiceGroup
        name="batch-placement"
        legend="Placement"
        type="radio"
        options={[
          { value: 'spread', label: 'Spread: round-robin over the nodes' },
          { value: 'pack', label: 'Pack: fill one node before the next' },
        ]}
        selected={[placement]}
        onToggle={(v, on) => on && setPlacement(v as 'spread' | 'pack')}
        error={fieldError(problem, 'placement')}
      />
      <div class="field-row">
        <TextField
          id="batch-base"
          label="Base address"
          value={baseIp}
          onValue={(v) => {
            edited.current = true;
            setBaseIp(v);
          }}
          inputMode="decimal"
          hint={
            suggested?.length ? (
              <>
                ipam suggests {suggested[0]}–{suggested[suggested.length - 1]}, the lowest {suggested.length}{' '}
                free addresses in a row. Empty: ipam picks.
              </>
            ) : (
              'Empty: ipam picks the lowest free block.'
            )
          }
          error={fieldError(problem, 'baseIp')}
        />
        <button type="button" class="small align-end" onClick={() => void suggest(true)}>
          Suggest again
        </button>
      </div>
      <ProblemBox problem={suggestProblem} />
      <div class="field-row">
        <TextField
          id="batch-cpu"
          label="CPU each (millicores)"
          type="number"
          min={10}
          value={cpu}
          onValue={setCpu}
          placeholder="100"
          error={fieldError(problem, 'cpuMillis')}
        />
        <TextField
          id="batch-memory"
          label="Memory each (MiB)"
          type="number"
          min={6}
          value={memory}
          onValue={setMemory}
          placeholder="64"
          error={fieldError(problem, 'memoryBytes')}
        />
      </div>
      <TextAreaField
        id="batch-keys"
        label="SSH public keys"
        value={keys}
        onValue={setKeys}
        rows={2}
        hint="One per line, for every container."
        error={fieldError(problem, 'sshPublicKeys')}
      />
      <ProblemBox problem={problem} shownFields={FIELDS} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Starting…' : `Create and run ${Number.isInteger(n) && n > 0 ? n : 'N'}`}
        </button>
      </div>
    </form>
  );
}

function BatchProgress({ opId }: { opId: string }) {
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
    const r = await all.run(() => removeBatch(request.batchId!));
    setConfirmAll(false);
    if (r) {
      setRemoved(new Set(items.map((i) => i.containerId!).filter(Boolean)));
      setSaid(`Removed ${r.removed} container${r.removed === 1 ? '' : 's'} of the batch.`);
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
      <p role="status" class="said">
        {said}
      </p>
      <div class="table-wrap">
        <table class="data stack" aria-labelledby="batch-progress-heading" data-testid="batch-items">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Node</th>
              <th scope="col">State</th>
              <th scope="col">Address</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((i) => (
              <BatchItemRow
                key={i.name}
                i={i}
                finished={finished}
                onRemoved={(id) => {
                  setRemoved(new Set([...removed, id]));
                  setSaid(`${i.name} removed.`);
                }}
              />
            ))}
          </tbody>
        </table>
      </div>
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

function BatchItemRow({
  i,
  finished,
  onRemoved,
}: {
  i: OperationItem;
  finished: boolean;
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
    <tr data-item={i.name}>
      <td data-label="Name">
        {i.containerId && CREATED.has(i.state) ? (
          <Link href={`/containers/${i.containerId}`}>{i.name}</Link>
        ) : (
          i.name
        )}
      </td>
      <td data-label="Node">{i.node ?? '–'}</td>
      <td data-label="State">
        <StateBadge state={i.state} />
        {i.error ? (
          <span class="problem-detail">
            {' '}
            {typeof i.error === 'string' ? i.error : JSON.stringify(i.error)}
          </span>
        ) : null}
      </td>
      <td data-label="Address">
        <code>{i.ip ?? '–'}</code>
      </td>
      <td data-label="Actions">
        {finished && i.containerId && CREATED.has(i.state) ? (
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
      </td>
    </tr>
  );
}
