import type { Ref } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { containerAction, listNodes, nodeHistory } from '../api/endpoints';
import { problemOf, type ApiProblem } from '../api/client';
import { openLiveStream } from '../api/live';
import { actsForOthers, endSession, useSession } from '../auth/session-store';
import { bytes, percent } from '../format';
import { navigate } from '../router';
import { SelectField, TextField } from '../ui/fields';
import { useLoad } from '../ui/hooks';
import { ProblemBox } from '../ui/problem-box';
import { MonitorTable, type SortKey } from '../monitor/monitor-table';
import { TotalsCharts, WINDOW_MS, type NodeTotal } from '../monitor/totals';
import { HistoryPanel } from '../monitor/history-panel';

const HEADINGS: [SortKey, string][] = [
  ['name', 'Name'],
  ['id', 'Id'],
  ['node', 'Node'],
  ['state', 'State'],
  ['cpu', 'CPU'],
  ['cpuLimit', 'CPU of limit'],
  ['memory', 'Memory'],
  ['memoryLimit', 'Memory of limit'],
  ['rx', 'Received'],
  ['tx', 'Sent'],
];

interface Totals {
  nodes: Map<string, NodeTotal>;
  cpu: number;
  memory: number;
  updates: number;
}

/**
 * The monitor: every visible container's newest figures from the live stream, in a table that
 * updates in place, with total CPU and memory charts per node and across nodes, and one
 * container's history on demand.
 */
export function MonitorPage() {
  const s = useSession()!;
  const nodes = useLoad(listNodes, []);
  const tbody = useRef<HTMLTableSectionElement>(null);
  const cpuCanvas = useRef<HTMLCanvasElement>(null);
  const memCanvas = useRef<HTMLCanvasElement>(null);
  const table = useRef<MonitorTable | null>(null);
  const chartsRef = useRef<TotalsCharts | null>(null);
  const [status, setStatus] = useState<{ state: string; detail?: string }>({ state: 'connecting' });
  const [counts, setCounts] = useState({ shown: 0, total: 0 });
  const [totals, setTotals] = useState<Totals | null>(null);
  const [filter, setFilter] = useState('');
  const [node, setNode] = useState('');
  const [showStopped, setShowStopped] = useState(true);
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'name', dir: 1 });
  const [selected, setSelected] = useState<{ id: string; name: string } | null>(null);
  const [actionProblem, setActionProblem] = useState<ApiProblem | null>(null);
  const [historyProblem, setHistoryProblem] = useState<ApiProblem | null>(null);
  const historyRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const t = new MonitorTable(tbody.current!, {
      action: (id, action) => {
        setActionProblem(null);
        containerAction(id, action).then(
          (c) => t.setRowState(id, c.state === 'running' ? 'running' : 'stopped'),
          (err: unknown) => {
            t.setRowState(id, action === 'stop' ? 'running' : 'stopped');
            setActionProblem(problemOf(err));
          },
        );
      },
      history: (id, name) => setSelected({ id, name }),
      counts: (shown, total) => setCounts({ shown, total }),
    });
    table.current = t;
    const charts = new TotalsCharts(cpuCanvas.current!, memCanvas.current!, setTotals);
    chartsRef.current = charts;
    const stream = openLiveStream({
      snapshot: (items) => t.snapshot(items),
      samples: (e) => {
        t.samples(e);
        charts.samples(e);
      },
      gone: (e) => t.gone(e),
      status: (state, detail) => setStatus({ state, ...(detail ? { detail } : {}) }),
      unauthorized: (p) => {
        endSession(`Signed out: the platform refused the token (${p.detail || p.title}). Sign in again.`);
        navigate('/signin?next=/monitor', { replace: true });
      },
    });
    return () => {
      stream.close();
      charts.destroy();
      t.destroy();
      table.current = null;
      chartsRef.current = null;
    };
  }, []);

  // The charts start with the last minutes of each node's totals.
  const prefilled = useRef(false);
  useEffect(() => {
    if (prefilled.current || !nodes.data) return;
    prefilled.current = true;
    const to = Date.now();
    const from = new Date(to - WINDOW_MS).toISOString();
    void Promise.allSettled(
      nodes.data.map((n) => nodeHistory(n.name, from, new Date(to).toISOString())),
    ).then((results) => {
      chartsRef.current?.prefill(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])));
      // The charts still fill from the live stream; the page says what the history could not give.
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) setHistoryProblem(problemOf(failed.reason));
    });
  }, [nodes.data]);

  useEffect(() => {
    const timer = setTimeout(() => table.current?.setFilter(filter, node, showStopped), 120);
    return () => clearTimeout(timer);
  }, [filter, node, showStopped]);
  useEffect(() => table.current?.setSort(sort.key, sort.dir), [sort]);
  useEffect(() => {
    if (selected) historyRef.current?.querySelector<HTMLElement>('h2')?.focus();
  }, [selected]);

  const sortBy = (key: SortKey) =>
    setSort((cur) => ({
      key,
      dir: cur.key === key ? (-cur.dir as 1 | -1) : key === 'name' || key === 'node' || key === 'id' ? 1 : -1,
    }));

  return (
    <section class="monitor">
      <h1 tabIndex={-1}>Monitor</h1>
      <p class="lead">
        {actsForOthers(s) ? 'Every container on every node' : 'Your containers on every node'}, live from the
        node agents (every 3 s).
      </p>
      <p class={`stream stream-${status.state}`} role="status" data-testid="stream-status">
        Live stream: {status.state}
        {status.detail ? ` (${status.detail})` : ''} · showing {counts.shown} of {counts.total} containers
      </p>

      <ProblemBox problem={historyProblem} />
      <div class="chart-pair">
        <TotalFigure
          figure="cpu"
          title="CPU"
          value={totals ? percent(totals.cpu) : '–'}
          note="(100 % = one core)"
          canvas={cpuCanvas}
          totals={totals}
          pick={(n) => percent(n.cpuPercent)}
        />
        <TotalFigure
          figure="memory"
          title="memory"
          value={totals ? bytes(totals.memory) : '–'}
          canvas={memCanvas}
          totals={totals}
          pick={(n) => bytes(n.memoryBytes)}
        />
      </div>

      <div class="filters" role="search">
        <TextField
          id="monitor-filter"
          label="Filter"
          type="search"
          value={filter}
          placeholder="name, id or owner"
          onValue={setFilter}
        />
        <SelectField
          id="monitor-node"
          label="Node"
          value={node}
          onValue={setNode}
          options={[
            { value: '', label: 'All nodes' },
            ...(nodes.data ?? []).map((n) => ({ value: n.name, label: n.name })),
          ]}
        />
        <label class="choice align-end">
          <input
            type="checkbox"
            checked={showStopped}
            onChange={(e) => setShowStopped((e.currentTarget as HTMLInputElement).checked)}
          />{' '}
          Show stopped
        </label>
      </div>
      <ProblemBox problem={actionProblem} />

      <div class="table-wrap">
        {/* Laid out as a grid (styles.css), so its table semantics are spelled out in roles. */}
        <table class="data monitor-table" role="table" aria-describedby="monitor-caption">
          <caption id="monitor-caption" class="visually-hidden">
            Containers with their newest CPU, memory and network figures; choose a name for its history.
          </caption>
          <thead role="rowgroup">
            <tr role="row">
              {HEADINGS.map(([key, label]) => (
                <th
                  key={key}
                  scope="col"
                  role="columnheader"
                  class={`m-${key}`}
                  aria-sort={sort.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : undefined}
                >
                  <button type="button" class="sort" onClick={() => sortBy(key)}>
                    {label}
                    <span aria-hidden="true">{sort.key === key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                </th>
              ))}
              <th scope="col" role="columnheader">
                Action
              </th>
            </tr>
          </thead>
          <tbody ref={tbody} role="rowgroup" />
        </table>
      </div>
      {counts.total === 0 && status.state === 'open' ? (
        <p class="empty">No containers are being sampled{actsForOthers(s) ? '' : ' for you'} right now.</p>
      ) : null}

      <div ref={historyRef}>
        {selected ? (
          <>
            <HistoryPanel key={selected.id} containerId={selected.id} name={selected.name} />
            <button type="button" class="small" onClick={() => setSelected(null)}>
              Close the history
            </button>
          </>
        ) : null}
      </div>
    </section>
  );
}

