import type { Row } from './monitor-row';

/** What the monitor's filter fields say; `text` trimmed and lower case, `node` empty for every node. */
export interface RowFilter {
  text: string;
  node: string;
  showStopped: boolean;
}

/** A row matches by node, by state, and by text in its name, owner or the start of either id. */
export function rowMatches(row: Row, filter: RowFilter): boolean {
  const s = row.sample;
  const text = filter.text;
  return (
    (!filter.node || s.node === filter.node) &&
    (filter.showStopped || row.state === 'running' || row.state === 'stopping') &&
    (!text ||
      s.name.toLowerCase().includes(text) ||
      s.containerId.toLowerCase().startsWith(text) ||
      s.dockerId.toLowerCase().startsWith(text) ||
      (s.owner ?? '').toLowerCase().includes(text))
  );
}
