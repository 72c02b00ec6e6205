import kafkajs, { type Admin, Kafka, type KafkaConfig, logLevel } from "kafkajs";

// kafkajs is CommonJS, and Node's ESM loader does not see its error classes as named exports.
const { KafkaJSProtocolError } = kafkajs;

import type { TestInfra } from "./infra-settings.ts";
import { testInfra } from "./test-infra.ts";
import { uniqueName } from "./unique-name.ts";

/** Options of {@link testKafka}. */
export interface TestKafkaOptions {
  /** kafkajs client id; {@link uniqueName}("test") by default. */
  readonly clientId?: string;
  /** kafkajs log level; `NOTHING` by default, since a test asserts on outcomes, not logs. */
  readonly logLevel?: logLevel;
  /** The services to use; {@link testInfra} by default (only valid inside an integration test). */
  readonly infra?: TestInfra;
}

/** Until every partition of `topic` has a leader (30 s at most), retrying the broker's transient answers. */
async function waitForLeaders(admin: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      const led = meta?.partitions.filter((p) => p.leader >= 0).length ?? 0;
      if (led === partitions) return;
    } catch (e) {
      // UNKNOWN_TOPIC_OR_PARTITION and LEADER_NOT_AVAILABLE right after creation are retriable.
      if (!(e instanceof KafkaJSProtocolError && e.retriable) || Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic}: partitions without a leader after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A kafkajs client for the run's broker(s), for tests that produce or consume directly.
 *
 * @example
 * const producer = testKafka().producer({ idempotent: true });
 */
export function testKafka(options: TestKafkaOptions = {}): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId ?? uniqueName("test"),
    brokers: [...(options.infra ?? testInfra()).kafkaBrokers],
    logLevel: options.logLevel ?? logLevel.NOTHING,
    connectionTimeout: 5_000,
  };
  return new Kafka(config);
}

/** Options of {@link createTestTopic}. */
export interface TestTopicOptions {
  /** Name prefix, see {@link uniqueName}; `"t"` by default. */
  readonly prefix?: string;
  /** Number of partitions; 1 by default. */
  readonly partitions?: number;
  /** Topic configs, e.g. `{ "cleanup.policy": "compact" }`. */
  readonly config?: Readonly<Record<string, string>>;
  /** The services to use; {@link testInfra} by default (only valid inside an integration test). */
  readonly infra?: TestInfra;
}

/** A topic of its own for one suite; {@link TestTopic.delete} (or `await using`) removes it. */
export interface TestTopic extends AsyncDisposable {
  /** The topic name, e.g. `relay_5f0c2a9e41`. */
  readonly name: string;
  /** The bootstrap brokers it lives on. */
  readonly brokers: readonly string[];
  /** Deletes the topic; idempotent, and quiet when it is already gone. */
  delete(): Promise<void>;
}

/**
 * Creates a topic named {@link uniqueName}(prefix) and waits until its partitions have leaders,
 * so producing right after does not race the broker. The local broker and the compose file turn
 * topic auto-creation off, as production does: tests create what they use.
 *
 * @example
 * let topic: TestTopic;
 * beforeAll(async () => { topic = await createTestTopic({ prefix: "relay", partitions: 4 }); });
 * afterAll(() => topic.delete());
 */
export async function createTestTopic(options: TestTopicOptions = {}): Promise<TestTopic> {
  const partitions = options.partitions ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000) {
    throw new Error(`createTestTopic: partitions must be an integer in 1..1000, got ${partitions}`);
  }
  const infra = options.infra ?? testInfra();
  const name = uniqueName(options.prefix);
  const kafka = testKafka({ clientId: `testkit-admin-${name}`, infra });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      // Waited for below: kafkajs's own wait gives up when a busy KRaft broker briefly answers
      // "does not host this topic-partition" for a topic it has just created.
      waitForLeaders: false,
      topics: [
        {
          topic: name,
          numPartitions: partitions,
          configEntries: Object.entries(options.config ?? {}).map(([configName, value]) => ({
            name: configName,
            value,
          })),
        },
      ],
    });
    await waitForLeaders(admin, name, partitions);
  } finally {
    await admin.disconnect();
  }
  let deleting: Promise<void> | undefined;
  const remove = (): Promise<void> => {
    deleting ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      try {
        const existing = await a.listTopics();
        if (existing.includes(name)) await a.deleteTopics({ topics: [name], timeout: 15_000 });
      } finally {
        await a.disconnect();
      }
    })();
    return deleting;
  };
  return { name, brokers: infra.kafkaBrokers, delete: remove, [Symbol.asyncDispose]: remove };
}
