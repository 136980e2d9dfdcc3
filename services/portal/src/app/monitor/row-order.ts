import type { Row } from './monitor-row';

export type SortKey =
  'name' | 'id' | 'node' | 'state' | 'cpu' | 'cpuLimit' | 'memory' | 'memoryLimit' | 'rx' | 'tx';

const compareText = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/** Whether new samples can change the order (the figures and the state do; names, ids and nodes do not). */
export const orderFollowsSamples = (key: SortKey) => key !== 'name' && key !== 'id' && key !== 'node';

function sortValue(row: Row, key: SortKey): number | string {
  const s = row.sample;
  switch (key) {
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

/** The rows in a new array sorted by `key` (a missing figure lowest), ties by name. */
export function sortRows(rows: Row[], key: SortKey, dir: 1 | -1): Row[] {
  return [...rows].sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    const c =
      typeof va === 'number' && typeof vb === 'number' ? va - vb : compareText(String(va), String(vb));
    return c !== 0 ? c * dir : compareText(a.sample.name, b.sample.name);
  });
}
