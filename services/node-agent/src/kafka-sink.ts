import type { KafkaRecordProducer } from '@testbed/kit/src/bus/kafka/kafka-records';
import type { RecordSink } from '@testbed/kit/src/bus/records/types';

/**
 * The producer as the agent's sink, connecting on first use and after a disconnect: an agent
 * started while the broker is away buffers from the first interval instead of failing to
 * start, and its sender's retries are the reconnection attempts.
 */
export function connectingSink(producer: KafkaRecordProducer): RecordSink {
  return {
    async send(topic, records) {
      if (!producer.isConnected()) await producer.connect();
      await producer.send(topic, records);
    },
  };
}
