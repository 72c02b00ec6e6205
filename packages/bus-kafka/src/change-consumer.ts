import { decodeChangeEvent, decodeWatermark, MESSAGE_TYPE_HEADER } from "@gatehouse/events";
import type { ChangeEvent, Watermark } from "@gatehouse/proto";
import type { Consumer } from "kafkajs";
import { kafkaClient } from "./kafka-client.ts";
import { translateKafkaError } from "./kafka-error.ts";
import { assertTopicName, type KafkaConnectionOptions } from "./kafka-options.ts";

/** Where a consumed event came from. */
export interface ChangeMessageMeta {
  readonly partition: number;
  readonly offset: string;
}

/** Options of {@link createChangeConsumer}. */
export interface ChangeConsumerOptions extends KafkaConnectionOptions {
  topic: string;
  groupId: string;
  /** Start from the oldest retained event when the group has no committed offset. Default true. */
  fromBeginning?: boolean;
  /** Called in partition order; a throw stops the partition and the message is redelivered. */
  onEvent(event: ChangeEvent, meta: ChangeMessageMeta): Promise<void> | void;
  /** Called for every watermark, in partition order with the events; without it they are skipped. */
  onWatermark?(watermark: Watermark, meta: ChangeMessageMeta): Promise<void> | void;
}

/** A running consumer of the change topic. */
export interface ChangeConsumer {
  stop(): Promise<void>;
}

/**
 * Subscribes to the change topic and calls `onEvent` for every event and `onWatermark` for every
 * watermark, in order per partition (hence per account). Resolves once the consumer has joined its group.
 */
export async function createChangeConsumer(options: ChangeConsumerOptions): Promise<ChangeConsumer> {
  assertTopicName(options.topic);
  const { topic, groupId, fromBeginning, onEvent, onWatermark, ...connection } = options;
  const consumer: Consumer = kafkaClient(connection).consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 50,
    allowAutoTopicCreation: false,
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: fromBeginning ?? true });
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        if (message.value === null) return;
        const meta = { partition, offset: message.offset };
        // The topic carries two message types, told apart by a header (absent on older events).
        const type = message.headers?.[MESSAGE_TYPE_HEADER]?.toString() ?? "change";
        if (type === "watermark") {
          if (onWatermark !== undefined) await onWatermark(decodeWatermark(message.value), meta);
          return;
        }
        await onEvent(decodeChangeEvent(message.value), meta);
      },
    });
    await joined;
  } catch (e) {
    await consumer.disconnect().catch(() => {});
    throw translateKafkaError(e, `consume ${topic}`);
  }
  return {
    async stop() {
      await consumer.disconnect().catch(() => {});
    },
  };
}
