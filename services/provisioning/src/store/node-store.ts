import type { Tx } from '@testbed/kit';

export interface NodeRecord {
  name: string;
  dockerHost: string;
  tlsCaPath: string | null;
  tlsCertPath: string | null;
  tlsKeyPath: string | null;
  tlsSecretRef: string | null;
  insecure: boolean;
  macvlanParent: string | null;
  experimentPool: string;
  secondaryPool: string;
  labels: unknown;
  schedulable: boolean;
  healthState: string;
  healthError: string | null;
  lastSeenAt: Date | null;
  dockerVersion: string | null;
  cpuCount: number | null;
  memoryBytes: bigint | null;
  networkName: string | null;
  createdAt: Date;
}

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

export const findNode = (tx: Tx, name: string) =>
  tx.node.findUnique({ where: { name } }) as Promise<NodeRecord | null>;
export const listNodes = (tx: Tx) => tx.node.findMany({ orderBy: { name: 'asc' } }) as Promise<NodeRecord[]>;
export const insertNode = (tx: Tx, input: NodeInput) =>
  tx.node.create({ data: input }) as Promise<NodeRecord>;
export const upsertNode = (tx: Tx, input: NodeInput) =>
  tx.node.upsert({ where: { name: input.name }, create: input, update: input }) as Promise<NodeRecord>;
export const updateNode = (tx: Tx, name: string, data: Partial<Omit<NodeRecord, 'name' | 'createdAt'>>) =>
  tx.node.update({ where: { name }, data: data as never }) as Promise<NodeRecord>;
export const deleteNode = (tx: Tx, name: string) => tx.node.delete({ where: { name } });

/** What the platform's live containers on each node take (for the nodes' `use`). */
export async function useByNode(
  tx: Tx,
): Promise<Map<string, { containers: number; cpuMillis: number; memoryBytes: number }>> {
  const rows = await tx.container.groupBy({
    by: ['node'],
    where: { removedAt: null, state: { in: ['creating', 'running', 'stopped', 'exited', 'removing'] } },
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
