/**
 * Postgres ended the transaction or statement in a deadlock (40P01) or a serialization failure
 * (40001): nothing it did stays, and doing it again is right. Prisma says so as P2034 for its own
 * queries and transactions, and as P2010 (a raw query failed) with the driver adapter's
 * `TransactionWriteConflict` for `$queryRaw` and `$executeRaw`.
 */
export function isWriteConflict(error: unknown): boolean {
  const e = error as {
    code?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
  } | null;
  if (e?.code === 'P2034') return true;
  return e?.code === 'P2010' && e.meta?.driverAdapterError?.cause?.kind === 'TransactionWriteConflict';
}
