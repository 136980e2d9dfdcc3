import type { Tx } from '@testbed/kit';

export interface ContainerRecord {
  id: string;
  name: string;
  node: string;
  owner: string;
  image: string;
  state: string;
  dockerId: string | null;
  pool: string;
  ip: string;
  mac: string | null;
  secondaryPool: string | null;
  secondaryIp: string | null;
  secondaryNetwork: string | null;
  secondaryEndpointIp: string | null;
  cpuMillis: number;
  memoryBytes: bigint;
  pidsLimit: number;
  operationId: string;
  admissionId: string;
  itemIndex: number;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  removedAt: Date | null;
}

/** States of a container that still exists on its node (or is being made). */
export const LIVE_STATES = ['creating', 'running', 'stopped', 'exited', 'removing'];

export const findContainer = (tx: Tx, id: string) =>
  tx.container.findUnique({ where: { id } }) as Promise<ContainerRecord | null>;

export const containersOfOperation = (tx: Tx, operationId: string) =>
  tx.container.findMany({ where: { operationId }, orderBy: { itemIndex: 'asc' } }) as Promise<
    ContainerRecord[]
  >;

export const liveContainersOfNode = (tx: Tx, node: string) =>
  tx.container.findMany({ where: { node, removedAt: null, state: { in: LIVE_STATES } } }) as Promise<
    ContainerRecord[]
  >;

export function listContainers(
  tx: Tx,
  filter: { node?: string; owner?: string; state?: string; name?: string; afterId?: string },
  limit: number,
): Promise<ContainerRecord[]> {
  return tx.container.findMany({
    where: {
      removedAt: null,
      ...(filter.node ? { node: filter.node } : {}),
      ...(filter.owner ? { owner: filter.owner } : {}),
      ...(filter.state ? { state: filter.state } : { state: { in: LIVE_STATES } }),
      ...(filter.name ? { name: filter.name } : {}),
      ...(filter.afterId ? { id: { gt: filter.afterId } } : {}),
    },
    orderBy: { id: 'asc' },
    take: limit,
  }) as Promise<ContainerRecord[]>;
}

export const insertContainers = (
  tx: Tx,
  rows: Omit<
    ContainerRecord,
    | 'createdAt'
    | 'startedAt'
    | 'removedAt'
    | 'error'
    | 'mac'
    | 'dockerId'
    | 'secondaryPool'
    | 'secondaryIp'
    | 'secondaryNetwork'
    | 'secondaryEndpointIp'
  >[],
) => tx.container.createMany({ data: rows });

export const updateContainer = (tx: Tx, id: string, data: Partial<Omit<ContainerRecord, 'id'>>) =>
  tx.container.update({ where: { id }, data: data as never }) as Promise<ContainerRecord>;
