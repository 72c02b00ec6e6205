import { CompressionTypes } from "kafkajs";
import { kafkaClient } from "./kafka-client.ts";
import { translateKafkaError } from "./kafka-error.ts";
import { assertTopicName, type KafkaConnectionOptions } from "./kafka-options.ts";
import { createProducerSession } from "./producer-session.ts";

/** How one value travels: its record key, protobuf bytes and optional timestamp and headers. */
export interface ProtoRecord {
  readonly key: string;
  readonly value: Uint8Array;
  readonly timestamp?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Sends values of one protobuf message type to one topic. */
export interface ProtoTopicPublisher<T> {
  /**
   * Sends the values, in order, and resolves once all replicas acknowledged them (`acks: -1`).
   * Errors are IamErrors (retriable when Kafka is unreachable); after one the producer is
   * reconnected on the next call, and a re-send may duplicate what went through.
   */
  publish(values: readonly T[]): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * A publisher of protobuf-encoded values to `topic` on the shared idempotent producer (see
 * `producer-session.ts`); `record` says how each value becomes a record. The audit topic's and the
 * regional audit topic's publishers are two of these.
 */
export function createProtoTopicPublisher<T>(
  options: KafkaConnectionOptions & { topic: string },
  record: (value: T) => ProtoRecord,
): ProtoTopicPublisher<T> {
  assertTopicName(options.topic);
  const { topic, ...connection } = options;
  const session = createProducerSession(kafkaClient(connection));
  return {
    async publish(values) {
      if (values.length === 0) return;
      try {
        const p = await session.connected();
        await p.send({
          topic,
          acks: -1,
          compression: CompressionTypes.None,
          messages: values.map((v) => {
            const r = record(v);
            return {
              key: r.key,
              value: Buffer.from(r.value),
              ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }),
              ...(r.headers === undefined ? {} : { headers: { ...r.headers } }),
            };
          }),
        });
      } catch (e) {
        await session.reset();
        throw translateKafkaError(e, `publish to ${topic}`);
      }
    },
    disconnect: () => session.disconnect(),
  };
}
