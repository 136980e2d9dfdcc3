import type { Tx } from '@testbed/kit';
import { addResources, noResources, timesContainers, type Resources } from '../domain/limits';
import type { RejectionCode } from '../events/contracts';
import { userLockKey } from './user-store';

/** One admission decision (see the Admission model): its request, verdict and what it still holds. */
export interface AdmissionRecord {
  requestId: string;
  user: string;
  node: string;
  count: number;
  cpuMillis: number;
  memoryBytes: number;
  addresses: number;
  decision: 'granted' | 'rejected';
  code: RejectionCode | null;
  reason: string | null;
  heldCount: number;
  heldUntil: Date | null;
  releasedAt: Date | null;
}

type AdmissionRow = Omit<AdmissionRecord, 'memoryBytes' | 'code'> & {
  memoryBytes: bigint;
  code: string | null;
};

const toAdmission = (row: AdmissionRow): AdmissionRecord => ({
  ...row,
  memoryBytes: Number(row.memoryBytes),
  code: row.code as RejectionCode | null,
});

const admissionFields = {
  requestId: true,
  user: true,
  node: true,
  count: true,
  cpuMillis: true,
  memoryBytes: true,
  addresses: true,
  decision: true,
  code: true,
  reason: true,
  heldCount: true,
  heldUntil: true,
  releasedAt: true,
} as const;

export async function findAdmission(tx: Tx, requestId: string): Promise<AdmissionRecord | undefined> {
  const row = await tx.admission.findUnique({ where: { requestId }, select: admissionFields });
  return row ? toAdmission(row) : undefined;
}

export async function insertAdmission(tx: Tx, a: AdmissionRecord): Promise<void> {
  await tx.admission.create({ data: { ...a, memoryBytes: BigInt(a.memoryBytes) } });
}

/** Holds that still count at `now`: granted, containers not yet started, not released, not expired. */
async function liveHolds(tx: Tx, user: string, now: Date): Promise<AdmissionRecord[]> {
  const rows = await tx.admission.findMany({
    where: { user, decision: 'granted', heldCount: { gt: 0 }, releasedAt: null, heldUntil: { gt: now } },
    select: admissionFields,
  });
  return rows.map(toAdmission);
}

/** Ends a hold; answers what it still held (nothing when already released or fully started). */
export async function releaseHold(tx: Tx, requestId: string, at: Date): Promise<number> {
  const current = await findAdmission(tx, requestId);
  if (!current || current.decision !== 'granted' || current.releasedAt || current.heldCount === 0) return 0;
  await tx.admission.update({ where: { requestId }, data: { heldCount: 0, releasedAt: at } });
  return current.heldCount;
}

export interface ContainerRecord {
  containerId: string;
  user: string;
  node: string;
  requestId: string | null;
  cpuMillis: number;
  memoryBytes: number;
  addresses: number;
  startedAt: Date;
}

/**
 * Counts a started container once and takes it from its admission's hold, under its user's lock,
 * in one statement (it runs for every container a batch starts): with a granted admission the
 * container counts what the admission granted each container, else what `c` says; a replayed
 * start (the container is counted already) changes nothing. Answers whether it counted the
 * container now, and the user of the admission of `c.requestId` when there is one (any decision).
 *
 * The lock is taken inside the statement, before its writes (they read from `locked`), so an
 * admission of the user that holds the lock decides first, on usage without this container; only
 * the admission row is read before the lock, and what is read of it never changes (the hold's
 * count is checked again by the update).
 */
export async function countStartedContainer(
  tx: Tx,
  c: ContainerRecord,
): Promise<{ counted: boolean; admissionUser: string | null }> {
  const [row] = await tx.$queryRaw<{ counted: boolean; admission_user: string | null }[]>`
    WITH locked AS (SELECT pg_advisory_xact_lock(hashtext(${userLockKey(c.user)})) AS done),
    a AS (
      SELECT request_id, "user", decision = 'granted' AS granted, cpu_millis, memory_bytes, addresses
      FROM quota.admission WHERE request_id = ${c.requestId}
    ), counted AS (
      INSERT INTO quota.container_usage
        (container_id, "user", node, request_id, cpu_millis, memory_bytes, addresses, started_at)
      SELECT ${c.containerId}, ${c.user}, ${c.node}, ${c.requestId},
        COALESCE((SELECT cpu_millis FROM a WHERE granted), ${c.cpuMillis}::integer),
        COALESCE((SELECT memory_bytes FROM a WHERE granted), ${BigInt(c.memoryBytes)}::bigint),
        COALESCE((SELECT addresses FROM a WHERE granted), ${c.addresses}::integer),
        ${c.startedAt.toISOString()}::timestamptz
      FROM locked
      ON CONFLICT (container_id) DO NOTHING
      RETURNING container_id
    ), taken AS (
      UPDATE quota.admission SET held_count = held_count - 1
      WHERE request_id = (SELECT request_id FROM a WHERE granted) AND held_count > 0
        AND EXISTS (SELECT 1 FROM counted)
      RETURNING request_id
    )
    SELECT EXISTS (SELECT 1 FROM counted) AS counted, (SELECT "user" FROM a) AS admission_user`;
  return { counted: row?.counted === true, admissionUser: row?.admission_user ?? null };
}

/** Adds `delta` to a container's addresses, never below zero; a container not (yet) counted is left alone. */
export async function changeContainerAddresses(tx: Tx, containerId: string, delta: number): Promise<void> {
  await tx.$executeRaw`UPDATE quota.container_usage SET addresses = GREATEST(0, addresses + ${delta})
    WHERE container_id = ${containerId}`;
}

export async function deleteContainer(tx: Tx, containerId: string): Promise<string | undefined> {
  const row = await tx.containerUsage.findUnique({ where: { containerId }, select: { user: true } });
  if (!row) return undefined;
  await tx.containerUsage.delete({ where: { containerId } });
  return row.user;
}

export interface UsageBreakdown {
  running: Resources;
  held: Resources;
}

/** What a user's running containers and live holds take. */
export async function usageOf(tx: Tx, user: string, now: Date): Promise<UsageBreakdown> {
  const sums = await tx.containerUsage.aggregate({
    where: { user },
    _count: { _all: true },
    _sum: { cpuMillis: true, memoryBytes: true, addresses: true },
  });
  const running: Resources = {
    containers: sums._count._all,
    cpuMillis: sums._sum.cpuMillis ?? 0,
    memoryBytes: Number(sums._sum.memoryBytes ?? 0n),
    addresses: sums._sum.addresses ?? 0,
  };
  const held = (await liveHolds(tx, user, now))
    .map((h) => timesContainers(h.heldCount, h))
    .reduce(addResources, noResources);
  return { running, held };
}
