import { listContainers, listNodes, nodeContainers } from '../api/endpoints';
import type { Container, NodeInfo } from '../api/types';
import { actsForOthers, useSession } from '../auth/session-store';
import { ago, bytes, cpuMillis, when } from '../format';
import { navigate, type Route } from '../router';
import { CopyButton, Link, StateBadge, UseBar } from '../ui/bits';
import { ContainerActions } from '../ui/container-actions';
import { DataTable } from '../ui/data-table';
import { SelectField } from '../ui/fields';
import { useLoad } from '../ui/hooks';
import { AsyncList, LoadStatus } from '../ui/load-status';

/** Every node with its health, capacity and use; the user's containers across nodes; one node's daemon view. */
export function NodesPage({ route }: { route: Route }) {
  const s = useSession()!;
  const nodeFilter = route.query.get('node') ?? '';
  const stateFilter = route.query.get('state') ?? '';
  const nodes = useLoad(listNodes, [], 5000);
  const containers = useLoad(
    () => listContainers({ node: nodeFilter || undefined, state: stateFilter || undefined }),
    [nodeFilter, stateFilter],
    5000,
  );

  const setQuery = (key: string, value: string) => {
    const q = new URLSearchParams(route.query);
    if (value) q.set(key, value);
    else q.delete(key);
    navigate(`/nodes${q.toString() ? `?${q}` : ''}`, { replace: true });
  };
  const patch = (c: Container) => containers.set((containers.data ?? []).map((x) => (x.id === c.id ? c : x)));
  const drop = (id: string) => containers.set((containers.data ?? []).filter((x) => x.id !== id));

  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1}>Nodes and containers</h1>
        <Link class="button primary" href="/containers/new">
          New container
        </Link>
      </div>

      <h2>Nodes</h2>
      <LoadStatus loaded={nodes} what="the nodes" />
      <ul class="cards" aria-label="Nodes">
        {(nodes.data ?? []).map((n) => (
          <NodeCard
            key={n.name}
            n={n}
            selected={n.name === nodeFilter}
            onSelect={() => setQuery('node', n.name === nodeFilter ? '' : n.name)}
          />
        ))}
      </ul>

      <h2 id="containers-heading">{actsForOthers(s) ? 'All containers' : 'My containers'}</h2>
      <div class="filters">
        <SelectField
          id="filter-node"
          label="Node"
          value={nodeFilter}
          onValue={(v) => setQuery('node', v)}
          options={[
            { value: '', label: 'All nodes' },
            ...(nodes.data ?? []).map((n) => ({ value: n.name, label: n.name })),
          ]}
        />
        <SelectField
          id="filter-state"
          label="State"
          value={stateFilter}
          onValue={(v) => setQuery('state', v)}
          options={['', 'running', 'stopped', 'exited', 'creating', 'removing'].map((v) => ({
            value: v,
            label: v || 'Every live state',
          }))}
        />
      </div>
      <AsyncList
        loaded={containers}
        what="the containers"
        empty={
          <>
            No containers{nodeFilter ? ` on ${nodeFilter}` : ''}.{' '}
            <Link href="/containers/new">Create one</Link> or <Link href="/batches">a batch</Link>.
          </>
        }
      >
        {(items) => (
          <DataTable
            labelledBy="containers-heading"
            items={items}
            rowKey={(c) => c.id}
            rowData={(c) => ({ 'data-container': c.name })}
            columns={[
              { label: 'Name', cell: (c) => <Link href={`/containers/${c.id}`}>{c.name}</Link> },
              { label: 'Node', cell: (c) => c.node },
              { label: 'State', cell: (c) => <StateBadge state={c.state} /> },
              {
                label: 'Address',
                cell: (c) =>
                  c.interfaces.map((i) => (
                    <span key={i.name} class="iface">
                      <span class="muted">{i.name}</span> {i.ip}
                    </span>
                  )),
              },
              { label: 'Owner', cell: (c) => c.owner },
              { label: 'Image', cell: (c) => c.image },
              { label: 'Created', cell: (c) => when(c.createdAt) },
              {
                label: 'ssh',
                cell: (c) => <CopyButton text={c.sshCommand} label={`Copy the ssh command of ${c.name}`} />,
              },
              {
                label: 'Actions',
                cell: (c) => <ContainerActions c={c} compact onChanged={patch} onRemoved={drop} />,
              },
            ]}
          />
        )}
      </AsyncList>

      {nodeFilter ? <DaemonView node={nodeFilter} /> : null}
    </section>
  );
}

function NodeCard({ n, selected, onSelect }: { n: NodeInfo; selected: boolean; onSelect: () => void }) {
  const cap = n.capacity;
  return (
    <li class={`card node-card${selected ? ' selected' : ''}`}>
      <div class="card-head">
        <h3>{n.name}</h3>
        <StateBadge state={n.health.state} />
      </div>
      <p class="muted small-text">
        {n.health.state === 'up'
          ? `seen ${ago(n.health.lastSeenAt)}`
          : (n.health.error ?? `last seen ${ago(n.health.lastSeenAt)}`)}
        {n.health.dockerVersion ? ` · Docker ${n.health.dockerVersion}` : ''}
        {n.schedulable ? '' : ' · not schedulable'}
      </p>
      <UseBar
        label="CPU"
        used={n.use.cpuMillis}
        total={cap?.cpuMillis ?? null}
        text={`${cpuMillis(n.use.cpuMillis)} of ${cap ? cpuMillis(cap.cpuMillis) : '?'}`}
      />
      <UseBar
        label="Memory"
        used={n.use.memoryBytes}
        total={cap?.memoryBytes ?? null}
        text={`${bytes(n.use.memoryBytes)} of ${cap ? bytes(cap.memoryBytes) : '?'}`}
      />
      <p class="small-text">
        {n.use.containers} container{n.use.containers === 1 ? '' : 's'} · pool {n.experimentPool}
      </p>
      <button type="button" class="small" aria-pressed={selected ? 'true' : 'false'} onClick={onSelect}>
        {selected ? `Hide ${n.name}’s daemon` : `Containers on ${n.name}`}
      </button>
    </li>
  );
}

/** What the node's Docker daemon runs, running and stopped, as the daemon lists it. */
function DaemonView({ node }: { node: string }) {
  const list = useLoad(() => nodeContainers(node), [node], 5000);
  return (
    <section aria-labelledby="daemon-heading">
      <h2 id="daemon-heading">On {node}’s daemon</h2>
      <p class="muted">Running and stopped containers as Docker on {node} lists them.</p>
      <AsyncList loaded={list} what={`${node}’s containers`} empty={`Nothing of yours runs on ${node}.`}>
        {(items) => (
          <DataTable
            labelledBy="daemon-heading"
            items={items}
            rowKey={(c) => c.dockerId}
            columns={[
              {
                label: 'Name',
                cell: (c) =>
                  c.containerId ? <Link href={`/containers/${c.containerId}`}>{c.name}</Link> : c.name,
              },
              { label: 'State', cell: (c) => <StateBadge state={c.state} /> },
              { label: 'Status', cell: (c) => c.status },
              { label: 'Image', cell: (c) => c.image },
              { label: 'Owner', cell: (c) => c.owner ?? <span class="muted">not the platform’s</span> },
              { label: 'Docker id', cell: (c) => <code>{c.dockerId.slice(0, 12)}</code> },
            ]}
          />
        )}
      </AsyncList>
    </section>
  );
}
