/** The database layer: Prisma client over Postgres or PGlite, and the migration runner. */
export {
  openDatabase,
  type Database,
  type DbClient,
  type DbTransaction,
  type OpenDatabaseOptions,
} from './database';
export {
  createMigration,
  migrateDatabase,
  type CreateMigrationOptions,
  type MigrateLogger,
  type MigrateOptions,
} from './migrate';
export { PGLITE_SEED_FILE, writePgliteSeed } from './pglite-seed';
export {
  parseDatabaseUrl,
  redactUrl,
  resolveDatabaseUrl,
  withDatabaseName,
  type DatabaseTarget,
} from './url';
export {
  PLATFORM_SCHEMAS,
  TableOwnershipError,
  scopeDatabase,
  scopeTransaction,
  schemasNamedIn,
} from './ownership';
export {
  AfterCommitQueue,
  inTransaction,
  type AfterCommit,
  type TransactionOptions,
  type TransactionScope,
} from './transaction';
export { isWriteConflict } from './write-conflict';
export { Prisma } from './generated/client';
/** Short name for the `tx` of `prisma.$transaction(async (tx) => …)` in services' stores. */
export type { DbTransaction as Tx } from './database';
