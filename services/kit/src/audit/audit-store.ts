import { Prisma } from '../db/generated/client';
import type { DbTransaction } from '../db/database';

/**
 * SQL of `audit.entry`. The table is the kit's (see PLATFORM_SCHEMAS): services write it inside
 * their own transactions, as they write `bus.outbox`; the router writes what no transaction holds.
 */

export type AuditResult = 'accepted' | 'succeeded' | 'refused' | 'failed';

export interface NewAuditEntry {
  source: string;
  actor: string;
  role: string;
  tokenId?: string;
  action: string;
  targetType: string;
  targetId?: string;
  result: AuditResult;
  status?: number;
  reason?: string;
  sourceIp?: string;
  userAgent?: string;
  requestId?: string;
  traceId?: string;
  inTransaction: boolean;
  details?: Record<string, unknown>;
  at?: Date;
}

export interface AuditEntry extends Omit<NewAuditEntry, 'at' | 'details'> {
  seq: number;
  at: Date;
  details: Record<string, unknown>;
}

type Exec = Pick<DbTransaction, '$executeRaw'>;
type Query = Pick<DbTransaction, '$queryRaw'>;

// Free text from clients (user agents, reasons) is bounded: the log is not a place to store blobs.
const clip = (s: string | undefined, max: number) => (s === undefined ? null : s.slice(0, max));

/** The entry with its free text bounded as the table keeps it. */
export function boundedAuditEntry(e: NewAuditEntry): NewAuditEntry {
  const bounded = (s: string | undefined, max: number) => (s === undefined ? undefined : s.slice(0, max));
  return {
    ...e,
    targetId: bounded(e.targetId, 256),
    reason: bounded(e.reason, 1000),
    sourceIp: bounded(e.sourceIp, 64),
    userAgent: bounded(e.userAgent, 256),
    requestId: bounded(e.requestId, 128),
  };
}

export async function insertAuditEntry(tx: Exec, e: NewAuditEntry): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO audit.entry (at, source, actor, role, token_id, action, target_type, target_id,
      result, status, reason, source_ip, user_agent, request_id, trace_id, in_transaction, details)
    VALUES (${e.at ?? new Date()}, ${e.source}, ${e.actor}, ${e.role}, ${e.tokenId ?? null},
      ${e.action}, ${e.targetType}, ${clip(e.targetId, 256)}, ${e.result}, ${e.status ?? null},
      ${clip(e.reason, 1000)}, ${clip(e.sourceIp, 64)}, ${clip(e.userAgent, 256)},
      ${clip(e.requestId, 128)}, ${e.traceId ?? null}, ${e.inTransaction},
      ${JSON.stringify(e.details ?? {})}::jsonb)`;
}

/** Several entries in one statement (a transaction that serves several requests at once). */
export async function insertAuditEntries(tx: Exec, entries: readonly NewAuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO audit.entry (at, source, actor, role, token_id, action, target_type, target_id,
      result, status, reason, source_ip, user_agent, request_id, trace_id, in_transaction, details)
    VALUES ${Prisma.join(
      entries.map(
        (e) => Prisma.sql`(${e.at ?? new Date()}, ${e.source}, ${e.actor}, ${e.role}, ${e.tokenId ?? null},
      ${e.action}, ${e.targetType}, ${clip(e.targetId, 256)}, ${e.result}, ${e.status ?? null},
      ${clip(e.reason, 1000)}, ${clip(e.sourceIp, 64)}, ${clip(e.userAgent, 256)},
      ${clip(e.requestId, 128)}, ${e.traceId ?? null}, ${e.inTransaction},
      ${JSON.stringify(e.details ?? {})}::jsonb)`,
      ),
    )}`;
}

/**
 * `INSERT INTO audit.entry` of the rows `select` yields, as (at, source, actor, role, token_id,
 * action, target_type, target_id, result, status, reason, source_ip, user_agent, request_id,
 * trace_id, in_transaction, details jsonb): for a statement that records a change together with
 * making it (a data-modifying CTE).
 */
