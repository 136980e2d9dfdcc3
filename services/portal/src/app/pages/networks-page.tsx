import { useState } from 'preact/hooks';
import { createNetwork, listNetworks, listNodes, listPools, removeNetwork } from '../api/endpoints';
import type { Network } from '../api/types';
import { actsForOthers, useSession } from '../auth/session-store';
import { when } from '../format';
import { StatusLine, SubmitButton } from '../ui/bits';
import { DataTable } from '../ui/data-table';
import { ConfirmDialog } from '../ui/dialog';
import { CheckboxGroup, SelectField, TextField } from '../ui/fields';
import { useAction, useLoad } from '../ui/hooks';
import { AsyncList } from '../ui/load-status';
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
      <StatusLine text={said} />
      <AsyncList
        loaded={networks}
        what="the networks"
        problem={networks.problem ?? removal.problem}
        empty="No networks yet."
      >
        {(items) => (
          <DataTable
            caption="Networks"
            items={items}
            rowKey={(n) => n.name}
            columns={[
              { label: 'Name', cell: (n) => n.name },
              { label: 'Pool', cell: (n) => n.pool },
              { label: 'Nodes', cell: (n) => n.nodes.join(', ') },
              { label: 'Owner', cell: (n) => n.owner },
              { label: 'Created', cell: (n) => when(n.createdAt) },
              {
                label: 'Actions',
                cell: (n) =>
                  n.owner === s.user || actsForOthers(s) ? (
                    <button
                      type="button"
                      class="small danger"
                      aria-label={`Remove network ${n.name}`}
                      onClick={() => setRemoving(n)}
                    >
                      Remove
                    </button>
                  ) : null,
              },
            ]}
          />
        )}
      </AsyncList>
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
        <DataTable
          caption="Address pools"
          items={pools.data}
          rowKey={(p) => p.name}
          columns={[
            { label: 'Pool', cell: (p) => p.name },
            { label: 'Subnet', cell: (p) => p.cidr },
            { label: 'Range', cell: (p) => `${p.rangeStart}–${p.rangeEnd}` },
            { label: 'Segment', cell: (p) => p.segment },
            { label: 'Used', cell: (p) => p.used },
            { label: 'Free', cell: (p) => `${p.free} of ${p.size}` },
          ]}
        />
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
      <CheckboxGroup
        name="network-nodes"
        legend="Nodes"
        options={nodes.map((n) => ({ value: n, label: n }))}
        selected={chosen}
        onSelected={setChosen}
        error={fieldError(problem, 'nodes')}
      />
      <ProblemBox problem={problem} shownFields={['name', 'pool', 'nodes']} />
      <div class="actions">
        <SubmitButton class="primary" busy={busy} busyLabel="Creating…">
          Create network
        </SubmitButton>
      </div>
    </form>
  );
}
