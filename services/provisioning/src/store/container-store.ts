import { Prisma, type Tx } from '@testbed/kit';
import { isRecordId } from '../domain/request-ids';

/** A container's record: the `provisioning.container` row as the generated client types it. */
export type ContainerRecord = Prisma.ContainerModel;

/** States of a container that still exists on its node (or is being made). */
export const LIVE_STATES = ['creating', 'running', 'stopped', 'exited', 'removing'];

export const findContainer = (tx: Tx, id: string) => tx.container.findUnique({ where: { id } });

/**
 * The container's record, its row locked until the transaction ends. The runner, the Docker
 * events watcher and the reconcile each read a record and then write it; unlocked, the later
 * writer overwrote the earlier one (a cancelled item's `error` became `removed`, a second
 * container.removed was sent).
 */
export async function lockContainer(tx: Tx, id: string): Promise<ContainerRecord | null> {
  if (!isRecordId(id)) return null;
  await tx.$executeRaw`SELECT 1 FROM provisioning.container WHERE id = ${id}::uuid FOR UPDATE`;
  return findContainer(tx, id);
}

export const containersOfOperation = (tx: Tx, operationId: string) =>
  tx.container.findMany({ where: { operationId }, orderBy: { itemIndex: 'asc' } });

export const liveContainersOfNode = (tx: Tx, node: string) =>
  tx.container.findMany({ where: { node, removedAt: null, state: { in: LIVE_STATES } } });

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
  });
}

export const insertContainers = (
  tx: Tx,
  rows: Omit<
    ContainerRecord,
    | 'createdAt'
    | 'updatedAt'
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

/** A user's running containers on some nodes (a reservation's end stops them). */
export const runningContainersOf = (tx: Tx, owner: string, nodes: string[]) =>
  tx.container.findMany({
    where: { owner, node: { in: nodes }, state: 'running', removedAt: null },
  });

export const updateContainer = (tx: Tx, id: string, data: Partial<Omit<ContainerRecord, 'id'>>) =>
  tx.container.update({ where: { id }, data: data as never });

/**
 * The MACs of running containers recorded without one, in one statement (a batch's are 50 rows);
 * set once, never overwritten.
 */
export async function setMissingMacs(tx: Tx, macs: { id: string; mac: string }[], at: Date): Promise<void> {
  if (macs.length === 0) return;
  await tx.$executeRaw`
    UPDATE provisioning.container AS c SET mac = v.mac, updated_at = ${at}
    FROM (VALUES ${Prisma.join(macs.map((m) => Prisma.sql`(${m.id}::uuid, ${m.mac})`))}) AS v(id, mac)
    WHERE c.id = v.id AND c.state = 'running' AND c.mac IS NULL`;
}
