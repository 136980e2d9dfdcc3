import type { PlannedItem } from './operation-work';

export type Placement = 'spread' | 'pack';

/**
 * Names `prefix-1..N` over the nodes: `spread` deals them round robin, `pack` fills each node up
 * to `perNode` before the next. Item i takes the i-th address of the ascending block.
 */
export function placeBatch(
  prefix: string,
  count: number,
  nodes: string[],
  placement: Placement,
  perNode: number,
): PlannedItem[] {
  if (nodes.length === 0) throw new RangeError('at least one node');
  if (placement === 'pack' && count > perNode * nodes.length) {
    throw new RangeError(
      `pack places at most ${perNode} per node: ${count} do not fit on ${nodes.length} node(s)`,
    );
  }
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${i + 1}`,
    node: placement === 'spread' ? nodes[i % nodes.length]! : nodes[Math.floor(i / perNode)]!,
  }));
}

/** How many items each node carries, in first-seen order. */
export function countPerNode(items: PlannedItem[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(item.node, (out.get(item.node) ?? 0) + 1);
  return out;
}
