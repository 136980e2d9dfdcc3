import { useEffect, useRef, useState } from 'preact/hooks';
import {
  attachInterface,
  changeLimits,
  detachInterface,
  getContainer,
  listNetworks,
  listNodes,
  moveInterface,
} from '../api/endpoints';
import type { Container, NodeInfo } from '../api/types';
import { bytes, cpuMillis, when } from '../format';
import { navigate } from '../router';
import { useAddressSuggestion } from '../ui/address-suggestion';
import { CopyButton, Link, StateBadge, StatusLine, SubmitButton } from '../ui/bits';
import { ContainerActions } from '../ui/container-actions';
import { LimitFields, bytesToMib, mibToBytes, type LimitValues } from '../ui/container-fields';
import { DataTable } from '../ui/data-table';
import { SelectField, TextField } from '../ui/fields';
import { useAction, useLoad } from '../ui/hooks';
import { LoadStatus } from '../ui/load-status';
import { ProblemBox, fieldError } from '../ui/problem-box';
import { HistoryPanel } from '../monitor/history-panel';
import { ContainerActionList } from './container-action-list';

/** One container: its facts, actions, ssh command, second interface (attach, move, detach), limits, history. */
export function ContainerPage({ id }: { id: string }) {
  const c = useLoad(() => getContainer(id), [id], 5000);
  const nodes = useLoad(listNodes, []);
  const [removed, setRemoved] = useState(false);
  if (removed)
    return (
      <section>
        <h1 tabIndex={-1}>Container removed</h1>
        <p role="status">
          The container is gone and its addresses are released.{' '}
          <Link href="/nodes">Back to the containers</Link>.
        </p>
      </section>
    );
  if (!c.data)
    return (
      <section>
        <h1 tabIndex={-1}>Container</h1>
        <LoadStatus loaded={c} what="the container" />
      </section>
    );
  const k = c.data;
  const node = nodes.data?.find((n) => n.name === k.node);
  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>{k.name}</h1>
        <StateBadge state={k.state} />
      </div>
      <ProblemBox problem={c.problem} />
      <dl class="facts">
        <dt>Node</dt>
        <dd>{k.node}</dd>
        <dt>Owner</dt>
        <dd>{k.owner}</dd>
        <dt>Image</dt>
        <dd>{k.image}</dd>
        <dt>Limits</dt>
        <dd>
          {cpuMillis(k.cpuMillis)}, {bytes(k.memoryBytes)}
        </dd>
        <dt>Created</dt>
        <dd>{when(k.createdAt)}</dd>
        <dt>Started</dt>
        <dd>{when(k.startedAt)}</dd>
        <dt>Id</dt>
        <dd>
          <code>{k.id}</code>
        </dd>
      </dl>
      <h2>ssh</h2>
      <CopyButton text={k.sshCommand} label={`Copy the ssh command of ${k.name}`} />
      <h2>Actions</h2>
      <ContainerActions
        c={k}
        onChanged={c.set}
        onRemoved={() => {
          setRemoved(true);
          setTimeout(() => navigate('/nodes'), 1500);
        }}
      />
      <Interfaces c={k} node={node} onChanged={() => void c.reload()} />
      <Limits c={k} onChanged={c.set} />
      <HistoryPanel containerId={k.id} name={k.name} />
      <ContainerActionList id={k.id} />
    </section>
  );
}

function Interfaces({
  c,
  node,
  onChanged,
}: {
  c: Container;
  node: NodeInfo | undefined;
  onChanged: () => void;
}) {
  const eth1 = c.interfaces.find((i) => i.name === 'eth1');
  const [moving, setMoving] = useState(false);
  const action = useAction();
  const [said, setSaid] = useState('');
  const detach = async () => {
    const done = await action.run(() => detachInterface(c.id));
    if (done) {
      setSaid(done.status === 202 ? 'eth1 is being detached.' : 'eth1 detached; its address is released.');
      setMoving(false);
      onChanged();
    }
  };
  return (
    <section aria-labelledby="ifaces-heading">
      <h2 id="ifaces-heading">Interfaces</h2>
      <DataTable
        labelledBy="ifaces-heading"
        items={c.interfaces}
        rowKey={(i) => i.name}
        rowData={(i) => ({ 'data-interface': i.name })}
        columns={[
          { label: 'Interface', cell: (i) => i.name },
          { label: 'Pool', cell: (i) => i.pool },
          { label: 'Address', cell: (i) => <code>{i.ip}</code> },
          { label: 'MAC', cell: (i) => i.mac ?? '–' },
          {
            label: 'Actions',
            cell: (i) =>
              i.name === 'eth1' ? (
                <div class="row-actions">
                  <button
                    type="button"
                    class="small"
                    aria-expanded={moving ? 'true' : 'false'}
                    onClick={() => setMoving(!moving)}
                  >
                    Move eth1
                  </button>
                  <button
                    type="button"
                    class="small danger"
                    disabled={action.busy}
                    onClick={() => void detach()}
                  >
                    {action.busy ? 'Detaching…' : 'Detach eth1'}
                  </button>
                </div>
              ) : (
                <span class="muted">the container’s address</span>
              ),
          },
        ]}
      />
      <StatusLine text={said} />
      <ProblemBox problem={action.problem} />
      {eth1 && moving && node ? (
        <MoveForm
          c={c}
          node={node}
          current={eth1.pool}
          onMoved={(ip) => {
            setSaid(`eth1 moved to ${ip}.`);
            setMoving(false);
            onChanged();
          }}
        />
      ) : null}
      {!eth1 && node ? (
        <AttachForm
          c={c}
          node={node}
          onAttached={(ip) => (setSaid(`eth1 attached with ${ip}.`), onChanged())}
        />
      ) : null}
    </section>
  );
}

