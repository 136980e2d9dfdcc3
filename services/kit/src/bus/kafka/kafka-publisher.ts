import { Partitioners, type Kafka, type Message, type Producer, type TopicMessages } from 'kafkajs';
import { CLOUDEVENTS_CONTENT_TYPE } from '../cloud-event';
import type { OutboxMessage, OutboxPublisher } from '../relay';
import type { EventHeaders } from '../types';
import { createKafkaClient, type KafkaClientOptions } from './kafka-client';
import { toKafkaHeaders } from './kafka-headers';
import { keepConnected } from './kafka-membership';
import { physicalTopic } from './kafka-namespace';

/** A message as sent as is (dead letters); the bus's own type, so no KafkaJS type leaks out. */
export interface RawMessage {
  key: string | null;
  value: string | null;
  headers: EventHeaders;
}

export interface KafkaPublisher extends OutboxPublisher {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  /** Raw send (dead letters): acknowledged by all in-sync replicas. */
  send(topic: string, messages: RawMessage[]): Promise<void>;
}

/**
 * Outbox rows to Kafka: structured CloudEvents JSON as the value, the aggregate id as the key,
 * the trace context and `content-type` in the headers. One send per relay pass, acknowledged
 * by all in-sync replicas, one request in flight so a retried request cannot overtake the next.
 */
export function kafkaPublisherOf(kafka: Kafka, namespace?: string): KafkaPublisher {
  const physical = physicalTopic(namespace);
  const producer: Producer = kafka.producer({
    // The Java client's murmur2 partitioning: other clients put the same key on the same partition.
    createPartitioner: Partitioners.DefaultPartitioner,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: true,
  });
  const connection = keepConnected(producer);

  return {
    system: 'kafka',
    ...connection,
    async send(topic, messages) {
      await producer.send({
        topic,
        messages: messages.map((m) => ({ ...m, headers: toKafkaHeaders(m.headers) })),
        acks: -1,
      });
    },
    async publish(messages: OutboxMessage[]) {
      // Grouped by topic in outbox order: KafkaJS keeps the order of a topic's messages per partition.
      const byTopic = new Map<string, Message[]>();
      for (const m of messages) {
        const list = byTopic.get(m.topic) ?? [];
        list.push({
          key: m.key,
          value: JSON.stringify(m.event),
          headers: toKafkaHeaders({ ...m.headers, 'content-type': CLOUDEVENTS_CONTENT_TYPE }),
        });
        byTopic.set(m.topic, list);
      }
      const topicMessages: TopicMessages[] = [...byTopic].map(([topic, msgs]) => ({
        topic: physical(topic),
        messages: msgs,
      }));
      await producer.sendBatch({ topicMessages, acks: -1 });
    },
  };
}

/** A publisher with its own connection, for a relay-only process (`startOutboxRelay`). */
export function createKafkaPublisher(opts: KafkaClientOptions & { namespace?: string }): KafkaPublisher {
  return kafkaPublisherOf(createKafkaClient(opts), opts.namespace);
}
