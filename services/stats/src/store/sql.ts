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

/** Microseconds between 1970-01-01 and 2000-01-01, the epoch of Postgres' binary timestamps. */
const PG_EPOCH_MS = 946_684_800_000;

/** A 64-bit integer from a JS number (exact below 2^53) without a BigInt per value. */
function writeInt8(buf: Buffer, at: number, v: number): void {
  if (v < 0) {
    buf.writeBigInt64BE(BigInt(v), at);
    return;
  }
  buf.writeUInt32BE(Math.floor(v / 4294967296), at);
  buf.writeUInt32BE(v % 4294967296, at + 4);
}

/**
 * COPY's binary format: no number or timestamp is printed and parsed again, which is most of
 * what COPY's text format costs the server on rows like samples. Big-endian fields, each with its
 * length (-1 for null), after a fixed header; a -1 field count ends it.
 */
export function copyBinary(columns: readonly ColumnSpec[], rows: readonly (readonly unknown[])[]): Buffer {
  let size = 19 + 2;
  for (const row of rows) {
    size += 2;
    for (let i = 0; i < columns.length; i++) {
      const v = row[i];
      const type = columns[i]!.type;
      size += 4;
      if (v === null || v === undefined) continue;
      size += type === 'int4' || type === 'float4' ? 4 : type === 'text' ? Buffer.byteLength(String(v)) : 8;
    }
  }
  const buf = Buffer.allocUnsafe(size);
  buf.write('PGCOPY\n\xff\r\n\0', 0, 'latin1');
  buf.writeInt32BE(0, 11);
  buf.writeInt32BE(0, 15);
  let at = 19;
  for (const row of rows) {
    buf.writeInt16BE(columns.length, at);
    at += 2;
    for (let i = 0; i < columns.length; i++) {
      const v = row[i];
      if (v === null || v === undefined) {
        buf.writeInt32BE(-1, at);
        at += 4;
        continue;
      }
      switch (columns[i]!.type) {
        case 'int4':
          buf.writeInt32BE(4, at);
          buf.writeInt32BE(v as number, at + 4);
          at += 8;
          break;
        case 'float4':
          buf.writeInt32BE(4, at);
          buf.writeFloatBE(v as number, at + 4);
          at += 8;
          break;
        case 'int8':
          buf.writeInt32BE(8, at);
          writeInt8(buf, at + 4, v as number);
          at += 12;
          break;
        case 'timestamptz': {
          const ms = v instanceof Date ? v.getTime() : (v as number);
          buf.writeInt32BE(8, at);
          writeInt8(buf, at + 4, (ms - PG_EPOCH_MS) * 1000);
          at += 12;
          break;
        }
        case 'text': {
          const n = buf.write(String(v), at + 4, 'utf8');
          buf.writeInt32BE(n, at);
          at += 4 + n;
          break;
        }
      }
    }
  }
  buf.writeInt16BE(-1, at);
  return buf;
}

function postgresTx(client: PoolClient): SqlTx {
  return {
    async query<T>(text: string, params?: unknown[]) {
      return (await client.query(text, params)).rows as T[];
    },
    async copyRows(table, columns, rows) {
      if (rows.length === 0) return;
      const sql = `COPY ${table} (${columns.map((c) => `"${c.name}"`).join(', ')}) FROM STDIN (FORMAT binary)`;
      await pipeline(Readable.from([copyBinary(columns, rows)]), client.query(copyFrom(sql)));
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