/** A total over the nodes: the figure now, its chart of the last minutes, and each node's share. */
function TotalFigure({
  figure,
  title,
  value,
  note,
  canvas,
  totals,
  pick,
}: {
  figure: 'cpu' | 'memory';
  title: string;
  value: string;
  note?: string;
  canvas: Ref<HTMLCanvasElement>;
  totals: Totals | null;
  pick: (n: NodeTotal) => string;
}) {
  return (
    <figure class="chart-box" data-testid={`total-${figure}`} data-updates={totals?.updates ?? 0}>
      <figcaption>
        {`Total ${title}: `}
        <strong data-testid={`total-${figure}-value`}>{value}</strong>
        {note ? (
          <>
            {' '}
            <span class="muted">{note}</span>
          </>
        ) : null}
      </figcaption>
      <div class="chart-canvas">
        <canvas
          ref={canvas}
          role="img"
          aria-label={`Total ${title} per node and across nodes over the last 10 minutes`}
        />
      </div>
      <NodeFigures totals={totals} pick={pick} />
    </figure>
  );
}

function NodeFigures({ totals, pick }: { totals: Totals | null; pick: (n: NodeTotal) => string }) {
  if (!totals || totals.nodes.size === 0) return null;
  return (
    <ul class="node-figures">
      {[...totals.nodes]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([name, n]) => (
          <li key={name}>
            {name}: {pick(n)} <span class="muted">({n.containers})</span>
          </li>
        ))}
    </ul>
  );
}
