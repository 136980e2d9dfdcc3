import type { IHeaders } from 'kafkajs';
import type { EventHeaders } from '../types';

/** Kafka headers are bytes, possibly repeated; the bus reads them as text, the last value winning. */
export function fromKafkaHeaders(headers: IHeaders | undefined): EventHeaders {
  const out: EventHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = Buffer.isBuffer(last) ? last.toString('utf8') : String(last);
  }
  return out;
}

export function toKafkaHeaders(headers: EventHeaders): IHeaders {
  return { ...headers };
}
