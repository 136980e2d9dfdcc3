/**
 * SQL over roll-up rows, shared by the roll-up of hours and the history queries: a bucket's
 * average of a figure is the mean of its rows' averages weighted by their sample counts, over
 * the rows that have one (a minute whose samples all started new series has no CPU average).
 */
export function weightedAvg(figure: 'cpu' | 'rx_rate' | 'tx_rate'): string {
  return `sum(${figure}_avg * n) / nullif(sum(CASE WHEN ${figure}_avg IS NOT NULL THEN n END), 0)`;
}

/** Memory has an average in every row. */
export const WEIGHTED_MEMORY = 'sum(mem_avg * n)::float8 / sum(n)';
