import { randomUUID } from 'node:crypto';
import type { CloudEvent } from './cloud-event';
import { insertOutboxRow } from './outbox-store';
import { captureTraceHeaders } from './trace-context';
import type { TxClient } from './types';

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

/**
 * The transactional outbox write: the event is inserted with the caller's transaction, so it is
 * published if and only if the state change it announces commits. The active trace context is
 * stored with it, so the relay's publish span (and every consumer after it) joins the caller's trace.
 */
export async function enqueueEvent<T>(
  tx: Pick<TxClient, '$executeRaw'>,
  input: EnqueueEventInput<T>,
): Promise<CloudEvent<T>> {
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
  await insertOutboxRow(tx, {
    id,
    source: input.source,
    topic: input.topic,
    key: input.key,
    event,
    headers: captureTraceHeaders(),
  });
  return event;
}
