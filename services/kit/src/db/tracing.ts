import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Prisma } from './generated/client';

/**
 * One CLIENT span per Prisma operation, named `db <Model>.<operation>` (`db $executeRaw` for raw
 * SQL), child of whatever span is active (the HTTP request, the consumer). Only
 * @opentelemetry/api here: without a registered SDK these are no-op spans; the process's
 * telemetry setup decides where they go. Works inside interactive transactions too (the
 * transaction client carries the extension).
 */
export function tracingExtension(dbSystem: 'postgresql', dbNamespace: string) {
  const tracer = trace.getTracer('@testbed/kit/db');
  return Prisma.defineExtension({
    name: 'otel-spans',
    query: {
      async $allOperations({ model, operation, args, query }) {
        const name = model ? `db ${model}.${operation}` : `db ${operation}`;
        const attributes: Record<string, string> = {
          'db.system.name': dbSystem,
          'db.namespace': dbNamespace,
          'db.operation.name': operation,
        };
        if (model) attributes['db.collection.name'] = model;
        return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
          try {
            return await query(args);
          } catch (err) {
            // The error message, never the query's parameters (they may hold personal data).
            span.recordException(err instanceof Error ? err : String(err));
            span.setStatus({
              code: SpanStatusCode.ERROR,
              message: err instanceof Error ? err.message : String(err),
            });
            throw err;
          } finally {
            span.end();
          }
        });
      },
    },
  });
}
