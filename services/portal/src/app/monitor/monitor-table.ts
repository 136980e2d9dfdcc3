import type { GoneEvent, LiveSample, SamplesEvent } from '../api/types';
import { bytes, percent, rate } from '../format';
import { drawSparkline, makeSparkline, Ring } from './sparkline';

export type SortKey =
  'name' | 'id' | 'node' | 'state' | 'cpu' | 'cpuLimit' | 'memory' | 'memoryLimit' | 'rx' | 'tx';
export type RowState = 'running' | 'stopping' | 'stopped' | 'starting';

interface Row {
  /** node/short Docker id: stays the same when the stats service learns the container's platform id. */
  key: string;
  /** The container id the API knows it by (the platform's, or Docker's for a foreign one). */
  id: string;
  sample: LiveSample;
  state: RowState;
  ring: Ring;
  el: HTMLTableRowElement;
  /** The cells' current texts: a cell is written only when its text changes. */
  shown: string[];
  cells: HTMLElement[];
  spark: SVGSVGElement;
  button: HTMLButtonElement | null;
  visible: boolean;
  /** Its cells lag behind its sample (it was off screen when the sample came). */
  stale: boolean;
  sparkDirty: boolean;
  matches: boolean;
}

export interface MonitorTableEvents {
  /** Stop or start the container (a platform container only). */
  action(id: string, action: 'stop' | 'start'): void;
  history(id: string, name: string): void;
  counts(shown: number, total: number): void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Cells after the name, in column order; their `data-label` is the column heading for the phone layout. */
const COLUMNS: [string, string][] = [
  ['m-id', 'Id'],
  ['m-node', 'Node'],
  ['m-state', 'State'],
  ['m-cpu', 'CPU'],
  ['m-cpul', 'CPU of limit'],
  ['m-mem', 'Memory'],
  ['m-meml', 'Memory of limit'],
  ['m-rx', 'Received'],
  ['m-tx', 'Sent'],
  ['m-act', 'Action'],
];
/** Per frame, at most this long is spent writing rows (ms): the rest of the frame is layout and paint. */
const FRAME_BUDGET_MS = 6;

function template(): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.setAttribute('role', 'row');
  const name = document.createElement('th');
  name.scope = 'row';
  name.setAttribute('role', 'rowheader');
  name.className = 'm-name';
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'linkish';
  b.dataset.action = 'history';
  name.append(b);
  tr.append(name);
  for (const [cls, label] of COLUMNS) {
    const td = document.createElement('td');
    td.setAttribute('role', 'cell');
    td.className = cls;
    td.dataset.label = label;
    tr.append(td);
  }
  const cpu = tr.querySelector('.m-cpu')!;
  const v = document.createElement('span');
  v.className = 'm-v';
  cpu.append(v, makeSparkline());
  return tr;
}

const compareText = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });
const keyOf = (s: LiveSample) => `${s.node}/${s.dockerId.slice(0, 12)}`;

/**
 * The monitor's table, kept outside Preact: a row is made once per container and updated in
 * place, writing only the cells whose text changed, in slices of a few milliseconds per animation
 * frame, and only while it is on screen (content-visibility's own events say which rows are; one that
 * comes into view gets what changed meanwhile); sparklines likewise. Sorting and filtering work on
 * the samples, not the DOM. So 500 containers updating every 3 s stay far from a 50 ms task.
 */
