import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Context } from '@opentelemetry/api';
import { captureTraceHeaders, contextFromHeaders } from '../bus/trace-context';

// Only the API: the host's telemetry setup decides whether these spans go anywhere.
const tracer = () => trace.getTracer('@testbed/kit');

/** The active trace context as a W3C `traceparent`, to keep with work that runs later. */
export const activeTraceParent = (): string | undefined => captureTraceHeaders().traceparent;

/** The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`). */
export const traceIdOf = (traceParent: string | null | undefined): string | undefined =>
  traceParent?.split('-')[1];

/** The context a kept `traceparent` names (the root context without one). */
export const contextOfTraceParent = (traceParent: string | null | undefined): Context =>
  contextFromHeaders(traceParent ? { traceparent: traceParent } : {});

/**
 * Runs `work` in a span of its own (active inside it, so what it does are its children): ended
 * when the work settles, an error recorded on it and rethrown. `parent` defaults to the active
 * context.
 */
export function inSpan<T>(
  name: string,
  opts: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  work: () => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, ...(opts.attributes ? { attributes: opts.attributes } : {}) },
    parent,
  );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work();
    } catch (err) {
      markSpanFailed(err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Records a failure on the active span (the error's message as its status). */
export function markSpanFailed(err: unknown): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** Sets attributes on the active span, if there is one. */
export function annotateSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

export { SpanKind };
