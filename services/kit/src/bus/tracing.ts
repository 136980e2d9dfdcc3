import { SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { contextFromHeaders, withTraceHeaders } from './trace-context';
import type { EventHeaders } from './types';

// Only the API here: the host's telemetry setup decides whether these spans go anywhere. Fetched
// per span, not at import: a tracer taken before the provider is (re)registered may stay no-op.
const tracer = () => trace.getTracer('@testbed/kit/bus');

export interface PublishSpan {
  span: Span;
  /** The message's headers, carrying this span as the consumers' parent. */
  headers: EventHeaders;
}

/** `<topic> publish` (PRODUCER), child of the trace stored with the outbox row. */
export function startPublishSpan(
  msg: { topic: string; id: string; key: string; headers: EventHeaders },
  system: string,
): PublishSpan {
  const parent = contextFromHeaders(msg.headers);
  const span = tracer().startSpan(
    `${msg.topic} publish`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': system,
        'messaging.operation.type': 'send',
        'messaging.destination.name': msg.topic,
        'messaging.message.id': msg.id,
        'messaging.kafka.message.key': msg.key,
      },
    },
    parent,
  );
  return { span, headers: withTraceHeaders(msg.headers, trace.setSpan(parent, span)) };
}

/** `<topic> process` (CONSUMER), child of the producer span named by the message headers. */
export function startProcessSpan(
  topic: string,
  consumer: string,
  headers: EventHeaders,
  system: string,
): { span: Span; ctx: Context } {
  const parent = contextFromHeaders(headers);
  const span = tracer().startSpan(
    `${topic} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': system,
        'messaging.operation.type': 'process',
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': consumer,
      },
    },
    parent,
  );
  return { span, ctx: trace.setSpan(parent, span) };
}

export function failSpan(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}
