/**
 * The Postgres SQLSTATE behind a Prisma error, on either driver adapter (checked with
 * @prisma/adapter-pg 7.10.1 and pglite-prisma-adapter 0.7.2: both put the driver's error under
 * `meta.driverAdapterError.cause`, for model operations and raw SQL alike).
 */
export function sqlStateOf(err: unknown): string | undefined {
  const cause = (
    err as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } } }
  )?.meta?.driverAdapterError?.cause;
  const code = cause?.originalCode ?? cause?.code;
  return typeof code === 'string' ? code : undefined;
}

export const EXCLUSION_VIOLATION = '23P01';
export const UNIQUE_VIOLATION = '23505';
export const DEADLOCK_DETECTED = '40P01';
export const SERIALIZATION_FAILURE = '40001';

/** A unique key was in the way (Prisma reports it as P2002 on model writes). */
export function isUniqueViolation(err: unknown): boolean {
  return sqlStateOf(err) === UNIQUE_VIOLATION || (err as { code?: unknown })?.code === 'P2002';
}