function AttachForm({
  c,
  node,
  onAttached,
}: {
  c: Container;
  node: NodeInfo;
  onAttached: (ip: string) => void;
}) {
  const networks = useLoad(listNetworks, []);
  const [target, setTarget] = useState(`pool:${node.secondaryPool}`);
  const { busy, problem, run } = useAction();
  const here = (networks.data ?? []).filter((n) => n.nodes.includes(c.node));
  const submit = async (e: Event) => {
    e.preventDefault();
    const [kind, name] = target.split(':') as ['pool' | 'network', string];
    const answer = await run(() =>
      attachInterface(c.id, kind === 'pool' ? { pool: name } : { network: name }),
    );
    if (answer) onAttached('ip' in answer.body ? answer.body.ip : 'an address (still being set)');
  };
  return (
    <form class="form inline-form" onSubmit={submit} noValidate>
      <h3>Attach a second interface</h3>
      <SelectField
        id="attach-target"
        label="Attach eth1 to"
        value={target}
        onValue={setTarget}
        options={[
          {
            value: `pool:${node.secondaryPool}`,
            label: `the secondary network (pool ${node.secondaryPool})`,
          },
          ...here.map((n) => ({ value: `network:${n.name}`, label: `network ${n.name} (pool ${n.pool})` })),
        ]}
        error={fieldError(problem, 'pool') ?? fieldError(problem, 'network')}
      />
      <ProblemBox problem={problem} shownFields={['pool', 'network']} />
      <div class="actions">
        <SubmitButton class="primary" busy={busy} busyLabel="Attaching…">
          Attach eth1
        </SubmitButton>
      </div>
    </form>
  );
}

function MoveForm({
  c,
  node,
  current,
  onMoved,
}: {
  c: Container;
  node: NodeInfo;
  current: string;
  onMoved: (ip: string) => void;
}) {
  const pools = [...new Set([node.experimentPool, node.secondaryPool, current])];
  const [pool, setPool] = useState(node.experimentPool);
  const [ip, setIp] = useState('');
  // An address typed by hand is never replaced by a suggestion that arrives after it.
  const ipEdited = useRef(false);
  const suggestion = useAddressSuggestion();
  const { busy, problem, run } = useAction();
  const suggest = async (force = false) => {
    const next = await suggestion.suggest(pool, 1);
    if (next && (force || !ipEdited.current)) {
      ipEdited.current = false;
      setIp(next[0] ?? '');
    }
  };
  useEffect(() => void suggest(), [pool]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const answer = await run(() => moveInterface(c.id, { ip: ip.trim(), pool }));
    if (answer) onMoved('ip' in answer.body ? answer.body.ip : ip.trim());
    else void suggest(true);
  };
  const suggested = suggestion.block?.[0];
  return (
    <form class="form inline-form" onSubmit={submit} noValidate>
      <h3>Move eth1</h3>
      <SelectField
        id="move-pool"
        label="Into pool"
        value={pool}
        onValue={setPool}
        options={pools.map((p) => ({
          value: p,
          label: p === node.experimentPool ? `${p} (the experiment range)` : p,
        }))}
        error={fieldError(problem, 'pool')}
      />
      <TextField
        id="move-ip"
        label="New address"
        value={ip}
        onValue={(v) => {
          ipEdited.current = true;
          setIp(v);
        }}
        inputMode="decimal"
        required
        hint={suggested ? `${suggested} is free in ${pool} (ipam’s suggestion).` : undefined}
        error={fieldError(problem, 'ip')}
      />
      <ProblemBox problem={suggestion.problem} />
      <ProblemBox problem={problem} shownFields={['ip', 'pool']} />
      <div class="actions">
        <SubmitButton class="primary" busy={busy} busyLabel="Moving…" disabled={!ip.trim()}>
          Move eth1 to this address
        </SubmitButton>
        <button type="button" onClick={() => void suggest(true)}>
          Suggest again
        </button>
      </div>
    </form>
  );
}

function Limits({ c, onChanged }: { c: Container; onChanged: (c: Container) => void }) {
  const [limits, setLimits] = useState<LimitValues>({
    cpu: String(c.cpuMillis),
    memory: String(bytesToMib(c.memoryBytes)),
  });
  const { busy, problem, run } = useAction();
  const [said, setSaid] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const updated = await run(() =>
      changeLimits(c.id, { cpuMillis: Number(limits.cpu), memoryBytes: mibToBytes(limits.memory) }),
    );
    if (updated) {
      setSaid(`Limits now ${cpuMillis(updated.cpuMillis)} and ${bytes(updated.memoryBytes)}.`);
      onChanged(updated);
    }
  };
  return (
    <form class="form inline-form" onSubmit={submit} noValidate aria-labelledby="limits-heading">
      <h2 id="limits-heading">Limits</h2>
      <LimitFields idPrefix="limit" value={limits} onValue={setLimits} problem={problem} />
      <ProblemBox problem={problem} shownFields={['cpuMillis', 'memoryBytes']} />
      <StatusLine text={said} />
      <div class="actions">
        <SubmitButton busy={busy} busyLabel="Changing…">
          Change limits
        </SubmitButton>
      </div>
    </form>
  );
}
