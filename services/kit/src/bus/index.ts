export {
  CLOUDEVENTS_CONTENT_TYPE,
  MalformedEventError,
  parseCloudEvent,
  type CloudEvent,
} from './cloud-event';
export { NonRetriableError, isRetriable, nonRetriable } from './errors';
export { cloudEventSql, enqueueEvent, enqueueEvents, type EnqueueEventInput } from './outbox';
export { outboxInsertOf } from './outbox-store';
export { captureTraceHeaders } from './trace-context';
export { eventRouter, issuesText, onEvent, type EventRoute, type RoutedEvent } from './event-router';
export {
  relayOutboxBatch,
  startOutboxRelay,
  type OutboxMessage,
  type OutboxPublisher,
  type OutboxRelay,
  type OutboxRelayOptions,
} from './relay';
export { deadLetterTopic } from './dead-letter';
export { defaultBusRetention, pruneBusTables, type BusRetention } from './prune';
export { createInProcessBus, type InProcessBusOptions } from './in-process/in-process-bus';
export {
  createKafkaBus,
  createKafkaPublisher,
  deleteKafkaTopics,
  ensureKafkaTopics,
  type EnsureTopicsOptions,
  type KafkaBusOptions,
  type KafkaClientOptions,
  type KafkaPublisher,
} from './kafka';
export {
  createKafkaRecordProducer,
  createKafkaRecordConsumer,
  type KafkaRecordProducer,
} from './kafka/kafka-records';
export { createInProcessRecordStreams, type InProcessRecordStreams } from './records/in-process-records';
export type {
  OutgoingRecord,
  RecordHeaders,
  RecordSink,
  RecordStreams,
  RecordSubscription,
  StreamRecord,
} from './records/types';
export type {
  Bus,
  BusDatabase,
  CommonBusOptions,
  EventHeaders,
  HandlerContext,
  RelayOptions,
  RetryOptions,
  Subscription,
  TxClient,
} from './types';
