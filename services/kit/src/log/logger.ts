import pino, { type Logger } from 'pino';
import { traceMixin } from '../telemetry/trace-mixin';

export type { Logger };

/** Every line carries the active span's ids (`trace_id`, `span_id`), so a log line leads to its trace. */
export function createLogger(opts: {
  name: string;
  level?: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      mixin: traceMixin,
      redact: { paths: ['req.headers.authorization', '*.password', '*.token'], censor: '***' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}
