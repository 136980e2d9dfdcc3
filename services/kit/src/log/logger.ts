import pino, { type Logger } from 'pino';
import { trace } from '@opentelemetry/api';

export type { Logger };

/** The active span's ids on every line, so a log line leads to its trace. */
function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export function createLogger(opts: {
  name: string;
  level?: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      mixin: traceFields,
      redact: { paths: ['req.headers.authorization', '*.password', '*.token'], censor: '***' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}
