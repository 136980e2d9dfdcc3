import type { Consumer, Producer } from 'kafkajs';
import type { Logger } from '../../log/logger';

export interface GroupMembership {
  /** Resolves once the consumer joined its group (after `run`), fails after `timeoutMs` or on a crash. */
  joined(timeoutMs: number, what: string): Promise<void>;
  /** Joined and not crashed for good (KafkaJS restarts after a retriable crash by itself). */
  healthy(): boolean;
  left(): void;
}

/**
 * A consumer's group membership from KafkaJS's events: arm `joined` before `consumer.run`, so a
 * join that comes at once is not missed.
 */
export function trackMembership(consumer: Consumer, log: Logger): GroupMembership {
  let joined = false;
  let crashed: Error | undefined;
  let waiter: ((err?: Error) => void) | undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
    crashed = undefined;
    waiter?.();
  });
  consumer.on(consumer.events.CRASH, (e) => {
    joined = false;
    const { error, restart } = e.payload;
    log.error({ err: error, restart }, 'Kafka consumer crashed');
    if (!restart) {
      crashed = error;
      waiter?.(error);
    }
  });
  return {
    joined(timeoutMs, what) {
      if (joined) return Promise.resolve();
      const p = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${what} did not join within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiter = (err) => {
          clearTimeout(timer);
          waiter = undefined;
          if (err) reject(err);
          else resolve();
        };
      });
      // The caller awaits it after consumer.run(); should run() throw first, no unhandled rejection.
      p.catch(() => undefined);
      return p;
    },
    healthy: () => joined && !crashed,
    left: () => {
      joined = false;
    },
  };
}

export interface ProducerConnection {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
}

/**
 * A producer's connection state, kept connected: a broker restart disconnects an idle producer,
 * which KafkaJS reconnects only at its next send, so readiness would say "not connected" until
 * then. It connects again at once, with backoff, until disconnect() is called.
 */
export function keepConnected(producer: Producer): ProducerConnection {
  let connected = false;
  let closing = false;
  let retry: NodeJS.Timeout | undefined;
  const reconnect = (delayMs: number) => {
    if (closing || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      if (closing || connected) return;
      producer.connect().catch(() => reconnect(Math.min(delayMs * 2, 10_000)));
    }, delayMs);
    retry.unref();
  };
  producer.on(producer.events.CONNECT, () => (connected = true));
  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
    reconnect(500);
  });
  return {
    connect: () => {
      closing = false;
      return producer.connect();
    },
    disconnect: () => {
      closing = true;
      if (retry) clearTimeout(retry);
      return producer.disconnect();
    },
    isConnected: () => connected,
  };
}
