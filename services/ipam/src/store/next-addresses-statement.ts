import {
  auditInsertOf,
  boundedAuditEntry,
  cloudEventSql,
  outboxInsertOf,
  Prisma,
  type DbClient,
  type EventHeaders,
  type Ipv4,
  type NewAuditEntry,
} from '@testbed/kit';
import type { Pool } from '../domain/pool';
import { lowestFree } from './allocation-store';
import { toRow } from './pool-store';

/** One request for the next free address, with what its event and its audit entry carry. */
export interface NextAddressRequest {
  owner: string;
  heldUntil: Date;
  eventId: string;
  traceHeaders: EventHeaders;
  /** Its audit entry but for the target, which is the address it gets; absent: none is written. */
  audit?: NewAuditEntry;
}

export interface TakenAddress {
  /** The request's index in the list given. */
  index: number;
  ip: string;
  createdAt: Date;
}

export interface AllocatedEvent {
  source: string;
  topic: string;
  type: string;
  time: Date;
}

/**
 * Serves requests for one next free address each in ONE statement, no transaction around it:
 * it checks the pool is still the one the caller knows, takes the lowest free addresses (the
 * database walks the unique index), inserts them, and writes each request's `ipam.allocated`
 * event to the outbox and its audit entry, all committing together. It takes no lock: an address
 * another writer inserted meanwhile is skipped by the unique key (ON CONFLICT DO NOTHING) and the
 * request it would have served is simply not in the answer, nor is one past the end of the range.
 * The caller serves those another way.
 */
export async function takeNextAddresses(
  db: Pick<DbClient, '$queryRaw'>,
  pool: Pool,
  reserved: readonly Ipv4[],
  requests: readonly NextAddressRequest[],
  event: AllocatedEvent,
): Promise<TakenAddress[]> {
  if (requests.length === 0) return [];
  const def = toRow(pool);
  const col = <T>(f: (r: NextAddressRequest, a: NewAuditEntry | undefined) => T) =>
    requests.map((r) => f(r, r.audit && boundedAuditEntry(r.audit)));
  const eventData = Prisma.sql`jsonb_build_object('requestId', NULL::text, 'pool', ${pool.name}::text,
    'owner', got.owner, 'items', jsonb_build_array(jsonb_build_object('ip', got.ip, 'state', 'held',
    'heldUntil', got.held_until)))`;
  const rows = await db.$queryRaw<{ k: bigint | number; ip: string; created_at: Date }[]>`
    WITH def AS (
      SELECT 1 FROM ipam.pool
      WHERE name = ${def.name} AND cidr = ${def.cidr} AND range_start = ${def.rangeStart}
        AND range_end = ${def.rangeEnd} AND gateway IS NOT DISTINCT FROM ${def.gateway}::text
        AND exclude = ${def.exclude}::text[] AND segment = ${def.segment}
    ), free AS (${lowestFree(pool, reserved, requests.length, Prisma.sql`def`)}), req AS (
      SELECT * FROM unnest(
        ${col((r) => r.owner)}::text[],
        ${col((r) => r.heldUntil.toISOString())}::text[],
        ${col((r) => r.eventId)}::uuid[],
        ${col((r) => JSON.stringify(r.traceHeaders))}::jsonb[],
        ${col((_, a) => a !== undefined)}::boolean[],
        ${col((_, a) => a?.source ?? null)}::text[],
        ${col((_, a) => a?.actor ?? null)}::text[],
        ${col((_, a) => a?.role ?? null)}::text[],
        ${col((_, a) => a?.tokenId ?? null)}::text[],
        ${col((_, a) => a?.action ?? null)}::text[],
        ${col((_, a) => a?.targetType ?? null)}::text[],
        ${col((_, a) => a?.sourceIp ?? null)}::text[],
        ${col((_, a) => a?.userAgent ?? null)}::text[],
        ${col((_, a) => a?.requestId ?? null)}::text[],
        ${col((_, a) => a?.traceId ?? null)}::text[]
      ) WITH ORDINALITY AS r(owner, held_until, event_id, headers, audited, audit_source, actor, role,
        token_id, action, target_type, source_ip, user_agent, http_request_id, trace_id, k)
    ), ins AS (
      INSERT INTO ipam.allocation (pool, segment, ip_num, ip, owner, state, held_until, updated_at)
      SELECT ${pool.name}, ${pool.segment}, free.n, host('0.0.0.0'::inet + free.n), req.owner,
        'held'::ipam.allocation_state, req.held_until::timestamptz, now()
      FROM free JOIN req USING (k)
      ON CONFLICT (segment, ip_num) DO NOTHING
      RETURNING ip_num, ip, created_at
    ), got AS (
      SELECT req.*, ins.ip, ins.created_at FROM ins JOIN free ON free.n = ins.ip_num JOIN req ON req.k = free.k
    ), ev AS (
      ${outboxInsertOf(Prisma.sql`SELECT got.event_id, ${event.source}::text, ${event.topic}::text, ${pool.name}::text,
        ${cloudEventSql({ id: Prisma.sql`got.event_id`, source: event.source, type: event.type, time: event.time, subject: Prisma.sql`${pool.name}::text`, data: eventData })},
        got.headers FROM got`)}
    ), au AS (
      ${auditInsertOf(Prisma.sql`SELECT now(), got.audit_source, got.actor, got.role, got.token_id, got.action,
        got.target_type, got.ip, 'succeeded', NULL::integer, NULL::text, got.source_ip, got.user_agent,
        got.http_request_id, got.trace_id, true, jsonb_build_object('pool', ${pool.name}::text, 'ips', jsonb_build_array(got.ip))
        FROM got WHERE got.audited`)}
    )
    SELECT got.k, got.ip, got.created_at FROM got ORDER BY got.k`;
  return rows.map((r) => ({ index: Number(r.k) - 1, ip: r.ip, createdAt: r.created_at }));
}
