import type { FieldProblem, Tx } from '@testbed/kit';
import { knownNodeNames } from '../config';
import {
  findNodes,
  insertNodesIfMissing,
  markNodeRemoved,
  registerNode,
  type KnownNode,
} from '../store/node-store';
import { inTransaction, transaction, type QuotaContext } from './context';

/** The nodes of QUOTA_KNOWN_NODES that quota does not know yet; answers how many it added. */
export async function seedNodes(ctx: QuotaContext): Promise<number> {
  const names = knownNodeNames(ctx.config);
  return transaction(ctx, (tx) => insertNodesIfMissing(tx, names, 'config'));
}

export async function nodeRegistered(ctx: QuotaContext, name: string, outer?: Tx): Promise<void> {
  await inTransaction(ctx, outer, (tx) => registerNode(tx, name));
}

/** A removed node takes no new bookings or containers; its reservations stay as they were. */
export async function nodeRemoved(ctx: QuotaContext, name: string, outer?: Tx): Promise<void> {
  await inTransaction(ctx, outer, (tx) => markNodeRemoved(tx, name, ctx.clock.now()));
}

/**
 * The bookable nodes of these names, and a problem naming each one that is not (`<path>.<i>`),
 * so one answer lists every unknown node.
 */
export async function resolveNodes(
  tx: Tx,
  names: string[],
  path: string,
): Promise<{ nodes: KnownNode[]; problems: FieldProblem[] }> {
  const found = new Map((await findNodes(tx, names)).map((n) => [n.name, n]));
  const nodes: KnownNode[] = [];
  const problems: FieldProblem[] = [];
  names.forEach((name, i) => {
    const node = found.get(name);
    if (!node) problems.push({ path: `${path}.${i}`, message: `unknown node '${name}'` });
    else if (node.removed)
      problems.push({ path: `${path}.${i}`, message: `node '${name}' has been removed` });
    else nodes.push(node);
  });
  return { nodes, problems };
}
