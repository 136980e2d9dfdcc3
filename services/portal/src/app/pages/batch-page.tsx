import { useEffect, useRef, useState } from 'preact/hooks';
import { createBatch, listNodes, type BatchBody } from '../api/endpoints';
import { navigate, type Route } from '../router';
import { BatchProgress } from './batch-progress';
import { useAddressSuggestion } from '../ui/address-suggestion';
import { SubmitButton } from '../ui/bits';
import {
  LimitFields,
  SshKeysField,
  SuggestedAddressField,
  filledLimits,
  keyLines,
  type LimitValues,
} from '../ui/container-fields';
import { CheckboxGroup, RadioGroup, TextField } from '../ui/fields';
import { useAction, useLoad } from '../ui/hooks';
import { LoadStatus } from '../ui/load-status';
import { ProblemBox, fieldError } from '../ui/problem-box';

type Placement = 'spread' | 'pack';
const PLACEMENTS: { value: Placement; label: string }[] = [
  { value: 'spread', label: 'Spread: round-robin over the nodes' },
  { value: 'pack', label: 'Pack: fill one node before the next' },
];
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
  const [placement, setPlacement] = useState<Placement>('spread');
  const [baseIp, setBaseIp] = useState('');
  const suggestion = useAddressSuggestion();
  const [limits, setLimits] = useState<LimitValues>({ cpu: '', memory: '' });
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
    const block = await suggestion.suggest(pool, n);
    if (block && (force || !edited.current)) {
      edited.current = false;
      setBaseIp(block[0] ?? '');
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
      ...filledLimits(limits),
      sshPublicKeys: keyLines(keys),
    };
    const answer = await run(() => createBatch(body));
    if (answer) {
      edited.current = false;
      onStarted(answer.body.id);
      // The batch holds its block now: the next suggestion is the block after it.
      setTimeout(() => void suggest(true), 1500);
    }
  };

  const suggested = suggestion.block;
  return (
    <form class="form" onSubmit={submit} noValidate aria-labelledby="batch-form-heading">
      <h2 id="batch-form-heading">New batch</h2>
      <LoadStatus loaded={nodes} what="the nodes" />
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
      <CheckboxGroup
        name="batch-nodes"
        legend="Nodes"
        options={(nodes.data ?? []).map((x) => ({
          value: x.name,
          label: `${x.name} (${x.health.state}, ${x.use.containers} containers)`,
        }))}
        selected={chosen}
        onSelected={setChosen}
        error={fieldError(problem, 'nodes')}
      />
      <RadioGroup
        name="batch-placement"
        legend="Placement"
        options={PLACEMENTS}
        value={placement}
        onValue={setPlacement}
        error={fieldError(problem, 'placement')}
      />
      <SuggestedAddressField
        id="batch-base"
        label="Base address"
        value={baseIp}
        onValue={(v) => {
          edited.current = true;
          setBaseIp(v);
        }}
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
        onSuggest={() => void suggest(true)}
        suggestProblem={suggestion.problem}
      />
      <LimitFields
        idPrefix="batch"
        value={limits}
        onValue={setLimits}
        problem={problem}
        cpu={{ label: 'CPU each (millicores)', placeholder: '100' }}
        memory={{ label: 'Memory each (MiB)', placeholder: '64' }}
      />
      <SshKeysField
        id="batch-keys"
        value={keys}
        onValue={setKeys}
        problem={problem}
        rows={2}
        hint="One per line, for every container."
      />
      <ProblemBox problem={problem} shownFields={FIELDS} />
      <div class="actions">
        <SubmitButton class="primary" busy={busy} busyLabel="Starting…">
          {`Create and run ${Number.isInteger(n) && n > 0 ? n : 'N'}`}
        </SubmitButton>
      </div>
    </form>
  );
}
