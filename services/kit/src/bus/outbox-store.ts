import { Prisma } from '../db/generated/client';
import type { EventHeaders, TxClient } from './types';
import { noteOutboxWrite } from './outbox-writes';

/** SQL of `bus.outbox`. The relay's reads order by `seq`: the order events were written. */

type Sql = Pick<TxClient, '$executeRaw' | '$queryRaw'>;
type Exec = Pick<TxClient, '$executeRaw'>;

export interface OutboxRow {
  seq: bigint;
  id: string;
  source: string;
  topic: string;
  key: string;
  event: unknown;
  headers: EventHeaders;
  attempts: number;
  /** When the row was written (the database's clock). */
  createdAt: Date;
}

export interface NewOutboxRow {
  id: string;
  source: string;
  topic: string;
  key: string;
  event: unknown;
  headers: EventHeaders;
}

export async function insertOutboxRow(tx: Exec, row: NewOutboxRow): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO bus.outbox (id, source, topic, key, event, headers)
    VALUES (${row.id}::uuid, ${row.source}, ${row.topic}, ${row.key}, ${JSON.stringify(row.event)}::jsonb, ${JSON.stringify(row.headers)}::jsonb)`;
  noteOutboxWrite();
}

/** Several rows in one statement (a combined transaction's events), in the given order. */
export async function insertOutboxRows(tx: Exec, rows: readonly NewOutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO bus.outbox (id, source, topic, key, event, headers)
    VALUES ${Prisma.join(
      rows.map(
        (row) =>
          Prisma.sql`(${row.id}::uuid, ${row.source}, ${row.topic}, ${row.key}, ${JSON.stringify(row.event)}::jsonb, ${JSON.stringify(row.headers)}::jsonb)`,
      ),
    )}`;
  noteOutboxWrite();
}

/**
 * `INSERT INTO bus.outbox` of the rows `select` yields, as (id uuid, source, topic, key, event
 * jsonb, headers jsonb): for a statement that writes its events together with the change they
 * announce (a data-modifying CTE), so both take one round trip and commit as one.
 */
export function outboxInsertOf(select: Prisma.Sql): Prisma.Sql {
  // Made to be run at once: the relays' next pass comes soon after (a note only shortens a wait).
  queueMicrotask(noteOutboxWrite);
  return Prisma.sql`INSERT INTO bus.outbox (id, source, topic, key, event, headers) ${select}`;
}

/** For rows with a deterministic id (dead letters): a second write of the same row is a no-op. */
export async function insertOutboxRowOnce(tx: Exec, row: NewOutboxRow): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO bus.outbox (id, source, topic, key, event, headers)
    VALUES (${row.id}::uuid, ${row.source}, ${row.topic}, ${row.key}, ${JSON.stringify(row.event)}::jsonb, ${JSON.stringify(row.headers)}::jsonb)
    ON CONFLICT (id) DO NOTHING`;
  noteOutboxWrite();
}

function sourceFilter(sources: string[] | undefined): Prisma.Sql {
  return sources?.length ? Prisma.sql`AND source IN (${Prisma.join(sources)})` : Prisma.empty;
}

interface RawRow {
  seq: bigint | number | string;
  id: string;
  source: string;
  topic: string;
  key: string;
  event: unknown;
  headers: unknown;
  attempts: number;
  created_at: Date;
}

function toRow(r: RawRow): OutboxRow {
  return {
    seq: BigInt(r.seq),
    id: r.id,
    source: r.source,
    topic: r.topic,
    key: r.key,
    event: typeof r.event === 'string' ? JSON.parse(r.event) : r.event,
    headers: toHeaders(typeof r.headers === 'string' ? JSON.parse(r.headers) : r.headers),
    attempts: Number(r.attempts),
    createdAt: new Date(r.created_at),
  };
}

function toHeaders(value: unknown): EventHeaders {
  const out: EventHeaders = {};
  if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Locks the oldest unpublished rows for this transaction. SKIP LOCKED lets several relays run at
 * once on Postgres without publishing the same rows: each takes rows the others do not hold.
 */
export async function claimUnpublished(tx: Sql, batchSize: number, sources?: string[]): Promise<OutboxRow[]> {
  const rows = await tx.$queryRaw<RawRow[]>`
    SELECT seq, id::text AS id, source, topic, key, event, headers, attempts, created_at
    FROM bus.outbox
    WHERE published_at IS NULL ${sourceFilter(sources)}
    ORDER BY seq
    LIMIT ${batchSize}
    FOR UPDATE SKIP LOCKED`;
  return rows.map(toRow);
}

/** The oldest unpublished rows, no lock (PGlite: one connection, one relay). */
export async function readUnpublished(db: Sql, batchSize: number, sources?: string[]): Promise<OutboxRow[]> {
  const rows = await db.$queryRaw<RawRow[]>`
    SELECT seq, id::text AS id, source, topic, key, event, headers, attempts, created_at
    FROM bus.outbox
    WHERE published_at IS NULL ${sourceFilter(sources)}
    ORDER BY seq
    LIMIT ${batchSize}`;
  return rows.map(toRow);
}

/**
 * `(topic, key)` pairs with an unpublished row older than the newest claimed one that this
 * relay did not claim: another relay holds it, or its transaction committed after our read.
 * Publishing our later rows of those keys now would overtake it, so they wait for a later pass.
 */
export async function keysHeldElsewhere(
  tx: Sql,
  claimed: OutboxRow[],
  sources?: string[],
): Promise<Set<string>> {
  if (claimed.length === 0) return new Set();
  const maxSeq = claimed.reduce((m, r) => (r.seq > m ? r.seq : m), 0n);
  const rows = await tx.$queryRaw<{ topic: string; key: string }[]>`
    SELECT DISTINCT topic, key FROM bus.outbox
    WHERE published_at IS NULL ${sourceFilter(sources)}
      AND seq < ${maxSeq.toString()}::bigint
      AND seq NOT IN (${Prisma.join(claimed.map((r) => Prisma.sql`${r.seq.toString()}::bigint`))})`;
  return new Set(rows.map((r) => orderingKey(r.topic, r.key)));
}

export function orderingKey(topic: string, key: string): string {
  return `${topic}\u0000${key}`;
}

export async function markPublished(db: Sql, seqs: bigint[]): Promise<void> {
  if (seqs.length === 0) return;
  await db.$executeRaw`
    UPDATE bus.outbox SET published_at = now(), attempts = attempts + 1
    WHERE seq IN (${Prisma.join(seqs.map((s) => Prisma.sql`${s.toString()}::bigint`))})`;
}

/** Keeps the failure on the rows (operators see why the backlog grows); they stay unpublished. */
export async function recordPublishFailure(db: Sql, seqs: bigint[], error: string): Promise<void> {
  if (seqs.length === 0) return;
  await db.$executeRaw`
    UPDATE bus.outbox SET attempts = attempts + 1, last_error = ${error.slice(0, 2000)}
    WHERE seq IN (${Prisma.join(seqs.map((s) => Prisma.sql`${s.toString()}::bigint`))})`;
}

export async function countUnpublished(db: Sql): Promise<number> {
  const rows = await db.$queryRaw<
    { n: bigint | number }[]
  >`SELECT count(*) AS n FROM bus.outbox WHERE published_at IS NULL`;
  return Number(rows[0]?.n ?? 0);
}
