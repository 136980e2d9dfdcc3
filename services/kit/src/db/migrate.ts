import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import pg from 'pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import type { Database } from './database';
import {
  defaultMigrationsDir,
  defaultSchemaDir,
  nextMigrationName,
  noMigrations,
  readMigrations,
  readSchemaFiles,
  writeMigration,
} from './migrations-dir';
import { pgliteAdapterFactory, postgresMigrationAdapterFactory } from './adapters';
import { lockPgliteDir } from './pglite-lock';
import { noFilters, withSchemaEngine } from './schema-engine';
import { parseDatabaseUrl } from './url';

/** Enough of a pino logger; the CLIs print instead. */
export interface MigrateLogger {
  info(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export type MigrateOptions = (
  | { url: string; database?: never }
  /** An open Database: required for PGlite, whose folder only one instance may open. */
  | { database: Database; url?: never }
) & {
  /** Default: the repository's prisma/migrations. */
  migrationsDir?: string;
  logger?: MigrateLogger;
};

/**
 * Applies the migrations of the migrations folder that the database has not had yet, in order,
 * recording them in `_prisma_migrations` exactly as `prisma migrate deploy` does (so the two
 * tools can take turns on one database). Returns the folder names applied, none when up to date.
 * The engine holds a Postgres advisory lock meanwhile, so concurrent runs wait for each other.
 */
export async function migrateDatabase(opts: MigrateOptions): Promise<{ applied: string[] }> {
  const migrationsList = readMigrations(opts.migrationsDir ?? defaultMigrationsDir);
  if (opts.database && (await allApplied(opts.database, migrationsList))) {
    opts.logger?.info({ applied: [], pending: 0, ms: 0 }, 'database schema up to date');
    return { applied: [] };
  }
  const conn = await connectionFor(opts);
  try {
    const started = Date.now();
    const { appliedMigrationNames } = await withSchemaEngine(
      conn.factory,
      // Applying needs only the SQL files, not the schema (a migration Job ships no .prisma files).
      undefined,
      (engine) => engine.applyMigrations({ migrationsList, filters: noFilters }),
      (line) => opts.logger?.debug?.({ engine: line }, 'schema engine'),
    );
    opts.logger?.info(
      { applied: appliedMigrationNames, pending: appliedMigrationNames.length, ms: Date.now() - started },
      appliedMigrationNames.length ? 'database migrated' : 'database schema up to date',
    );
    return { applied: appliedMigrationNames };
  } finally {
    await conn.close();
  }
}

/**
 * True when `_prisma_migrations` has every migration of the folder as applied, with the checksum
 * of its file as it is now (the SHA-256 the engine records), and no migration that failed or is
 * under way. Then the schema engine has nothing to do and is not loaded: it is a 5 MB WebAssembly
 * module, compiled and instantiated at every start of the embedded default otherwise (a second
 * and 150 MB of its 400 MB). Anything else, the table missing included, is the engine's to decide.
 */
async function allApplied(db: Database, list: MigrationList): Promise<boolean> {
  const sql =
    'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM _prisma_migrations';
  type Row = { migration_name: string; checksum: string; finished: boolean; rolled_back: boolean };
  let rows: Row[];
  try {
    if (db.pglite) rows = (await db.pglite.query<Row>(sql)).rows;
    else if (db.pgPool) rows = (await db.pgPool.query<Row>(sql)).rows;
    else return false;
  } catch {
    return false;
  }
  // A failed or interrupted migration: the engine reports it (or waits for the run holding its lock).
  if (rows.some((r) => !r.finished && !r.rolled_back)) return false;
  const applied = new Map(rows.filter((r) => r.finished && !r.rolled_back).map((r) => [r.migration_name, r]));
  return list.migrationDirectories.every((dir) => {
    const row = applied.get(dir.path);
    const content = dir.migrationFile.content;
    return (
      row !== undefined &&
      content.tag === 'ok' &&
      row.checksum === createHash('sha256').update(content.value, 'utf8').digest('hex')
    );
  });
}

interface EngineConnection {
  factory: SqlMigrationAwareDriverAdapterFactory;
  close(): Promise<void>;
}

async function connectionFor(opts: MigrateOptions): Promise<EngineConnection> {
  if (opts.database?.kind === 'pglite') {
    if (!opts.database.pglite) throw new Error('a pglite Database without its PGlite instance');
    return tracked(pgliteAdapterFactory(opts.database.pglite), async () => {});
  }
  const url = opts.database?.url ?? opts.url;
  if (!url) throw new Error('migrateDatabase needs a url or a database');
  const target = parseDatabaseUrl(url);
  if (target.kind === 'postgres') {
    // One connection: the engine takes a session-level advisory lock (pg_advisory_lock) to keep
    // concurrent runs apart, and with more connections its unlock could land on another session.
    const pool = new pg.Pool({ connectionString: target.url, max: 1 });
    return tracked(postgresMigrationAdapterFactory(pool), () => pool.end());
  }
  const release = target.dataDir ? lockPgliteDir(target.dataDir) : () => {};
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create(target.dataDir);
    return tracked(pgliteAdapterFactory(pglite), async () => {
      await pglite.close();
      release();
    });
  } catch (err) {
    release();
    throw err;
  }
}

/** Disposes every adapter the engine opened (their pools would keep the process alive), then `after`. */
function tracked(inner: SqlMigrationAwareDriverAdapterFactory, after: () => Promise<void>): EngineConnection {
  const opened: SqlDriverAdapter[] = [];
  const remember = async (adapter: Promise<SqlDriverAdapter>) => {
    const a = await adapter;
    opened.push(a);
    return a;
  };
  return {
    factory: {
      provider: inner.provider,
      adapterName: inner.adapterName,
      connect: () => remember(inner.connect()),
      connectToShadowDb: () => remember(inner.connectToShadowDb()),
    },
    async close() {
      // The engine may have disposed some already: a second dispose (pool.end twice) is harmless here.
      await Promise.all(opened.map((a) => a.dispose().catch(() => undefined)));
      await after();
    },
  };
}

export interface CreateMigrationOptions {
  /** Free text; becomes `<timestamp>_<name>` with only [a-z0-9_]. */
  name: string;
  schemaDir?: string;
  migrationsDir?: string;
  now?: Date;
}

/**
 * Writes `<migrationsDir>/<timestamp>_<name>/migration.sql` with the SQL that takes a database
 * from the state the existing migrations build to the state the schema files describe; writes
 * nothing and returns `created: undefined` when there is no difference. Needs no database
 * server: the existing migrations replay into an in-memory PGlite (the "shadow database").
 */
export async function createMigration(
  opts: CreateMigrationOptions,
): Promise<{ created?: string; sql?: string }> {
  const migrationsDir = opts.migrationsDir ?? defaultMigrationsDir;
  const schema = readSchemaFiles(opts.schemaDir ?? defaultSchemaDir);
  const existing = existsSync(migrationsDir) ? readMigrations(migrationsDir) : noMigrations(migrationsDir);
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create();
  // diff only reads the shadow database; the engine still wants a main connection: the same
  // empty in-memory instance serves as both (saves starting a second PGlite).
  const base = pgliteAdapterFactory(pglite);
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: () => base.connect(),
    connectToShadowDb: () => base.connect(),
  };
  try {
    const result = await withSchemaEngine(factory, schema, (engine) =>
      engine.diff({
        from: existing.migrationDirectories.length ? { tag: 'migrations', ...existing } : { tag: 'empty' },
        to: { tag: 'schemaDatamodel', files: schema },
        script: true,
        exitCode: true,
        filters: noFilters,
      }),
    );
    // exitCode 2: the two differ; 0: nothing to do.
    if (result.exitCode !== 2 || !result.stdout?.trim()) return {};
    const folder = nextMigrationName(
      existing.migrationDirectories.map((d) => d.path),
      opts.name,
      opts.now,
    );
    return { created: writeMigration(migrationsDir, folder, result.stdout), sql: result.stdout };
  } finally {
    await pglite.close();
  }
}
