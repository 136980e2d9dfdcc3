import { randomUUID } from 'node:crypto';
import type { CloudEvent } from './cloud-event';
import { Prisma } from '../db/generated/client';
import { insertOutboxRow, insertOutboxRows, type NewOutboxRow } from './outbox-store';
import { captureTraceHeaders } from './trace-context';
import type { EventHeaders, TxClient } from './types';

export interface EnqueueEventInput<T> {
  /** The emitting service (CloudEvents `source`; the relay can be limited to some sources). */
  source: string;
  topic: string;
  /** The aggregate id: events of one key keep their order. */
  key: string;
  type: string;
  subject?: string;
  data: T;
  /** A UUID; a fresh one when absent (pass one from an injected id source in tests). */
  id?: string;
  /** Event time; now when absent (pass the injected clock's now). */
  time?: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function outboxRowOf<T>(
  input: EnqueueEventInput<T>,
  headers: EventHeaders,
): { event: CloudEvent<T>; row: NewOutboxRow } {
  const id = input.id ?? randomUUID();
  if (!UUID.test(id)) throw new TypeError(`event id must be a UUID, got ${JSON.stringify(id)}`);
  for (const field of ['source', 'topic', 'key', 'type'] as const) {
    if (typeof input[field] !== 'string' || input[field].length === 0)
      throw new TypeError(`event ${field} must be a non-empty string`);
  }
  if (input.data === undefined) throw new TypeError('event data must be JSON (null rather than undefined)');
  const event: CloudEvent<T> = {
    specversion: '1.0',
    id,
    source: input.source,
    type: input.type,
    time: (input.time ?? new Date()).toISOString(),
    ...(input.subject !== undefined ? { subject: input.subject } : {}),
    datacontenttype: 'application/json',
    data: input.data,
  };
  return { event, row: { id, source: input.source, topic: input.topic, key: input.key, event, headers } };
}

/**
 * The transactional outbox write: the event is inserted with the caller's transaction, so it is
 * published if and only if the state change it announces commits. The active trace context is
 * stored with it, so the relay's publish span (and every consumer after it) joins the caller's trace.
 */
export async function enqueueEvent<T>(
  tx: Pick<TxClient, '$executeRaw'>,
  input: EnqueueEventInput<T>,
): Promise<CloudEvent<T>> {
  const { event, row } = outboxRowOf(input, captureTraceHeaders());
  await insertOutboxRow(tx, row);
  return event;
}

/**
 * Several events in one statement, each with the trace headers of the request it announces (a
 * transaction that serves several requests at once is in none of their traces alone).
 */
export async function enqueueEvents<T>(
  tx: Pick<TxClient, '$executeRaw'>,
  inputs: readonly (EnqueueEventInput<T> & { traceHeaders: EventHeaders })[],
): Promise<CloudEvent<T>[]> {
  const built = inputs.map(({ traceHeaders, ...input }) => outboxRowOf(input, traceHeaders));
  await insertOutboxRows(
    tx,
    built.map((b) => b.row),
  );
  return built.map((b) => b.event);
}

/**
 * The CloudEvent of `enqueueEvent` as a jsonb expression, for events made inside a SQL statement
 * (see outboxInsertOf): `id`, `subject` and `data` are expressions over the statement's rows.
 */
export function cloudEventSql(parts: {
  id: Prisma.Sql;
  source: string;
  type: string;
  time: Date;
  subject: Prisma.Sql;
  data: Prisma.Sql;
}): Prisma.Sql {
  return Prisma.sql`jsonb_build_object('specversion', '1.0', 'id', (${parts.id})::text,
    'source', ${parts.source}::text, 'type', ${parts.type}::text, 'time', ${parts.time.toISOString()}::text,
    'subject', ${parts.subject}, 'datacontenttype', 'application/json', 'data', ${parts.data})`;
}