export function auditInsertOf(select: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`INSERT INTO audit.entry (at, source, actor, role, token_id, action, target_type,
    target_id, result, status, reason, source_ip, user_agent, request_id, trace_id, in_transaction, details)
    ${select}`;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  result?: AuditResult;
  from?: Date;
  to?: Date;
  /** Entries of one operation (`details.operation`): its start and its end. */
  operation?: string;
  /**
   * One resource's history: entries naming it, and those of the operations that made or changed
   * it (a batch's create names the batch, the container is one of its members).
   */
  history?: { targetType: string; targetId: string; operations: string[] };
  /** Entries after this seq (ascending pages) or before it (descending). */
  afterSeq?: number;
}

interface RawEntry {
  seq: bigint | number | string;
  at: Date;
  source: string;
  actor: string;
  role: string;
  token_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  result: AuditResult;
  status: number | null;
  reason: string | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  trace_id: string | null;
  in_transaction: boolean;
  details: unknown;
}

const optional = <K extends string, V>(key: K, v: V | null): { [P in K]?: V } =>
  (v === null ? {} : { [key]: v }) as { [P in K]?: V };

function entryOf(r: RawEntry): AuditEntry {
  return {
    seq: Number(r.seq),
    at: new Date(r.at),
    source: r.source,
    actor: r.actor,
    role: r.role,
    ...optional('tokenId', r.token_id),
    action: r.action,
    targetType: r.target_type,
    ...optional('targetId', r.target_id),
    result: r.result,
    ...optional('status', r.status),
    ...optional('reason', r.reason),
    ...optional('sourceIp', r.source_ip),
    ...optional('userAgent', r.user_agent),
    ...optional('requestId', r.request_id),
    ...optional('traceId', r.trace_id),
    inTransaction: r.in_transaction,
    details: (typeof r.details === 'string' ? JSON.parse(r.details) : (r.details ?? {})) as Record<
      string,
      unknown
    >,
  };
}

/** Entries matching the filter in the order asked (`desc`: newest first), at most `limit`. */
export async function listAuditEntries(
  db: Query,
  filter: AuditFilter,
  order: 'asc' | 'desc',
  limit: number,
): Promise<AuditEntry[]> {
  const where: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (filter.actor !== undefined) where.push(Prisma.sql`actor = ${filter.actor}`);
  if (filter.action !== undefined) where.push(Prisma.sql`action = ${filter.action}`);
  if (filter.targetType !== undefined) where.push(Prisma.sql`target_type = ${filter.targetType}`);
  if (filter.targetId !== undefined) where.push(Prisma.sql`target_id = ${filter.targetId}`);
  if (filter.result !== undefined) where.push(Prisma.sql`result = ${filter.result}`);
  if (filter.from !== undefined) where.push(Prisma.sql`at >= ${filter.from}`);
  if (filter.to !== undefined) where.push(Prisma.sql`at < ${filter.to}`);
  if (filter.operation !== undefined) where.push(Prisma.sql`details->>'operation' = ${filter.operation}`);
  const h = filter.history;
  if (h) {
    const named = Prisma.sql`(target_type = ${h.targetType} AND target_id = ${h.targetId})`;
    const ops = Prisma.sql`details->>'operation' IN (
      SELECT o.details->>'operation' FROM audit.entry o
      WHERE o.target_type = ${h.targetType} AND o.target_id = ${h.targetId} AND o.details ? 'operation'
      ${h.operations.length ? Prisma.sql`UNION SELECT unnest(${h.operations}::text[])` : Prisma.empty})`;
    where.push(Prisma.sql`(${named} OR ${ops})`);
  }
  if (filter.afterSeq !== undefined)
    where.push(order === 'asc' ? Prisma.sql`seq > ${filter.afterSeq}` : Prisma.sql`seq < ${filter.afterSeq}`);
  const rows = await db.$queryRaw<RawEntry[]>`
    SELECT seq, at, source, actor, role, token_id, action, target_type, target_id, result, status,
      reason, source_ip, user_agent, request_id, trace_id, in_transaction, details
    FROM audit.entry WHERE ${Prisma.join(where, ' AND ')}
    ORDER BY seq ${order === 'asc' ? Prisma.sql`ASC` : Prisma.sql`DESC`} LIMIT ${limit}`;
  return rows.map(entryOf);
}
