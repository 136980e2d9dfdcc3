import { useState } from 'preact/hooks';
import { createNetwork, listNetworks, listNodes, listPools, removeNetwork } from '../api/endpoints';
import type { Network } from '../api/types';
import { actsForOthers, useSession } from '../auth/session-store';
import { when } from '../format';
import { Loading } from '../ui/bits';
import { ConfirmDialog } from '../ui/dialog';
import { ChoiceGroup, SelectField, TextField } from '../ui/fields';
import { useAction, useLoad } from '../ui/hooks';
import { ProblemBox, fieldError } from '../ui/problem-box';

/** User-defined secondary networks (created on the nodes' daemons) and the address pools behind them. */
export function NetworksPage() {
  const s = useSession()!;
  const networks = useLoad(listNetworks, [], 10_000);
  const pools = useLoad(listPools, []);
  const nodes = useLoad(listNodes, []);
  const [removing, setRemoving] = useState<Network | null>(null);
  const removal = useAction();
  const [said, setSaid] = useState('');
  const remove = async () => {
    const n = removing!;
    const ok = await removal.run(async () => {
      await removeNetwork(n.name);
      return true;
    });
    setRemoving(null);
    if (ok) {
      setSaid(`Network ${n.name} removed.`);
      await networks.reload();
    }
  };
  return (
    <section>
      <h1 tabIndex={-1}>Networks</h1>
      <p class="lead">
        Second interfaces attach to the node’s secondary network, or to a network of your own made here from
        an address pool.
      </p>
      <p role="status" class="said">
        {said}
      </p>
      <ProblemBox problem={networks.problem ?? removal.problem} />
      {networks.loading && !networks.data ? <Loading what="the networks" /> : null}
      {networks.data && networks.data.length === 0 ? <p class="empty">No networks yet.</p> : null}
      {networks.data && networks.data.length > 0 ? (
        <div class="table-wrap">
          <table class="data stack">
            <caption class="visually-hidden">Networks</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Pool</th>
                <th scope="col">Nodes</th>
                <th scope="col">Owner</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {networks.data.map((n) => (
                <tr key={n.name}>
                  <td data-label="Name">{n.name}</td>
                  <td data-label="Pool">{n.pool}</td>
                  <td data-label="Nodes">{n.nodes.join(', ')}</td>
                  <td data-label="Owner">{n.owner}</td>
                  <td data-label="Created">{when(n.createdAt)}</td>
                  <td data-label="Actions">
                    {n.owner === s.user || actsForOthers(s) ? (
                      <button
                        type="button"
                        class="small danger"
                        aria-label={`Remove network ${n.name}`}
                        onClick={() => setRemoving(n)}
                      >
                        Remove
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <NewNetwork
        pools={(pools.data ?? []).map((p) => p.name)}
        nodes={(nodes.data ?? []).map((n) => n.name)}
        onCreated={(n) => {
          setSaid(`Network ${n.name} created on ${n.nodes.join(', ')}.`);
          void networks.reload();
        }}
      />
      <h2>Address pools</h2>
      <ProblemBox problem={pools.problem} />
      {pools.data ? (
        <div class="table-wrap">
          <table class="data stack">
            <caption class="visually-hidden">Address pools</caption>
            <thead>
              <tr>
                <th scope="col">Pool</th>
                <th scope="col">Subnet</th>
                <th scope="col">Range</th>
                <th scope="col">Segment</th>
                <th scope="col">Used</th>
                <th scope="col">Free</th>
              </tr>
            </thead>
            <tbody>
              {pools.data.map((p) => (
                <tr key={p.name}>
                  <td data-label="Pool">{p.name}</td>
                  <td data-label="Subnet">{p.cidr}</td>
                  <td data-label="Range">
                    {p.rangeStart}–{p.rangeEnd}
                  </td>
                  <td data-label="Segment">{p.segment}</td>
                  <td data-label="Used">{p.used}</td>
                  <td data-label="Free">
                    {p.free} of {p.size}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ConfirmDialog
        open={removing !== null}
        title={`Remove network ${removing?.name ?? ''}?`}
        message="It is removed from every node’s daemon; this is refused while containers are attached."
        confirmLabel="Remove the network"
        busy={removal.busy}
        onConfirm={() => void remove()}
        onClose={() => setRemoving(null)}
      />
    </section>
  );
}

function NewNetwork({
  pools,
  nodes,
  onCreated,
}: {
  pools: string[];
  nodes: string[];
  onCreated: (n: Network) => void;
}) {
  const [name, setName] = useState('');
  const [pool, setPool] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const { busy, problem, run } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const n = await run(() =>
      createNetwork({ name: name.trim(), pool: pool || pools[0] || '', nodes: chosen }),
    );
    if (n) {
      setName('');
      onCreated(n);
    }
  };
  return (
    <form class="form" onSubmit={submit} noValidate aria-labelledby="new-network-heading">
      <h2 id="new-network-heading">New network</h2>
      <div class="field-row">
        <TextField
          id="network-name"
          label="Name"
          value={name}
          onValue={setName}
          required
          error={fieldError(problem, 'name')}
        />
        <SelectField
          id="network-pool"
          label="Address pool"
          value={pool || pools[0] || ''}
          onValue={setPool}
          options={pools.map((p) => ({ value: p, label: p }))}
          error={fieldError(problem, 'pool')}
        />
      </div>
      <ChoiceGroup
        name="network-nodes"
        legend="Nodes"
        type="checkbox"
        options={nodes.map((n) => ({ value: n, label: n }))}
        selected={chosen}
        onToggle={(v, on) => setChosen(on ? [...chosen, v] : chosen.filter((x) => x !== v))}
        error={fieldError(problem, 'nodes')}
      />
      <ProblemBox problem={problem} shownFields={['name', 'pool', 'nodes']} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create network'}
        </button>
      </div>
    </form>
  );
}
