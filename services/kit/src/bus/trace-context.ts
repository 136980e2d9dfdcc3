import { ROOT_CONTEXT, context, propagation, type Context } from '@opentelemetry/api';
import { ensureTraceContextPropagator } from '../telemetry/propagation';
import type { EventHeaders } from './types';

/** The active (or given) trace context as W3C `traceparent`/`tracestate` headers. */
export function captureTraceHeaders(ctx: Context = context.active()): EventHeaders {
  // Without a registered propagator `inject` writes nothing and the trace would end at the outbox;
  // startTelemetry installs W3C trace context, and this covers a host that set up none.
  ensureTraceContextPropagator();
  const carrier: EventHeaders = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The trace context carried by headers; the root context when they carry none. */
export function contextFromHeaders(headers: EventHeaders): Context {
  ensureTraceContextPropagator();
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** Headers with the trace context replaced by `ctx`'s (a producer span's, say). */
export function withTraceHeaders(headers: EventHeaders, ctx: Context): EventHeaders {
  const out: EventHeaders = {};
  const fields = new Set(propagation.fields().map((f) => f.toLowerCase()));
  for (const [k, v] of Object.entries(headers)) if (!fields.has(k.toLowerCase())) out[k] = v;
  return { ...out, ...captureTraceHeaders(ctx) };
}
