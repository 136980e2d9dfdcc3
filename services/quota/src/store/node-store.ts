import type { Tx } from '@testbed/kit';

export interface KnownNode {
  id: number;
  name: string;
  removed: boolean;
}

const fields = { id: true, name: true, removedAt: true } as const;
const toNode = (r: { id: number; name: string; removedAt: Date | null }): KnownNode => ({
  id: r.id,
  name: r.name,
  removed: r.removedAt !== null,
});

/** Adds the nodes not yet known (configuration seeding); leaves known ones, removed or not, as they are. */
export async function insertNodesIfMissing(tx: Tx, names: string[], source: string): Promise<number> {
  if (names.length === 0) return 0;
  const { count } = await tx.quotaNode.createMany({
    data: names.map((name) => ({ name, source })),
    skipDuplicates: true,
  });
  return count;
}

/** provisioning registered the node: known and bookable again if it had been removed. */
export async function registerNode(tx: Tx, name: string): Promise<void> {
  await tx.quotaNode.upsert({
    where: { name },
    create: { name, source: 'provisioning' },
    update: { removedAt: null, source: 'provisioning' },
  });
}

export async function markNodeRemoved(tx: Tx, name: string, at: Date): Promise<void> {
  await tx.quotaNode.updateMany({ where: { name, removedAt: null }, data: { removedAt: at } });
}

export async function findNodes(tx: Tx, names: string[]): Promise<KnownNode[]> {
  const rows = await tx.quotaNode.findMany({ where: { name: { in: names } }, select: fields });
  return rows.map(toNode);
}

export async function findNode(tx: Tx, name: string): Promise<KnownNode | undefined> {
  const row = await tx.quotaNode.findUnique({ where: { name }, select: fields });
  return row ? toNode(row) : undefined;
}
