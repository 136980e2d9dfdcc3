import type { Prisma, Tx } from '@testbed/kit';
import { LIVE_STATES } from './container-store';

/** A node's record: the `provisioning.node` row as the generated client types it. */
export type NodeRecord = Prisma.NodeModel;

export type NodeInput = Pick<
  NodeRecord,
  | 'name'
  | 'dockerHost'
  | 'tlsCaPath'
  | 'tlsCertPath'
  | 'tlsKeyPath'
  | 'tlsSecretRef'
  | 'insecure'
  | 'macvlanParent'
  | 'experimentPool'
  | 'secondaryPool'
  | 'schedulable'
> & { labels: Record<string, string> };

export const findNode = (tx: Tx, name: string) => tx.node.findUnique({ where: { name } });
export const listNodes = (tx: Tx) => tx.node.findMany({ orderBy: { name: 'asc' } });
export const insertNode = (tx: Tx, input: NodeInput) => tx.node.create({ data: input });
export const upsertNode = (tx: Tx, input: NodeInput) =>
  tx.node.upsert({ where: { name: input.name }, create: input, update: input });
export const updateNode = (tx: Tx, name: string, data: Partial<Omit<NodeRecord, 'name' | 'createdAt'>>) =>
  tx.node.update({ where: { name }, data: data as never });
export const deleteNode = (tx: Tx, name: string) => tx.node.delete({ where: { name } });

export interface NodeUse {
  containers: number;
  cpuMillis: number;
  memoryBytes: number;
}

/** What the platform's live containers on each node take (for the nodes' `use`). */
export async function useByNode(tx: Tx): Promise<Map<string, NodeUse>> {
  const rows = await tx.container.groupBy({
    by: ['node'],
    where: { removedAt: null, state: { in: LIVE_STATES } },
    _count: { _all: true },
    _sum: { cpuMillis: true, memoryBytes: true },
  });
  return new Map(
    rows.map((r) => [
      r.node,
      {
        containers: r._count._all,
        cpuMillis: r._sum.cpuMillis ?? 0,
        memoryBytes: Number(r._sum.memoryBytes ?? 0n),
      },
    ]),
  );
}