export class MonitorTable {
  /** By row key. */
  private readonly rows = new Map<string, Row>();
  /** Row key by the container id the stream and the API use. */
  private readonly byId = new Map<string, string>();
  private order: Row[] = [];
  private readonly pending = new Set<Row>();
  private readonly fresh: Row[] = [];
  private frame = 0;
  private reorderWanted = false;
  private sortKey: SortKey = 'name';
  private sortDir: 1 | -1 = 1;
  private filterText = '';
  private filterNode = '';
  private showStopped = true;
  private readonly proto = template();
  private readonly seen: IntersectionObserver | undefined;
  private readonly cvEvents: boolean;
  private readonly onVisibility: (e: Event) => void;
  private readonly removals = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly tbody: HTMLTableSectionElement,
    private readonly events: MonitorTableEvents,
  ) {
    const onScreen = (key: string | undefined, visible: boolean) => {
      const row = this.rows.get(key ?? '');
      if (!row) return;
      row.visible = visible;
      // A row coming into view gets what changed while it was off screen.
      if (visible && (row.stale || row.sparkDirty)) {
        this.pending.add(row);
        this.schedule();
      }
    };
    // Chromium says when a content-visibility:auto row starts or stops being skipped (the browser's
    // own bookkeeping, no observer to compute); elsewhere an IntersectionObserver tells the same.
    this.cvEvents = 'oncontentvisibilityautostatechange' in HTMLElement.prototype;
    this.seen = this.cvEvents
      ? undefined
      : new IntersectionObserver(
          (entries) => {
            for (const e of entries) onScreen((e.target as HTMLElement).dataset.key, e.isIntersecting);
          },
          { rootMargin: '200px 0px' },
        );
    this.onVisibility = (e: Event) =>
      onScreen((e.target as HTMLElement).dataset.key, !(e as Event & { skipped: boolean }).skipped);
    if (this.cvEvents) tbody.addEventListener('contentvisibilityautostatechange', this.onVisibility, true);
    tbody.addEventListener('click', this.onClick);
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.seen?.disconnect();
    this.tbody.removeEventListener('contentvisibilityautostatechange', this.onVisibility, true);
    this.tbody.removeEventListener('click', this.onClick);
    for (const t of this.removals.values()) clearTimeout(t);
  }

  get size(): number {
    return this.rows.size;
  }

  snapshot(items: LiveSample[]): void {
    const ids = new Set(items.map((s) => s.containerId));
    for (const row of this.rows.values())
      if (!ids.has(row.id) && row.state === 'running') this.setState(row, 'stopped');
    for (const s of items) this.upsert(s);
    this.reorderWanted = true;
    this.schedule();
  }

  samples(e: SamplesEvent): void {
    for (const s of e.items) this.upsert(s);
    if (this.sortKey !== 'name' && this.sortKey !== 'id' && this.sortKey !== 'node')
      this.reorderWanted = true;
    this.schedule();
  }

  gone(e: GoneEvent): void {
    for (const id of e.containerIds) {
      const row = this.rowOf(id);
      if (!row) continue;
      this.setState(row, 'stopped');
      // A stopped container stays a minute, marked, then leaves the table.
      const key = row.key;
      this.removals.set(
        key,
        setTimeout(() => this.remove(key), 60_000),
      );
    }
    this.schedule();
  }

  /** What the API answered to a stop or start from a row. */
  setRowState(id: string, state: RowState): void {
    const row = this.rowOf(id);
    if (!row) return;
    this.setState(row, state);
    this.schedule();
  }

  setFilter(text: string, node: string, showStopped: boolean): void {
    this.filterText = text.trim().toLowerCase();
    this.filterNode = node;
    this.showStopped = showStopped;
    for (const row of this.rows.values()) this.applyFilter(row);
    this.reportCounts();
  }

  setSort(key: SortKey, dir: 1 | -1): void {
    this.sortKey = key;
    this.sortDir = dir;
    this.reorderWanted = true;
    this.schedule();
  }

  // ---- internals

  private rowOf(id: string): Row | undefined {
    const key = this.byId.get(id);
    return key ? this.rows.get(key) : undefined;
  }

  private onClick = (e: Event) => {
    const button = (e.target as HTMLElement).closest('button');
    const tr = button?.closest('tr');
    const row = tr ? this.rows.get(tr.dataset.key ?? '') : undefined;
    if (!button || !row) return;
    if (button.dataset.action === 'history') this.events.history(row.id, row.sample.name);
    else if (button.dataset.action === 'stop' || button.dataset.action === 'start') {
      const action = button.dataset.action;
      this.setState(row, action === 'stop' ? 'stopping' : 'starting');
      this.schedule();
      this.events.action(row.id, action);
    }
  };

  private upsert(s: LiveSample): void {
    const key = keyOf(s);
    let row = this.rows.get(key);
    if (!row) {
      row = this.create(key, s);
      this.rows.set(key, row);
      this.fresh.push(row);
    } else {
      const timer = this.removals.get(key);
      if (timer) {
        clearTimeout(timer);
        this.removals.delete(key);
      }
      // The stats service may learn a container's name after its first samples: order and filter anew.
      if (row.sample.name !== s.name) {
        this.reorderWanted = true;
        row.sample = s;
        this.applyFilter(row);
      }
      row.sample = s;
      if (row.state !== 'stopping') row.state = 'running';
      if (row.id !== s.containerId) {
        this.byId.delete(row.id);
        row.id = s.containerId;
        this.ensureButton(row);
      }
    }
    this.byId.set(s.containerId, key);
    row.stale = true;
    if (s.cpuPercent !== null) {
      row.ring.push(s.cpuPercent);
      row.sparkDirty = true;
    }
    this.pending.add(row);
  }

  private create(key: string, s: LiveSample): Row {
    const el = this.proto.cloneNode(true) as HTMLTableRowElement;
    el.dataset.key = key;
    const cells = [
      el.querySelector<HTMLElement>('.m-name button')!,
      ...COLUMNS.map(([c]) => el.querySelector<HTMLElement>(`.${c}`)!),
    ];
    cells[4] = el.querySelector<HTMLElement>('.m-cpu .m-v')!;
    const spark = el.querySelector<SVGSVGElement>('svg.spark')!;
    const row: Row = {
      key,
      id: s.containerId,
      sample: s,
      state: 'running',
      ring: new Ring(),
      el,
      shown: [],
      cells,
      spark,
      button: null,
      visible: false,
      stale: true,
      sparkDirty: false,
      matches: true,
    };
    this.ensureButton(row);
    return row;
  }

  /** A platform container can be stopped and started from its row; another one cannot. */
  private ensureButton(row: Row): void {
    const cell = row.el.querySelector('.m-act')!;
    if (UUID.test(row.id)) {
      if (row.button) return;
      row.button = document.createElement('button');
      row.button.type = 'button';
      row.button.className = 'small danger';
      cell.replaceChildren(row.button);
    } else {
      row.button = null;
      cell.textContent = 'not the platform’s';
    }
  }

  private setState(row: Row, state: RowState): void {
    row.state = state;
    this.pending.add(row);
    row.sparkDirty = true;
    this.applyFilter(row);
  }

  private remove(key: string): void {
    const row = this.rows.get(key);
    this.removals.delete(key);
    if (!row || row.state === 'running') return;
    this.rows.delete(key);
    this.byId.delete(row.id);
    this.pending.delete(row);
    this.seen?.unobserve(row.el);
    row.el.remove();
    this.order = this.order.filter((r) => r !== row);
    this.reportCounts();
  }

  private applyFilter(row: Row): void {
    const s = row.sample;
    const text = this.filterText;
    const matches =
      (!this.filterNode || s.node === this.filterNode) &&
      (this.showStopped || row.state === 'running' || row.state === 'stopping') &&
      (!text ||
        s.name.toLowerCase().includes(text) ||
        s.containerId.toLowerCase().startsWith(text) ||
        s.dockerId.toLowerCase().startsWith(text) ||
        (s.owner ?? '').toLowerCase().includes(text));
    if (matches !== row.matches) {
      row.matches = matches;
      row.el.hidden = !matches;
    }
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(this.flush);
  }

  private flush = () => {
    this.frame = 0;
    const start = performance.now();
    // New rows first, in slices, into a fragment: one insertion per frame.
    if (this.fresh.length > 0) {
      const frag = document.createDocumentFragment();
      while (this.fresh.length > 0 && performance.now() - start < FRAME_BUDGET_MS) {
        const row = this.fresh.shift()!;
        this.write(row);
        this.pending.delete(row);
        frag.append(row.el);
        this.order.push(row);
        this.seen?.observe(row.el);
      }
      this.tbody.append(frag);
      this.reorderWanted = true;
      this.reportCounts();
    }
    for (const row of this.pending) {
      if (performance.now() - start >= FRAME_BUDGET_MS) break;
      this.pending.delete(row);
      // Off screen (or filtered out), a row waits: it is written when it comes into view.
      if (row.visible && row.matches) this.write(row);
    }
    if (this.fresh.length === 0 && this.pending.size === 0 && this.reorderWanted) {
      this.reorderWanted = false;
      this.reorder();
    }
    if (this.fresh.length > 0 || this.pending.size > 0 || this.reorderWanted) this.schedule();
  };

  /** Writes a row's changed cells, and its sparkline when on screen. */
  private write(row: Row): void {
    row.stale = false;
    const s = row.sample;
    const stopped = row.state !== 'running';
    const texts = [
      s.name,
      s.dockerId.slice(0, 12),
      s.node,
      row.state,
      stopped ? '–' : percent(s.cpuPercent),
      stopped ? '–' : percent(s.cpuPercentOfLimit),
      stopped ? '–' : bytes(s.memoryBytes),
      stopped ? '–' : percent(s.memoryPercentOfLimit),
      stopped ? '–' : rate(s.rxBytesPerSecond),
      stopped ? '–' : rate(s.txBytesPerSecond),
    ];
    for (let i = 0; i < texts.length; i++) {
      if (row.shown[i] !== texts[i]) {
        row.shown[i] = texts[i]!;
        row.cells[i]!.textContent = texts[i]!;
      }
    }
    const cls = `m-row m-${row.state}`;
    if (row.el.className !== cls) row.el.className = cls;
    if (row.button) {
      const label =
        row.state === 'running'
          ? 'Stop'
          : row.state === 'stopped'
            ? 'Start'
            : row.state === 'stopping'
              ? 'Stopping…'
              : 'Starting…';
      if (row.button.textContent !== label) {
        row.button.textContent = label;
        row.button.dataset.action = row.state === 'stopped' ? 'start' : 'stop';
        row.button.disabled = row.state === 'stopping' || row.state === 'starting';
        row.button.setAttribute('aria-label', `${label.replace('…', '')} ${s.name}`);
      }
    }
    if (row.sparkDirty && row.visible && row.matches) {
      row.sparkDirty = false;
      drawSparkline(row.spark, row.ring, stopped, s.cpuLimitMillis ? s.cpuLimitMillis / 10 : undefined);
    }
  }

  private value(row: Row): number | string {
    const s = row.sample;
    switch (this.sortKey) {
      case 'name':
        return s.name;
      case 'id':
        return s.dockerId;
      case 'node':
        return s.node;
      case 'state':
        return row.state;
      case 'cpu':
        return s.cpuPercent ?? -1;
      case 'cpuLimit':
        return s.cpuPercentOfLimit ?? -1;
      case 'memory':
        return s.memoryBytes;
      case 'memoryLimit':
        return s.memoryPercentOfLimit ?? -1;
      case 'rx':
        return s.rxBytesPerSecond ?? -1;
      case 'tx':
        return s.txBytesPerSecond ?? -1;
    }
  }

  /** Puts the rows in sort order, moving only when the order changed. */
  private reorder(): void {
    const dir = this.sortDir;
    const sorted = [...this.order].sort((a, b) => {
      const va = this.value(a);
      const vb = this.value(b);
      const c =
        typeof va === 'number' && typeof vb === 'number' ? va - vb : compareText(String(va), String(vb));
      return c !== 0 ? c * dir : compareText(a.sample.name, b.sample.name);
    });
    if (sorted.every((r, i) => r === this.order[i])) return;
    this.order = sorted;
    const frag = document.createDocumentFragment();
    for (const r of sorted) frag.append(r.el);
    this.tbody.append(frag);
  }

  private reportCounts(): void {
    let shown = 0;
    for (const r of this.rows.values()) if (r.matches) shown++;
    this.events.counts(shown, this.rows.size);
  }
}
