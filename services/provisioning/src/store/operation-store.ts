import type { Tx } from '@testbed/kit';

export type OperationState =
  'pending' | 'running' | 'succeeded' | 'partially_succeeded' | 'failed' | 'cancelled';
export const TERMINAL: OperationState[] = ['succeeded', 'partially_succeeded', 'failed', 'cancelled'];
/** Operations run by the create saga and its runner; other kinds (image pulls, interfaces) run their own way. */
export const SAGA_KINDS = ['container.create', 'batch.create'];
/** Operations that change one running container: at most one of them at a time per container. */
export const CONTAINER_CHANGE_KINDS = [
  'interface.attach',
  'interface.move',
  'interface.detach',
  'container.update',
] as const;

/** The change in progress on a container, if any. */
export const containerChangeInProgress = (tx: Tx, containerId: string) =>
  tx.operation.findFirst({
    where: {
      kind: { in: [...CONTAINER_CHANGE_KINDS] },
      state: { in: ['pending', 'running'] },
      saga: { path: ['containerId'], equals: containerId },
    },
    select: { id: true, kind: true },
  });

export interface PlannedItem {
  name: string;
  node: string;
}

/** Saga progress kept with the operation. */
export interface Saga {
  pool: string;
  admissions: Record<string, 'pending' | 'granted' | 'rejected'>;
  allocation: 'pending' | 'allocated' | 'failed';
  ip?: string;
  start?: string;
  plan: PlannedItem[];
  spec: {
    image: string;
    cpuMillis: number;
    memoryBytes: number;
    pidsLimit: number;
    sshPublicKeys: string[];
    env?: Record<string, string>;
    command?: string[];
    /** Attach eth1 once the container runs (`secondary` of POST /v1/containers). */
    secondary?: { pool?: string; network?: string };
  };
}

export interface OperationRecord {
  id: string;
  kind: string;
  state: OperationState;
  owner: string;
  request: unknown;
  result: unknown;
  error: unknown;
  items: unknown;
  saga: Saga;
  idempotencyKey: string | null;
  cancelRequested: boolean;
  claimedBy: string | null;
  claimedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const findOperation = (tx: Tx, id: string) =>
  tx.operation.findUnique({ where: { id } }) as unknown as Promise<OperationRecord | null>;

/** The operation under a row lock: saga steps of one operation never interleave. */
export async function lockOperation(tx: Tx, id: string): Promise<OperationRecord | null> {
  await tx.$executeRaw`SELECT 1 FROM provisioning.operation WHERE id = ${id}::uuid FOR UPDATE`;
  return findOperation(tx, id);
}

export const findByIdempotencyKey = (tx: Tx, key: string) =>
  tx.operation.findUnique({ where: { idempotencyKey: key } }) as unknown as Promise<OperationRecord | null>;

export const insertOperation = (
  tx: Tx,
  op: Pick<OperationRecord, 'id' | 'kind' | 'state' | 'owner' | 'request' | 'saga' | 'idempotencyKey'>,
) => tx.operation.create({ data: op as never });

export const updateOperation = (tx: Tx, id: string, data: Partial<Omit<OperationRecord, 'id'>>) =>
  tx.operation.update({ where: { id }, data: data as never });

export function listOperations(
  tx: Tx,
  filter: { owner?: string; state?: string; afterId?: string },
  limit: number,
): Promise<OperationRecord[]> {
  return tx.operation.findMany({
    where: {
      ...(filter.owner ? { owner: filter.owner } : {}),
      ...(filter.state ? { state: filter.state } : {}),
      ...(filter.afterId ? { id: { gt: filter.afterId } } : {}),
    },
    orderBy: { id: 'asc' },
    take: limit,
  }) as unknown as Promise<OperationRecord[]>;
}

/** Running operations of `kinds` nobody works on (no claim, or a claim older than `staleBefore`). */
export const unclaimedRunning = (tx: Tx, kinds: readonly string[], staleBefore: Date) =>
  tx.operation.findMany({
    where: {
      state: 'running',
      kind: { in: [...kinds] },
      OR: [{ claimedAt: null }, { claimedAt: { lt: staleBefore } }],
    },
    select: { id: true, kind: true, createdAt: true },
  });

/** Renews this worker's claim; a claim another worker took over is left alone. */
export const renewClaim = (tx: Tx, id: string, workerId: string, now: Date) =>
  tx.operation.updateMany({ where: { id, state: 'running', claimedBy: workerId }, data: { claimedAt: now } });

/** Pending operations of `kinds` created before `before` (their saga waits for an answer that does not come). */
export const pendingOlderThan = (tx: Tx, kinds: readonly string[], before: Date) =>
  tx.operation.findMany({
    where: { state: 'pending', kind: { in: [...kinds] }, createdAt: { lt: before } },
    select: { id: true },
  });
