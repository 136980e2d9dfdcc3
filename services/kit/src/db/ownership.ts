import type { Database, DbClient } from './database';

/**
 * Every Postgres schema of the platform: the kit's three, and one per service (STYLE 11: each
 * table has one owner). `stats`, `audit` and `ratelimit` are raw SQL (their own migrations), the
 * others are Prisma models.
 *
 * The kit schemas are written for every service, but differently: `bus` and `audit` inside the
 * service's own transactions (the outbox row and the audit entry commit with the change), so a
 * service's scoped database may name them; `ratelimit` only by the host's router and prune task,
 * through the host's database, so no service needs it and a scoped database refuses it like
 * another service's schema.
 */
export const PLATFORM_SCHEMAS = [
  'bus',
  'audit',
  'ipam',
  'quota',
  'provisioning',
  'stats',
  'ratelimit',
] as const;

/** The kit's schemas a service writes inside its own transactions. */
const SHARED_SCHEMAS = ['bus', 'audit'];

/** A query that reaches into a schema its service does not own. */
export class TableOwnershipError extends Error {
  override readonly name = 'TableOwnershipError';
  readonly retriable = false;
  constructor(owner: string, what: string) {
    super(`${owner} may use only its own schema, bus and audit: ${what}`);
  }
}

type RawArgs = unknown[];

/** The SQL text of a raw query's first argument: a tagged template, Prisma.sql, a string or pg's `{ text }`. */
function sqlTextOf(first: unknown): string {
  if (typeof first === 'string') return first;
  if (Array.isArray(first)) return first.join(' ');
  const o = first as { strings?: readonly string[]; sql?: string; text?: string } | null;
  if (o?.strings) return o.strings.join(' ');
  return o?.text ?? o?.sql ?? '';
}

/** The platform schemas a SQL text names (`schema.table`, quoted or not), literals and comments aside. */
export function schemasNamedIn(sql: string): Set<string> {
  const code = sql
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/--[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '');
  const out = new Set<string>();
  const known = new Set<string>(PLATFORM_SCHEMAS);
  for (const m of code.matchAll(/(?:"([A-Za-z_][\w$]*)"|\b([A-Za-z_][\w$]*))\s*\.\s*(?:"|[A-Za-z_*])/g)) {
    const name = (m[1] ?? m[2] ?? '').toLowerCase();
    if (known.has(name)) out.add(name);
  }
  return out;
}

interface Scope {
  owner: string;
  allowed: Set<string>;
  /** Prisma delegate name (`container`) → the schema of its model. */
  delegates: Map<string, string>;
}

function checkSql(scope: Scope, args: RawArgs): void {
  for (const schema of schemasNamedIn(sqlTextOf(args[0]))) {
    if (!scope.allowed.has(schema))
      throw new TableOwnershipError(scope.owner, `a query names schema '${schema}'`);
  }
}

const RAW = new Set(['$queryRaw', '$executeRaw', '$queryRawUnsafe', '$executeRawUnsafe']);

/** A Prisma client or transaction that refuses other schemas' models and raw SQL naming them. */
function scopedPrisma<C extends object>(client: C, scope: Scope): C {
  return new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof prop !== 'string') return value;
      const schema = scope.delegates.get(prop);
      if (schema !== undefined && !scope.allowed.has(schema))
        throw new TableOwnershipError(scope.owner, `model '${prop}' belongs to schema '${schema}'`);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (RAW.has(prop))
        return (...args: RawArgs) => {
          checkSql(scope, args);
          return fn.apply(target, args);
        };
      if (prop === '$transaction')
        return (first: unknown, ...rest: unknown[]) =>
          typeof first === 'function'
            ? fn.call(
                target,
                (tx: object) => (first as (tx: object) => unknown)(scopedPrisma(tx, scope)),
                ...rest,
              )
            : fn.call(target, first, ...rest);
      return fn.bind(target);
    },
  });
}

/** pg's Pool / PoolClient and PGlite: their `query`/`exec` check the SQL, what they hand out is scoped too. */
function scopedDriver<D extends object>(driver: D, scope: Scope): D {
  return new Proxy(driver, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === 'query' || prop === 'exec')
        return (...args: RawArgs) => {
          checkSql(scope, args);
          return fn.apply(target, args);
        };
      if (prop === 'connect')
        return async (...args: unknown[]) => {
          const client = (await fn.apply(target, args)) as object | undefined;
          return client && typeof client === 'object' ? scopedDriver(client, scope) : client;
        };
      if (prop === 'transaction')
        return (work: (tx: object) => unknown, ...rest: unknown[]) =>
          fn.call(target, (tx: object) => work(scopedDriver(tx, scope)), ...rest);
      return fn.bind(target);
    },
  });
}

function delegatesOf(prisma: DbClient): Map<string, string> {
  const models =
    (prisma as unknown as { _runtimeDataModel?: { models?: Record<string, { schema?: string }> } })
      ._runtimeDataModel?.models ?? {};
  return new Map(
    Object.entries(models).map(([name, m]) => [name.charAt(0).toLowerCase() + name.slice(1), m.schema ?? '']),
  );
}

/**
 * The database as one service sees it: its own schema and the bus's, nothing else. Other schemas'
 * models throw on access, and raw SQL naming them (Prisma's raw queries, the pg pool, PGlite)
 * throws before it is sent. The connection itself is shared with whatever else the host runs.
 */
export function scopeDatabase(db: Database, owner: string): Database {
  const scope: Scope = {
    owner,
    allowed: new Set([owner, ...SHARED_SCHEMAS]),
    delegates: delegatesOf(db.prisma),
  };
  return {
    ...db,
    kind: db.kind,
    url: db.url,
    prisma: scopedPrisma(db.prisma, scope),
    ...(db.pglite ? { pglite: scopedDriver(db.pglite, scope) } : {}),
    ...(db.pgPool ? { pgPool: scopedDriver(db.pgPool, scope) } : {}),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}

/** A transaction handed to a service's bus handler, scoped like its database. */
export function scopeTransaction<T extends object>(db: Database, tx: T, owner: string): T {
  return scopedPrisma(tx, {
    owner,
    allowed: new Set([owner, ...SHARED_SCHEMAS]),
    delegates: delegatesOf(db.prisma),
  });
}
