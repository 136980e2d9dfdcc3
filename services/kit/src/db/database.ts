import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { Prisma, PrismaClient } from './generated/client';
import { pgliteAdapterFactory } from './adapters';
import { lockPgliteDir } from './pglite-lock';
import { tracingExtension } from './tracing';
import { parseDatabaseUrl } from './url';

/**
 * The Prisma client every service uses. It carries a query extension (spans), and extended
 * clients have no `$on` (log events): use the logger instead.
 */
export type DbClient = Omit<PrismaClient, '$on'>;

/**
 * Interactive transactions wait up to 10 s for a connection and may run 30 s (Prisma's defaults,
 * 2 s and 5 s, turn a burst of requests queued on a lock into errors instead of latency).
 */
const transactionOptions = { maxWait: 10_000, timeout: 30_000 };

/** The `tx` of `prisma.$transaction(async (tx) => …)`: pass it to code that must join the transaction. */
export type DbTransaction = Prisma.TransactionClient;

export interface Database {
  kind: 'postgres' | 'pglite';
  /** The URL it was opened with (with its password: do not log it, use `redactUrl`). */
  url: string;
  /** Prisma client (with OpenTelemetry spans); `$transaction(async (tx) => …)` and raw SQL work on both kinds. */
  prisma: DbClient;
  /**
   * The PGlite instance when kind is 'pglite'. PGlite is one connection in this process: anything
   * else that needs the same database (the migration runner) must use this instance.
   */
  pglite?: PGlite;
  /** PGlite only: the new data folder was made from `pgliteSeed` instead of by initdb. */
  seeded?: boolean;
  /**
   * The connection pool when kind is 'postgres', for what Prisma cannot do (COPY): its
   * connections count against the same `poolMax`.
   */
  pgPool?: pg.Pool;
  /** Round trip to the database (health checks); no span. */
  ping(): Promise<void>;
  /** Disconnects the client, then ends the pool or closes PGlite. Safe to call twice. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** `postgres://…`, `postgresql://…`, `pglite://<folder>` or `pglite://memory`. */
  url: string;
  /** Postgres connections per process (default 10: several replicas share the server's 100). */
  poolMax?: number;
  /** Errors of idle pool connections (server restart…); they are otherwise only debug-logged. */
  onPoolError?: (err: Error) => void;
  /** Shown in Postgres' pg_stat_activity: which service holds a connection. */
  applicationName?: string;
  /**
   * PGlite on a folder: a gzip tarball of a data folder (PGlite's `dumpDataDir`) that a folder not
   * made yet starts from, instead of initdb (4 of the embedded default's 4.5 s first start). The
   * build makes it, migrated (`deploy/build`); the migrations still run after it, so an older seed
   * only leaves them more to do. Ignored for a folder that exists, for memory and for Postgres,
   * and when the file is missing (a development run).
   */
  pgliteSeed?: string;
}

/**
 * Postgres connects lazily (call `ping()` to fail fast); PGlite opens (and creates) its folder now,
 * which takes a few seconds.
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const target = parseDatabaseUrl(opts.url);
  return target.kind === 'postgres'
    ? openPostgres(opts, target.url)
    : openPglite(opts.url, target.dataDir, opts.pgliteSeed);
}

/**
 * The query extension adds no fields or models, so the extended client has the plain client's
 * types minus `$on`; TypeScript cannot relate the two `$transaction` overload sets by itself.
 */
function traced(client: PrismaClient, namespace: string): DbClient {
  return client.$extends(tracingExtension('postgresql', namespace)) as unknown as DbClient;
}

function closeOnce(fn: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= fn());
}

async function openPostgres(opts: OpenDatabaseOptions, url: string): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolMax ?? 10,
    // Fail a request fast when the server is unreachable instead of waiting for the OS timeout.
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? 'testbed',
  });
  const onPoolError = opts.onPoolError ?? (() => undefined);
  // An idle client's connection ended by the server (a restart, a terminated backend) emits on the
  // pool; Prisma's listener is gone once it disconnects, and an 'error' nobody listens to would
  // end the process. The pool drops that client by itself and opens a new one when needed.
  pool.on('error', onPoolError);
  const adapter = new PrismaPg(pool, { onPoolError, onConnectionError: onPoolError });
  const namespace = new URL(url).pathname.slice(1) || 'postgres';
  const prisma = traced(new PrismaClient({ adapter, transactionOptions }), namespace);
  return {
    kind: 'postgres',
    url,
    prisma,
    pgPool: pool,
    async ping() {
      await pool.query('SELECT 1');
    },
    close: closeOnce(async () => {
      await prisma.$disconnect();
      await pool.end();
    }),
  };
}

/**
 * Postgres' default of 128 MB of shared buffers is memory the process holds inside PGlite's
 * WebAssembly heap once touched (310 MB resident for PGlite alone against 155-175 MB with 16 MB):
 * the embedded default's tables are small, and the operating system caches their files anyway.
 */
const PGLITE_SHARED_BUFFERS = '16MB';

/** A folder PGlite has not made yet: absent or empty (one with files but no cluster is left to PGlite). */
const notMadeYet = (dataDir: string) => !existsSync(dataDir) || readdirSync(dataDir).length === 0;

async function openPglite(url: string, dataDir: string | undefined, seedFile?: string): Promise<Database> {
  let release = () => {};
  if (dataDir) {
    mkdirSync(path.dirname(dataDir), { recursive: true });
    release = lockPgliteDir(dataDir);
  }
  let pglite: PGlite;
  let seed: Blob | undefined;
  try {
    // Under the folder's lock: two processes cannot both take it for new.
    if (dataDir && seedFile && notMadeYet(dataDir) && existsSync(seedFile))
      seed = new Blob([readFileSync(seedFile)]);
    // Loaded only here: a service on Postgres never needs PGlite (half a megabyte of JS at start).
    const { PGlite } = await import('@electric-sql/pglite');
    pglite = await PGlite.create(dataDir, {
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
      ...(seed ? { loadDataDir: seed } : {}),
    });
  } catch (err) {
    release();
    throw new Error(`cannot open PGlite in ${dataDir ?? 'memory'}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const prisma = traced(
    new PrismaClient({ adapter: pgliteAdapterFactory(pglite), transactionOptions }),
    dataDir ?? 'memory',
  );
  return {
    kind: 'pglite',
    url,
    prisma,
    pglite,
    seeded: seed !== undefined,
    async ping() {
      await pglite.query('SELECT 1');
    },
    close: closeOnce(async () => {
      try {
        await prisma.$disconnect();
        await pglite.close();
      } finally {
        release();
      }
    }),
  };
}
