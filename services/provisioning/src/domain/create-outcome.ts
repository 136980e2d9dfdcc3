import type { OperationError } from './operation-work';

/** What the outcome of a create needs of each container record. */
export interface CreatedItem {
  id: string;
  name: string;
  node: string;
  ip: string;
  state: string;
  error: string | null;
  removedAt: Date | null;
}

export interface ItemView {
  name: string;
  node: string;
  state: string;
  containerId: string;
  ip: string;
  error: string | null;
}

/** An item as the operation shows it: a record in error is a failed item. */
export const itemView = (c: CreatedItem): ItemView => ({
  name: c.name,
  node: c.node,
  state: c.state === 'error' ? 'failed' : c.state,
  containerId: c.id,
  ip: c.ip,
  error: c.error,
});

export interface CreateOutcome {
  state: 'succeeded' | 'partially_succeeded' | 'failed' | 'cancelled';
  error: OperationError | null;
  result: { succeeded: number; failed: number; notRemoved?: { containerId: string; error: string }[] };
  items: ItemView[];
  /** Addresses of the failed items, to give back to ipam. */
  failedIps: string[];
}

/**
 * Saga step 5, decided: every item ran or failed. Cancelled when the client asked, else
 * succeeded, failed or partially so; the error names each node's first failure. Containers a
 * cancel could not remove from their node are named: they still run and hold their addresses.
 */
export function createOutcome(
  rows: CreatedItem[],
  cancelled: boolean,
  notRemoved: { containerId: string; error: string }[] = [],
): CreateOutcome {
  const failed = rows.filter((r) => r.state === 'error');
  const ok = rows.filter((r) => r.state !== 'error' && r.state !== 'removed');
  const state = cancelled
    ? 'cancelled'
    : failed.length === 0
      ? 'succeeded'
      : ok.length === 0
        ? 'failed'
        : 'partially_succeeded';
  const byNode: Record<string, string> = {};
  for (const r of failed) byNode[r.node] ??= r.error ?? 'failed';
  const detail = Object.entries(byNode)
    .map(([n, e]) => `${n}: ${e}`)
    .join('; ');
  const error: OperationError | null =
    failed.length === 0 && notRemoved.length === 0
      ? null
      : {
          type: cancelled ? 'cancelled' : 'docker-failed',
          status: cancelled ? 409 : 503,
          detail:
            notRemoved.length === 0
              ? detail
              : `${notRemoved.length} container(s) could not be removed and still run: ` +
                notRemoved.map((n) => `${n.containerId}: ${n.error}`).join('; '),
          nodes: byNode,
          ...(notRemoved.length > 0 ? { notRemoved } : {}),
        };
  return {
    state,
    error,
    result: {
      succeeded: ok.length,
      failed: failed.length,
      ...(notRemoved.length > 0 ? { notRemoved } : {}),
    },
    items: rows.map(itemView),
    failedIps: failed.map((r) => r.ip),
  };
}
