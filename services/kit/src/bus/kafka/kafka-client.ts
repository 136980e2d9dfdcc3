import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../../log/logger';
import { fixKafkaJsIdleSpin } from './kafka-idle-fix';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Connection attempt deadline (default 5 s). */
  connectionTimeoutMs?: number;
}

/** KafkaJS's log lines through the service's logger (KafkaJS prints to the console otherwise). */
function pinoLogCreator(logger: Logger) {
  const log = logger.child({ lib: 'kafkajs' });
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const {
        message,
        timestamp: _ts,
        logger: _l,
        ...extra
      } = entry as LogEntry['log'] & { logger?: string };
      const fields = { namespace, ...extra };
      // KafkaJS reports the in-flight message a stopping bus gives back as an eachMessage error;
      // that is the planned redelivery, not a fault.
      const stopping =
        level === logLevel.ERROR &&
        String((extra as { stack?: unknown }).stack ?? '').startsWith('BusStoppedError');
      if (stopping) log.info(fields, `${message} (bus stopping: the message will be delivered again)`);
      else if (level === logLevel.ERROR) log.error(fields, message);
      else if (level === logLevel.WARN) log.warn(fields, message);
      else if (level === logLevel.INFO) log.info(fields, message);
      else log.debug(fields, message);
    };
}

export function createKafkaClient(opts: KafkaClientOptions): Kafka {
  if (opts.brokers.length === 0) throw new TypeError('Kafka needs at least one broker address');
  fixKafkaJsIdleSpin();
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: opts.connectionTimeoutMs ?? 5_000,
    // Bounded: about 30 s of reconnection attempts before an operation fails to its caller.
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(opts.logger),
  });
}
