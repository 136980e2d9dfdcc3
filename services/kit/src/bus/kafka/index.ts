export { createKafkaBus, type KafkaBusOptions } from './kafka-bus';
export type { KafkaClientOptions } from './kafka-client';
export { createKafkaPublisher, type KafkaPublisher } from './kafka-publisher';
export { deleteKafkaTopics, ensureKafkaTopics, type EnsureTopicsOptions } from './kafka-topics';
