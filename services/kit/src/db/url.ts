import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnvFile } from '../config/load-config';

/** Where a database URL points: a Postgres server, or PGlite in a folder or in memory. */
export type DatabaseTarget =
  | { kind: 'postgres'; url: string }
  | { kind: 'pglite'; dataDir: string | undefined /* undefined: in memory */ };

/**
 * `postgres://…` / `postgresql://…`, or `pglite://<folder>` (relative to the working directory, or
 * absolute as in `pglite:///var/lib/testbed/pglite`) / `pglite://memory`.
 */
export function parseDatabaseUrl(url: string, cwd = process.cwd()): DatabaseTarget {
  if (/^postgres(ql)?:\/\/./.test(url)) return { kind: 'postgres', url };
  const m = /^pglite:\/\/(.+)$/.exec(url);
  if (m?.[1]) {
    const where = decodeURIComponent(m[1]);
    if (where === 'memory') return { kind: 'pglite', dataDir: undefined };
    return { kind: 'pglite', dataDir: path.resolve(cwd, where) };
  }
  throw new Error('database URL must be postgres://…, postgresql://…, pglite://<folder> or pglite://memory');
}

/**
 * DATABASE_URL for the command-line tools and tests: the environment first, then the local
 * rig's `deploy/local/.env` (written by `npm run stack:up`). Undefined when neither has one.
 */
export function resolveDatabaseUrl(opts: { env?: NodeJS.ProcessEnv; repoRoot: string }): string | undefined {
  const env = opts.env ?? process.env;
  if (env.DATABASE_URL) return env.DATABASE_URL;
  const file = path.join(opts.repoRoot, 'deploy', 'local', '.env');
  if (!existsSync(file)) return undefined;
  return parseEnvFile(readFileSync(file, 'utf8')).DATABASE_URL || undefined;
}

/** Same URL with the database name (path) replaced, e.g. to reach `postgres` or a test database. */
export function withDatabaseName(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
