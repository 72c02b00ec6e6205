import { kafkaClient } from "./kafka-client.ts";
import { translateKafkaError } from "./kafka-error.ts";
import { assertTopicName, type KafkaConnectionOptions } from "./kafka-options.ts";

/** Creates `topic` with `partitions` partitions unless it exists. Default 12 partitions. */
export async function ensureTopic(
  options: KafkaConnectionOptions & { topic: string; partitions?: number },
): Promise<void> {
  assertTopicName(options.topic);
  const admin = kafkaClient(options).admin();
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    if (!existing.includes(options.topic)) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: options.topic, numPartitions: options.partitions ?? 12, replicationFactor: 1 }],
      });
    }
  } catch (e) {
    throw translateKafkaError(e, `ensureTopic ${options.topic}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Deletes a topic (test teardown). */
export async function deleteTopic(options: KafkaConnectionOptions & { topic: string }): Promise<void> {
  const admin = kafkaClient(options).admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: [options.topic] });
  } catch (e) {
    throw translateKafkaError(e, `deleteTopic ${options.topic}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
