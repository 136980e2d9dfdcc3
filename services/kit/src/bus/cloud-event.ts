import { z } from 'zod';

/** CloudEvents 1.0 in structured JSON mode: the whole envelope is the message value. */
export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  id: string;
  /** The emitting service (a URI-reference, e.g. `provisioning`). */
  source: string;
  type: string;
  /** RFC 3339. */
  time: string;
  /** The aggregate the event is about (operation id, pool name…). */
  subject?: string;
  datacontenttype: 'application/json';
  data: T;
}

/** Kafka `content-type` of a structured-mode CloudEvent. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

const cloudEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  time: z.string().min(1),
  subject: z.string().min(1).optional(),
  datacontenttype: z.literal('application/json'),
  data: z.unknown(),
});

/** Thrown for a message that is not a CloudEvent: no retry can fix it. */
export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
  readonly retriable = false;
}

/** Accepts a parsed value or JSON text/bytes; throws MalformedEventError with the reason. */
export function parseCloudEvent(value: unknown): CloudEvent<unknown> {
  let parsed = value;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      parsed = JSON.parse(value.toString());
    } catch (err) {
      throw new MalformedEventError(`not JSON: ${(err as Error).message}`);
    }
  }
  const result = cloudEventSchema.safeParse(parsed);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new MalformedEventError(`not a CloudEvent 1.0: ${issues}`);
  }
  // zod types an `unknown` member as optional; `data: null` and absent data both pass as events.
  return result.data as CloudEvent<unknown>;
}
