import type { Prisma, Tx } from '@testbed/kit';

/** A user-defined network's record, as the generated client types it. */
export type NetworkRecord = Prisma.NetworkModel;

export const findNetwork = (tx: Tx, name: string) => tx.network.findUnique({ where: { name } });

export const listNetworks = (tx: Tx) => tx.network.findMany({ orderBy: { name: 'asc' } });

export const insertNetwork = (tx: Tx, n: Omit<NetworkRecord, 'createdAt'>) => tx.network.create({ data: n });

export const deleteNetwork = (tx: Tx, name: string) => tx.network.delete({ where: { name } });

/** Live containers whose second interface is on the network. */
export const containersOnNetwork = (tx: Tx, name: string) =>
  tx.container.findMany({
    where: { secondaryNetwork: name, removedAt: null },
    select: { id: true, name: true },
  });
