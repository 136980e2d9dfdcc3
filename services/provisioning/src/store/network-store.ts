import type { Tx } from '@testbed/kit';

export interface NetworkRecord {
  name: string;
  pool: string;
  nodes: string[];
  owner: string;
  createdAt: Date;
}

export const findNetwork = (tx: Tx, name: string) =>
  tx.network.findUnique({ where: { name } }) as Promise<NetworkRecord | null>;

export const listNetworks = (tx: Tx) =>
  tx.network.findMany({ orderBy: { name: 'asc' } }) as Promise<NetworkRecord[]>;

export const insertNetwork = (tx: Tx, n: Omit<NetworkRecord, 'createdAt'>) =>
  tx.network.create({ data: n }) as Promise<NetworkRecord>;

export const deleteNetwork = (tx: Tx, name: string) => tx.network.delete({ where: { name } });

/** Live containers whose second interface is on the network. */
export const containersOnNetwork = (tx: Tx, name: string) =>
  tx.container.findMany({
    where: { secondaryNetwork: name, removedAt: null },
    select: { id: true, name: true },
  });
