import { Partitioners } from "kafkajs";
import pg from "pg";
import { describe, expect, it } from "vitest";
import {
  createTestDatabase,
  createTestKeyPrefix,
  createTestSchema,
  createTestTopic,
  testInfra,
  testKafka,
  testRedis,
  uniqueName,
} from "./index.ts";

describe("testkit smoke (real Postgres, Kafka, Redis)", () => {
  it("writes and reads Postgres in a database of its own, then drops it", async () => {
    const db = await createTestDatabase({ prefix: "smoke" });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query("CREATE TABLE principal (id text PRIMARY KEY, name text NOT NULL)");
      await client.query("INSERT INTO principal VALUES ($1, $2), ($3, $4)", ["u1", "alice", "u2", "bob"]);
      const { rows } = await client.query("SELECT name FROM principal ORDER BY id");
      expect(rows.map((r) => r.name)).toEqual(["alice", "bob"]);
      const { rows: current } = await client.query("SELECT current_database() AS name");
      expect(current[0].name).toBe(db.name);
    } finally {
      await client.end();
    }
    await db.drop();
    const admin = new pg.Client({ connectionString: testInfra().postgresUrl });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [db.name]);
      expect(rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it("isolates a schema through search_path, and drops it with its tables", async () => {
    const schema = await createTestSchema({ prefix: "smoke" });
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      await client.query("CREATE TABLE t (v int)");
      await client.query("INSERT INTO t VALUES (42)");
      const { rows } = await client.query(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 't' AND table_schema = $1",
        [schema.name],
      );
      expect(rows).toEqual([{ table_schema: schema.name }]);
      expect((await client.query("SELECT v FROM t")).rows).toEqual([{ v: 42 }]);
    } finally {
      await client.end();
    }
    await schema.drop();
    const admin = new pg.Client({ connectionString: schema.databaseUrl });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema.name]);
      expect(rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it("produces with an idempotent producer and consumes in a consumer group, in order", async () => {
    const topic = await createTestTopic({ prefix: "smoke", partitions: 2 });
    const kafka = testKafka();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const consumer = kafka.consumer({ groupId: uniqueName("smoke_group") });
    try {
      await producer.connect();
      const sent = ["1", "2", "3"].map((n) => ({ key: "account-1", value: `event-${n}` }));
      await producer.send({ topic: topic.name, acks: -1, messages: sent });

      await consumer.connect();
      await consumer.subscribe({ topics: [topic.name], fromBeginning: true });
      const received: { key: string; value: string; partition: number }[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`received only ${received.length} of 3`)), 30_000);
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              received.push({ key: String(message.key), value: String(message.value), partition });
              if (received.length === sent.length) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      expect(received.map((m) => m.value)).toEqual(["event-1", "event-2", "event-3"]);
      // Same key, same partition: the per-account ordering the event stream relies on.
      expect(new Set(received.map((m) => m.partition)).size).toBe(1);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await topic.delete();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(topic.name);
    } finally {
      await admin.disconnect();
    }
  });

  it("round-trips every region's Redis, each its own server, and cleans up by prefix", async () => {
    const { redis: regions } = testInfra();
    expect(regions.length).toBeGreaterThan(0);
    const keys = createTestKeyPrefix({ prefix: "smoke" });
    const clients = regions.map(({ region }) => ({ region, redis: testRedis({ region }) }));
    try {
      for (const { region, redis } of clients) {
        await redis.set(keys.key("region"), region);
        await redis.hset(keys.key("user", "alice"), { arn: `arn:aws:iam::000000000000:user/alice`, region });
      }
      for (const { region, redis } of clients) {
        // A region reading its own value back proves the instances are distinct servers.
        expect(await redis.get(keys.key("region"))).toBe(region);
        expect(await redis.hget(keys.key("user", "alice"), "region")).toBe(region);
      }
      expect(await keys.cleanup()).toBe(2 * regions.length);
      for (const { redis } of clients) {
        expect(await redis.exists(keys.key("region"), keys.key("user", "alice"))).toBe(0);
      }
    } finally {
      await Promise.all(clients.map(({ redis }) => redis.quit()));
    }
  });
});
