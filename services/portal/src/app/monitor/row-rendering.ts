import type { LiveSample } from '../api/types';
import { bytes, percent, rate } from '../format';
import type { Row } from './monitor-row';
import { drawSparkline, makeSparkline, Ring } from './sparkline';

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

/** An empty row with every cell, made once per table: each container's row is a clone of it. */
export function rowTemplate(): HTMLTableRowElement {
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

/** A container's row, cloned from the template, not yet in the table and not yet written. */
export function createRow(proto: HTMLTableRowElement, key: string, s: LiveSample): Row {
  const el = proto.cloneNode(true) as HTMLTableRowElement;
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
  ensureActionButton(row);
  return row;
}

/** A platform container can be stopped and started from its row; another one cannot. */
export function ensureActionButton(row: Row): void {
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

/** Writes a row's changed cells, and its sparkline when on screen. */
export function writeRow(row: Row): void {
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
