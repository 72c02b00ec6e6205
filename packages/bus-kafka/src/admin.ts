import kafkajs from "kafkajs";
import { kafkaClient } from "./kafka-client.ts";
import { translateKafkaError } from "./kafka-error.ts";
import { assertTopicName, type KafkaConnectionOptions } from "./kafka-options.ts";

// kafkajs is CommonJS, and Node's ESM loader does not see ConfigResourceTypes as a named export
// (vitest's transform does, so only a plain `node` start would fail): take it from the default.
const { ConfigResourceTypes } = kafkajs;

/** How the change topic is created. */
export interface TopicOptions {
  topic: string;
  /** Default 12. */
  partitions?: number;
  /**
   * Copies of each partition. Default 1 (one local broker); production: 3, so that the
   * publisher's `acks=all` means more than one broker.
   */
  replicationFactor?: number;
  /**
   * Replicas that must have a write before `acks=all` acknowledges it. Default 1; production: 2
   * (with a replication factor of 3: one broker may be down, an acknowledged event is on two).
   */
  minInsyncReplicas?: number;
  /** The topic's `max.message.bytes` (largest record batch it accepts); the broker's default when unset. */
  maxMessageBytes?: number;
}

/** Checks {@link TopicOptions} and fills defaults; messages carry the bad value. */
export function validateTopicOptions(
  o: TopicOptions,
): Required<Omit<TopicOptions, "maxMessageBytes">> & Pick<TopicOptions, "maxMessageBytes"> {
  assertTopicName(o.topic);
  const partitions = o.partitions ?? 12;
  const replicationFactor = o.replicationFactor ?? 1;
  const minInsyncReplicas = o.minInsyncReplicas ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
    throw new Error(`partitions must be 1..10000, got ${partitions}`);
  }
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > 32) {
    throw new Error(`replicationFactor must be 1..32, got ${replicationFactor}`);
  }
  if (!Number.isInteger(minInsyncReplicas) || minInsyncReplicas < 1 || minInsyncReplicas > replicationFactor) {
    throw new Error(`minInsyncReplicas must be 1..replicationFactor (${replicationFactor}), got ${minInsyncReplicas}`);
  }
  if (o.maxMessageBytes !== undefined && (!Number.isInteger(o.maxMessageBytes) || o.maxMessageBytes < 1024)) {
    throw new Error(`maxMessageBytes must be an integer of at least 1024, got ${o.maxMessageBytes}`);
  }
  return Object.freeze({ ...o, partitions, replicationFactor, minInsyncReplicas });
}

/** What {@link ensureTopic} found or made. */
export interface TopicState {
  /** False when the topic existed already (and was left as it is). */
  readonly created: boolean;
  /** The fewest replicas any partition has. */
  readonly replicationFactor: number;
  /** The topic's `min.insync.replicas` (its own setting or the broker's default). */
  readonly minInsyncReplicas: number;
}

/**
 * Creates the topic unless it exists, with its replication factor and `min.insync.replicas`, and
 * reports what the topic has. An existing topic is left as it is (changing replication is a
 * reassignment, an operator's job): compare the result with what was asked for.
 *
 * @example
 * await ensureTopic({ brokers, topic: "gatehouse.changes.v1", replicationFactor: 3, minInsyncReplicas: 2 });
 */
export async function ensureTopic(options: KafkaConnectionOptions & TopicOptions): Promise<TopicState> {
  const { topic, partitions, replicationFactor, minInsyncReplicas, maxMessageBytes, ...connection } = options;
  const t = validateTopicOptions({
    topic,
    ...(partitions === undefined ? {} : { partitions }),
    ...(replicationFactor === undefined ? {} : { replicationFactor }),
    ...(minInsyncReplicas === undefined ? {} : { minInsyncReplicas }),
    ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
  });
  const admin = kafkaClient(connection).admin();
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    const created = !existing.includes(t.topic);
    if (created) {
      const configEntries = [{ name: "min.insync.replicas", value: String(t.minInsyncReplicas) }];
      if (t.maxMessageBytes !== undefined) {
        configEntries.push({ name: "max.message.bytes", value: String(t.maxMessageBytes) });
      }
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: t.topic, numPartitions: t.partitions, replicationFactor: t.replicationFactor, configEntries },
        ],
      });
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [t.topic] });
    const replicas = (metadata.topics[0]?.partitions ?? []).map((p) => p.replicas.length);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: t.topic, configNames: ["min.insync.replicas"] }],
    });
    const minIsr = configs.resources[0]?.configEntries.find((c) => c.configName === "min.insync.replicas");
    return Object.freeze({
      created,
      replicationFactor: replicas.length === 0 ? 0 : Math.min(...replicas),
      minInsyncReplicas: Number(minIsr?.configValue ?? 1),
    });
  } catch (e) {
    throw translateKafkaError(e, `ensureTopic ${t.topic}`);
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
