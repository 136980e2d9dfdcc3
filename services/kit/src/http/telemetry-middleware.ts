import type { RequestHandler } from 'express';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Histogram } from 'prom-client';

/**
 * A SERVER span per request, continuing the caller's trace (W3C traceparent), plus the request
 * duration histogram. The handler chain runs inside the span's context, so bus events enqueued by
 * the handler carry this trace onwards.
 */
export function httpTelemetry(
  serviceName: string,
  duration: Histogram<'method' | 'route' | 'status'>,
): RequestHandler {
  const tracer = trace.getTracer(serviceName);
  return (req, res, next) => {
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(
      `${req.method} ${req.path}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } },
      parent,
    );
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      span.updateName(`${req.method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      duration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
    });
    context.with(trace.setSpan(parent, span), () => next());
  };
}
