import pg from "pg";
import { expect, test } from "vitest";
import { createTestTopic, testKafka } from "./kafka.ts";
import { removeRunLeftovers } from "./leftovers.ts";
import { createTestSchema } from "./postgres.ts";
import { testInfra } from "./test-infra.ts";
import { uniqueName } from "./unique-name.ts";

test("removeRunLeftovers drops the schemas and deletes the topics and groups it is given, skipping what is gone", async () => {
  const infra = testInfra();
  const schema = await createTestSchema({ prefix: "leftover" });
  const group = uniqueName("leftover");
  let topic = "";
  let other = "";
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  try {
    topic = (await createTestTopic({ prefix: "leftover" })).name;
    // A consumer group with a committed offset on another topic than the run's (as the control
    // plane's group on the shared audit topic): deleting the run's topic alone does not remove it.
    other = (await createTestTopic({ prefix: "leftover" })).name;
    await admin.setOffsets({ groupId: group, topic: other, partitions: [{ partition: 0, offset: "0" }] });
    expect((await admin.fetchOffsets({ groupId: group, topics: [other] }))[0]?.partitions[0]?.offset).toBe("0");
    const schemaExists = async () => {
      const c = new pg.Client({ connectionString: infra.postgresUrl });
      await c.connect();
      try {
        return (await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema.name])).rowCount === 1;
      } finally {
        await c.end();
      }
    };
    expect(await schemaExists()).toBe(true);
    await removeRunLeftovers({
      postgresUrl: infra.postgresUrl,
      schemas: [schema.name, "never_created_schema"],
      brokers: infra.kafkaBrokers,
      topics: [topic, "never-created-topic"],
      groups: [group, "never-created-group"],
    });
    expect(await schemaExists()).toBe(false);
    // Its committed offset went with it (asked before listing topics: kafkajs then re-reads the deleted one's metadata).
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [other] });
    expect(offsets?.partitions[0]?.offset).toBe("-1");
    const topics = await admin.listTopics();
    expect(topics).not.toContain(topic);
    expect(topics).toContain(other);
  } finally {
    await admin.disconnect();
    // Whatever a failed run left.
    await removeRunLeftovers({ brokers: infra.kafkaBrokers, topics: [topic, other], groups: [group] });
    await schema.drop();
  }
});
