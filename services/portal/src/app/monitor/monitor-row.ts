import type { LiveSample } from '../api/types';
import type { Ring } from './sparkline';

export type RowState = 'running' | 'stopping' | 'stopped' | 'starting';

/** One container of the monitor's table: its latest sample and state, and the row that shows them. */
export interface Row {
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

export const rowKeyOf = (s: LiveSample) => `${s.node}/${s.dockerId.slice(0, 12)}`;
