import type { Registry } from 'prom-client';
import type { Database, DbTransaction } from '../db/database';
import type { AfterCommit } from '../db/transaction';
import type { Logger } from '../log/logger';
import type { CloudEvent } from './cloud-event';
import type { RecordStreams } from './records/types';

/** The caller's interactive transaction (`prisma.$transaction(async (tx) => …)`). */
export type TxClient = DbTransaction;

/** What the bus needs of a database: the Prisma client, and which engine (locking differs). */
export type BusDatabase = Pick<Database, 'kind' | 'prisma'>;

/** Message headers as the handler sees them (W3C trace context, content type, dead-letter facts). */
export type EventHeaders = Record<string, string>;

export interface HandlerContext {
  /** The transaction that also records the event as processed: write state and enqueue events here. */
  tx: TxClient;
  /** Work to start once that transaction has committed (never when it rolls back or is retried). */
  afterCommit: AfterCommit;
  headers: EventHeaders;
  topic: string;
  /** 1 on the first try. */
  attempt: number;
}

export interface Subscription {
  /** Consumer group, e.g. 'ipam': each group sees each event once; idempotency is per group. */
  consumer: string;
  topics: string[];
  /**
   * Runs inside the transaction that marks the event processed; throw to roll it all back
   * (NonRetriableError to skip the retries). Query only through `ctx.tx`: on PGlite a query
   * outside it waits for this very transaction, which then times out.
   */
  handle(event: CloudEvent<unknown>, ctx: HandlerContext): Promise<void>;
}

export interface Bus {
  /** Before start(). */
  subscribe(sub: Subscription): void;
  /** Binary record streams on the same transport (samples): no outbox, no processed-event marks. */
  records: RecordStreams;
  /**
   * Reaches the transport and makes what the subscriptions need (topics) without consuming
   * anything, so a host can run it beside its modules' start; after the last subscribe().
   * start() does it first when it was not called.
   */
  connect(): Promise<void>;
  start(): Promise<void>;
  /** Stops the relay, then the consumers (in-flight events end or are left for redelivery), then producers. */
  stop(): Promise<void>;
  isReady(): Promise<boolean>;
}

export interface RetryOptions {
  /** Tries in all, the first included (default 5). */
  attempts?: number;
  /** Delay before the 2nd try; doubles each time (default 200 ms). */
  initialDelayMs?: number;
  /** Cap of one delay (default 5 s). */
  maxDelayMs?: number;
}

export interface RelayOptions {
  /** Wait between polls when the outbox is empty (default 1 s in-process, 200 ms Kafka). */
  pollMs?: number;
  /** Rows claimed per pass (default 200). */
  batchSize?: number;
}

export interface CommonBusOptions {
  db: BusDatabase;
  logger: Logger;
  /** Relay settings, or `false` for a consumer-only bus (another process relays). */
  relay?: RelayOptions | false;
  /** Publish only rows of these sources (default: all). */
  sources?: string[];
  retry?: RetryOptions;
  /** prom-client registry for the bus metrics; none when absent. */
  metrics?: Registry;
}
