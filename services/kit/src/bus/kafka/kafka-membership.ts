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
export function trackMembership(
  consumer: Consumer,
  log: Logger,
  /** Called when KafkaJS gave the consumer up (a crash it does not restart after). */
  onGivenUp?: (error: Error) => void,
): GroupMembership {
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
      onGivenUp?.(error);
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

/**
 * Starts a consumer KafkaJS gave up on (a broker outage can end in a crash it does not restart
 * after) again, with backoff, until it runs or the owner stops: without this, the consumer stays
 * dead and the process unready for good. `isStopping` says the owner is shutting down.
 */
export function restartWhenGivenUp(
  consumer: Consumer,
  start: () => Promise<void>,
  isStopping: () => boolean,
  log: Logger,
): (error: Error) => void {
  let pending: NodeJS.Timeout | undefined;
  const attempt = (delayMs: number) => {
    if (pending || isStopping()) return;
    pending = setTimeout(() => {
      pending = undefined;
      if (isStopping()) return;
      log.warn({ retryInMs: delayMs }, 'restarting a Kafka consumer KafkaJS gave up on');
      consumer
        .disconnect()
        .catch(() => undefined)
        .then(start)
        .catch((err: unknown) => {
          log.error({ err }, 'restarting the Kafka consumer failed; trying again');
          attempt(Math.min(delayMs * 2, 30_000));
        });
    }, delayMs);
    pending.unref();
  };
  return () => attempt(1_000);
}
