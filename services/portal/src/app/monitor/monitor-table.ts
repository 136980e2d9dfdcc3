import type { GoneEvent, LiveSample, SamplesEvent } from '../api/types';
import { rowKeyOf, type Row, type RowState } from './monitor-row';
import { rowMatches, type RowFilter } from './row-filter';
import { orderFollowsSamples, sortRows, type SortKey } from './row-order';
import { createRow, ensureActionButton, rowTemplate, writeRow } from './row-rendering';
import { RowVisibility } from './row-visibility';

export type { RowState } from './monitor-row';
export type { SortKey } from './row-order';

export interface MonitorTableEvents {
  /** Stop or start the container (a platform container only). */
  action(id: string, action: 'stop' | 'start'): void;
  history(id: string, name: string): void;
  counts(shown: number, total: number): void;
}

/** Per frame, at most this long is spent writing rows (ms): the rest of the frame is layout and paint. */
const FRAME_BUDGET_MS = 6;

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
  private readonly filter: RowFilter = { text: '', node: '', showStopped: true };
  private readonly proto = rowTemplate();
  private readonly visibility: RowVisibility;
  private readonly removals = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly tbody: HTMLTableSectionElement,
    private readonly events: MonitorTableEvents,
  ) {
    this.visibility = new RowVisibility(tbody, this.onScreen);
    tbody.addEventListener('click', this.onClick);
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.visibility.destroy();
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
    if (orderFollowsSamples(this.sortKey)) this.reorderWanted = true;
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
    this.filter.text = text.trim().toLowerCase();
    this.filter.node = node;
    this.filter.showStopped = showStopped;
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

  private onScreen = (key: string | undefined, visible: boolean) => {
    const row = this.rows.get(key ?? '');
    if (!row) return;
    row.visible = visible;
    // A row coming into view gets what changed while it was off screen.
    if (visible && (row.stale || row.sparkDirty)) {
      this.pending.add(row);
      this.schedule();
    }
  };

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
    const key = rowKeyOf(s);
    let row = this.rows.get(key);
    if (!row) {
      row = createRow(this.proto, key, s);
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
        ensureActionButton(row);
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
    this.visibility.unobserve(row.el);
    row.el.remove();
    this.order = this.order.filter((r) => r !== row);
    this.reportCounts();
  }

  private applyFilter(row: Row): void {
    const matches = rowMatches(row, this.filter);
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
        writeRow(row);
        this.pending.delete(row);
        frag.append(row.el);
        this.order.push(row);
        this.visibility.observe(row.el);
      }
      this.tbody.append(frag);
      this.reorderWanted = true;
      this.reportCounts();
    }
    for (const row of this.pending) {
      if (performance.now() - start >= FRAME_BUDGET_MS) break;
      this.pending.delete(row);
      // Off screen (or filtered out), a row waits: it is written when it comes into view.
      if (row.visible && row.matches) writeRow(row);
    }
    if (this.fresh.length === 0 && this.pending.size === 0 && this.reorderWanted) {
      this.reorderWanted = false;
      this.reorder();
    }
    if (this.fresh.length > 0 || this.pending.size > 0 || this.reorderWanted) this.schedule();
  };

  /** Puts the rows in sort order, moving only when the order changed. */
  private reorder(): void {
    const sorted = sortRows(this.order, this.sortKey, this.sortDir);
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
