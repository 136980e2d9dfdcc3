import { trace } from '@opentelemetry/api';

/**
 * pino `mixin`: the active span's ids on every log line, so a line leads to its trace
 * (`pino({ mixin: traceMixin })`). Empty outside a span.
 */
export function traceMixin(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
