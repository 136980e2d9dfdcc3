import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Database } from '@testbed/kit';

/**
 * stats talks SQL to its own schema: its sample and roll-up tables are partitioned (beyond
 * Prisma's schema language) and samples arrive by the ten thousand, which wants COPY (beyond
 * Prisma's client). On Postgres that is a connection of the kit's pool; on PGlite the instance.
 */
export interface SqlSession {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

export interface SqlTx extends SqlSession {
  /** Bulk insert: COPY on Postgres, one INSERT … SELECT FROM unnest(…) on PGlite. */
  copyRows(
    table: string,
    columns: readonly ColumnSpec[],
    rows: readonly (readonly unknown[])[],
  ): Promise<void>;
}

export interface StatsSql extends SqlSession {
  kind: 'postgres' | 'pglite';
  transaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T>;
}

/** A column of a bulk insert and its Postgres type (for PGlite's typed arrays). */
export interface ColumnSpec {
  name: string;
  type: 'int4' | 'int8' | 'float4' | 'timestamptz' | 'text';
}

/** COPY's text format: tab separated, `\N` for null; numbers and ISO times need no escaping. */
function copyText(rows: readonly (readonly unknown[])[]): string {
  let out = '';
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (i > 0) line += '\t';
      if (v === null || v === undefined) line += '\\N';
      else if (v instanceof Date) line += v.toISOString();
      else if (typeof v === 'string')
        line += v.replace(
          /[\\\t\n\r]/g,
          (c) => `\\${c === '\t' ? 't' : c === '\n' ? 'n' : c === '\r' ? 'r' : '\\'}`,
        );
      else line += String(v);
    }
    out += line + '\n';
  }
  return out;
}

function postgresTx(client: PoolClient): SqlTx {
  return {
    async query<T>(text: string, params?: unknown[]) {
      return (await client.query(text, params)).rows as T[];
    },
    async copyRows(table, columns, rows) {
      if (rows.length === 0) return;
      const sql = `COPY ${table} (${columns.map((c) => `"${c.name}"`).join(', ')}) FROM STDIN`;
      await pipeline(Readable.from([copyText(rows)]), client.query(copyFrom(sql)));
    },
  };
}

function postgresSql(db: Database): StatsSql {
  const pool = db.pgPool;
  if (!pool) throw new Error('a postgres Database without its pool');
  return {
    kind: 'postgres',
    async query<T>(text: string, params?: unknown[]) {
      return (await pool.query(text, params)).rows as T[];
    },
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(postgresTx(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

type PgliteQuery = { query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }> };

function pgliteTx(tx: PgliteQuery): SqlTx {
  return {
    async query<T>(text: string, params?: unknown[]) {
      return (await tx.query<T>(text, params)).rows;
    },
    async copyRows(table, columns, rows) {
      if (rows.length === 0) return;
      const arrays = columns.map((_, i) => rows.map((r) => r[i] ?? null));
      const list = columns.map((c) => `"${c.name}"`).join(', ');
      const unnest = columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
      await tx.query(`INSERT INTO ${table} (${list}) SELECT * FROM unnest(${unnest})`, arrays);
    },
  };
}

function pgliteSql(db: Database): StatsSql {
  const pglite = db.pglite;
  if (!pglite) throw new Error('a pglite Database without its instance');
  return {
    kind: 'pglite',
    async query<T>(text: string, params?: unknown[]) {
      return (await pglite.query<T>(text, params)).rows;
    },
    transaction: (work) => pglite.transaction((tx) => work(pgliteTx(tx as unknown as PgliteQuery))),
  };
}

export function statsSql(db: Database): StatsSql {
  return db.kind === 'postgres' ? postgresSql(db) : pgliteSql(db);
}
