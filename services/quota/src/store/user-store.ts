import type { Tx } from '@testbed/kit';
import type { LimitOverrides } from '../domain/limits';

export type UserOrigin = 'token' | 'operator' | 'admission' | 'booking';

export interface UserRecord {
  name: string;
  overrides: LimitOverrides;
  createdVia: string;
  createdAt: Date;
}

type Row = {
  name: string;
  maxContainers: number | null;
  maxCpuMillis: number | null;
  maxMemoryBytes: bigint | null;
  maxAddresses: number | null;
  maxConcurrentReservations: number | null;
  createdVia: string;
  createdAt: Date;
};

function toUser(row: Row): UserRecord {
  return {
    name: row.name,
    overrides: {
      maxContainers: row.maxContainers,
      maxCpuMillis: row.maxCpuMillis,
      maxMemoryBytes: row.maxMemoryBytes === null ? null : Number(row.maxMemoryBytes),
      maxAddresses: row.maxAddresses,
      maxConcurrentReservations: row.maxConcurrentReservations,
    },
    createdVia: row.createdVia,
    createdAt: row.createdAt,
  };
}

function toColumns(o: LimitOverrides) {
  return {
    maxContainers: o.maxContainers ?? null,
    maxCpuMillis: o.maxCpuMillis ?? null,
    maxMemoryBytes:
      o.maxMemoryBytes === null || o.maxMemoryBytes === undefined ? null : BigInt(o.maxMemoryBytes),
    maxAddresses: o.maxAddresses ?? null,
    maxConcurrentReservations: o.maxConcurrentReservations ?? null,
  };
}

/**
 * Everything that counts against one user's limits (admissions, bookings) is decided under one
 * transaction-scoped advisory lock, so concurrent requests queue instead of each seeing room for
 * itself. Held until the transaction ends.
 */
export async function lockUser(tx: Tx, user: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${userLockKey(user)}))`;
}

/** The text whose hash is the user's lock (for a statement that takes the lock itself). */
export const userLockKey = (user: string): string => `quota:user:${user}`;

export async function findUser(tx: Tx, name: string): Promise<UserRecord | undefined> {
  const row = await tx.quotaUser.findUnique({ where: { name } });
  return row ? toUser(row) : undefined;
}

/** Creates the user unless known; answers whether it did. */
export async function insertUserIfMissing(tx: Tx, name: string, via: UserOrigin): Promise<boolean> {
  const { count } = await tx.quotaUser.createMany({
    data: [{ name, createdVia: via }],
    skipDuplicates: true,
  });
  return count === 1;
}

/** Replaces the user's overrides, creating the user when unknown. */
export async function saveOverrides(tx: Tx, name: string, overrides: LimitOverrides): Promise<UserRecord> {
  const columns = toColumns(overrides);
  const row = await tx.quotaUser.upsert({
    where: { name },
    create: { name, createdVia: 'operator', ...columns },
    update: columns,
  });
  return toUser(row);
}

export async function listUsers(tx: Tx, after: string | undefined, limit: number): Promise<UserRecord[]> {
  const rows = await tx.quotaUser.findMany({
    where: after === undefined ? {} : { name: { gt: after } },
    orderBy: { name: 'asc' },
    take: limit,
  });
  return rows.map(toUser);
}
