/**
 * Record streams: binary records on a topic, for data that is too plentiful for the outbox and
 * the processed-event table (a node agent's samples every few seconds). A consumer owns its
 * exactly-once handling (stats keeps a sequence cursor per node in its own transaction); the
 * stream only promises that a partition's records come in order and that offsets are committed
 * after the handler resolved, never before.
 */

export type RecordHeaders = Record<string, string>;

export interface OutgoingRecord {
  /** The partition key (the node); records of one key stay in order. */
  key: string;
  value: Buffer;
  headers?: RecordHeaders;
}

export interface StreamRecord {
  /** The logical topic (without a Kafka namespace). */
  topic: string;
  partition: number;
  /** Kafka's offset as a decimal string (in-process: a counter). */
  offset: string;
  key: string | undefined;
  value: Buffer;
  /** When the producer sent it (ms since 1970). */
  timestamp: number;
  headers: RecordHeaders;
}

/** Where a producer sends records: Kafka, or this process's own subscribers. */
export interface RecordSink {
  /** Resolves once the broker (or the local subscribers' queues) took the records. */
  send(topic: string, records: OutgoingRecord[]): Promise<void>;
}

export interface RecordSubscription {
  /** The consumer group: each group sees each record; the group's members share the partitions. */
  group: string;
  topics: string[];
  /**
   * Every process gets every record (a group of its own, starting at the newest record, offsets
   * never committed): for live fan-out, where each replica serves its own subscribers.
   */
  broadcast?: boolean;
  /**
   * Records of one partition, in order. Resolve once they are handled for good (committed);
   * reject for a failure a retry can cure: the same records come again after a backoff. A record
   * that can never be handled (malformed) must be counted and skipped by the handler, not thrown.
   */
  handle(records: StreamRecord[]): Promise<void>;
}

export interface RecordStreams extends RecordSink {
  /** Before start(). */
  subscribe(sub: RecordSubscription): void;
}
