import { activeTraceParent, type Tx } from '@testbed/kit';
import {
  CONTAINER_CHANGE_KINDS,
  isOperationKind,
  workSchemas,
  type OperationError,
  type OperationKind,
  type OperationRecord,
  type OperationState,
  type WorkOf,
} from '../domain/operation-work';

type Row = Awaited<ReturnType<Tx['operation']['findUniqueOrThrow']>>;

/** A row that its kind's schema does not describe (written by hand, or by another version). */
export class UnreadableOperationError extends Error {
  override readonly name = 'UnreadableOperationError';
  constructor(id: string, kind: string, why: string) {
    super(`operation ${id} (${kind}) cannot be read: ${why}`);
  }
}

/** Kinds whose work rows of earlier versions kept in `request` alone (their `saga` empty). */
const WORK_IN_REQUEST = new Set<string>(['image.pull', 'image.check-updates', 'reservation.stop']);

/** The row as the union of kinds: its work parsed by its kind's schema. */
export function toOperation(row: Row): OperationRecord {
  if (!isOperationKind(row.kind)) throw new UnreadableOperationError(row.id, row.kind, 'unknown kind');
  const schema = workSchemas[row.kind];
  const fromSaga = schema.safeParse(row.saga);
  const parsed =
    !fromSaga.success && WORK_IN_REQUEST.has(row.kind) ? schema.safeParse(row.request) : fromSaga;
  if (!parsed.success) throw new UnreadableOperationError(row.id, row.kind, parsed.error.message);
  return {
    id: row.id,
    kind: row.kind,
    state: row.state as OperationState,
    owner: row.owner,
    request: row.request,
    result: row.result ?? null,
    error: (row.error ?? null) as OperationError | null,
    items: Array.isArray(row.items) ? row.items : [],
    saga: parsed.data,
    idempotencyKey: row.idempotencyKey,
    cancelRequested: row.cancelRequested,
    claimedBy: row.claimedBy,
    claimedAt: row.claimedAt,
    traceParent: row.traceParent,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  } as OperationRecord;
}

const orNull = (row: Row | null) => (row ? toOperation(row) : null);

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

export const findOperation = async (tx: Tx, id: string) =>
  orNull(await tx.operation.findUnique({ where: { id } }));

/**
 * How far an operation is, for the reads that repeat while it runs (`Prefer: wait`, the cancel
 * check): two columns, not the request, saga and items JSON a full row carries.
 */
export const operationProgress = (tx: Tx, id: string) =>
  tx.operation.findUnique({ where: { id }, select: { state: true, cancelRequested: true } });

/** The operation under a row lock: steps of one operation never interleave. */
export async function lockOperation(tx: Tx, id: string): Promise<OperationRecord | null> {
  await tx.$executeRaw`SELECT 1 FROM provisioning.operation WHERE id = ${id}::uuid FOR UPDATE`;
  return findOperation(tx, id);
}

export const findByIdempotencyKey = async (tx: Tx, key: string) =>
  orNull(await tx.operation.findUnique({ where: { idempotencyKey: key } }));

export interface NewOperation<K extends OperationKind> {
  id: string;
  kind: K;
  state: 'pending' | 'running';
  owner: string;
  request: unknown;
  saga: WorkOf<K>;
  idempotencyKey: string | null;
  /** A worker that starts on it at once (after the commit) holds the claim from the start. */
  claimedBy?: string;
  claimedAt?: Date;
}

export async function insertOperation<K extends OperationKind>(
  tx: Tx,
  op: NewOperation<K>,
): Promise<OperationRecord<K>> {
  // The request's trace goes with the row: the work that runs later, anywhere, joins it.
  const data = { ...op, traceParent: activeTraceParent() ?? null };
  return toOperation(await tx.operation.create({ data: data as never })) as OperationRecord<K>;
}

export interface OperationChange {
  state?: OperationState;
  saga?: unknown;
  result?: unknown;
  error?: OperationError | null;
  items?: unknown[];
  cancelRequested?: boolean;
  claimedBy?: string | null;
  claimedAt?: Date | null;
}

export const updateOperation = (tx: Tx, id: string, data: OperationChange) =>
  tx.operation.update({ where: { id }, data: data as never });

export async function listOperations(
  tx: Tx,
  filter: { owner?: string; state?: string; afterId?: string },
  limit: number,
): Promise<OperationRecord[]> {
  const rows = await tx.operation.findMany({
    where: {
      ...(filter.owner ? { owner: filter.owner } : {}),
      ...(filter.state ? { state: filter.state } : {}),
      ...(filter.afterId ? { id: { gt: filter.afterId } } : {}),
    },
    orderBy: { id: 'asc' },
    take: limit,
  });
  return rows.map(toOperation);
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

/** Renews this worker's claim; answers false when another worker took the operation over. */
export async function renewClaim(tx: Tx, id: string, workerId: string, now: Date): Promise<boolean> {
  const { count } = await tx.operation.updateMany({
    where: { id, state: 'running', claimedBy: workerId },
    data: { claimedAt: now },
  });
  return count === 1;
}

/** Pending operations of `kinds` created before `before` (their saga waits for an answer that does not come). */
export const pendingOlderThan = (tx: Tx, kinds: readonly string[], before: Date) =>
  tx.operation.findMany({
    where: { state: 'pending', kind: { in: [...kinds] }, createdAt: { lt: before } },
    select: { id: true, kind: true },
  });
