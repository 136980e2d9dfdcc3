import { listContainers, listNodes, nodeContainers } from '../api/endpoints';
import type { Container, NodeInfo } from '../api/types';
import { actsForOthers, useSession } from '../auth/session-store';
import { ago, bytes, cpuMillis, when } from '../format';
import { navigate, type Route } from '../router';
import { CopyButton, Link, Loading, StateBadge, UseBar } from '../ui/bits';
import { ContainerActions } from '../ui/container-actions';
import { SelectField } from '../ui/fields';
import { useLoad } from '../ui/hooks';
import { ProblemBox } from '../ui/problem-box';

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
      <ProblemBox problem={nodes.problem} />
      {nodes.loading && !nodes.data ? <Loading what="the nodes" /> : null}
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
      <ProblemBox problem={containers.problem} />
      {containers.loading && !containers.data ? <Loading what="the containers" /> : null}
      {containers.data && containers.data.length === 0 ? (
        <p class="empty">
          No containers{nodeFilter ? ` on ${nodeFilter}` : ''}. <Link href="/containers/new">Create one</Link>{' '}
          or <Link href="/batches">a batch</Link>.
        </p>
      ) : null}
      {containers.data && containers.data.length > 0 ? (
        <div class="table-wrap">
          <table class="data stack" aria-labelledby="containers-heading">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Node</th>
                <th scope="col">State</th>
                <th scope="col">Address</th>
                <th scope="col">Owner</th>
                <th scope="col">Image</th>
                <th scope="col">Created</th>
                <th scope="col">ssh</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {containers.data.map((c) => (
                <tr key={c.id} data-container={c.name}>
                  <td data-label="Name">
                    <Link href={`/containers/${c.id}`}>{c.name}</Link>
                  </td>
                  <td data-label="Node">{c.node}</td>
                  <td data-label="State">
                    <StateBadge state={c.state} />
                  </td>
                  <td data-label="Address">
                    {c.interfaces.map((i) => (
                      <span key={i.name} class="iface">
                        <span class="muted">{i.name}</span> {i.ip}
                      </span>
                    ))}
                  </td>
                  <td data-label="Owner">{c.owner}</td>
                  <td data-label="Image">{c.image}</td>
                  <td data-label="Created">{when(c.createdAt)}</td>
                  <td data-label="ssh">
                    <CopyButton text={c.sshCommand} label={`Copy the ssh command of ${c.name}`} />
                  </td>
                  <td data-label="Actions">
                    <ContainerActions c={c} compact onChanged={patch} onRemoved={drop} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

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
      <ProblemBox problem={list.problem} />
      {list.loading && !list.data ? <Loading what={`${node}’s containers`} /> : null}
      {list.data && list.data.length === 0 ? <p class="empty">Nothing of yours runs on {node}.</p> : null}
      {list.data && list.data.length > 0 ? (
        <div class="table-wrap">
          <table class="data stack" aria-labelledby="daemon-heading">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Status</th>
                <th scope="col">Image</th>
                <th scope="col">Owner</th>
                <th scope="col">Docker id</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((c) => (
                <tr key={c.dockerId}>
                  <td data-label="Name">
                    {c.containerId ? <Link href={`/containers/${c.containerId}`}>{c.name}</Link> : c.name}
                  </td>
                  <td data-label="State">
                    <StateBadge state={c.state} />
                  </td>
                  <td data-label="Status">{c.status}</td>
                  <td data-label="Image">{c.image}</td>
                  <td data-label="Owner">{c.owner ?? <span class="muted">not the platform’s</span>}</td>
                  <td data-label="Docker id">
                    <code>{c.dockerId.slice(0, 12)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
