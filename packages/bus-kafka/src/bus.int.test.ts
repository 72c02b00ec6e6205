import { IamError } from "@gatehouse/core";
import { ChangeEvent } from "@gatehouse/proto";
import { createTestTopic, type TestTopic, testInfra, testKafka, uniqueName } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  changeMessageBytes,
  createChangeConsumer,
  createChangePublisher,
  deleteTopic,
  ensureTopic,
  rejectsRecords,
} from "./index.ts";

describe("bus-kafka against a real broker", () => {
  let testTopic: TestTopic;
  let topic: string;
  let brokers: string[];
  beforeAll(async () => {
    testTopic = await createTestTopic({ prefix: "bus", partitions: 4 });
    topic = testTopic.name;
    brokers = [...testInfra().kafkaBrokers];
    await ensureTopic({ brokers, topic, partitions: 4 }); // already there: a no-op
  });
  afterAll(async () => {
    await testTopic.delete();
  });

  it("publishes in order per account, keyed by account, and consumes back", async () => {
    const publisher = createChangePublisher({ brokers, topic });
    const events = ["111111111111", "222222222222", "333333333333"].flatMap((accountId) =>
      Array.from({ length: 20 }, (_, i) =>
        ChangeEvent.fromPartial({
          schemaVersion: 1,
          eventId: `${accountId}-${i}`,
          accountId,
          revision: i + 1,
          committedAtMs: Date.now(),
          key: { kind: "user", id: `u${i}` },
          change: { $case: "upsertJson", value: "{}" },
        }),
      ),
    );
    await publisher.publish(events);
    await publisher.disconnect();

    const seen = new Map<string, { revisions: number[]; partitions: Set<number> }>();
    const consumer = await createChangeConsumer({
      brokers,
      topic,
      groupId: uniqueName("bus_group"),
      onEvent: (e, meta) => {
        const s = seen.get(e.accountId) ?? { revisions: [], partitions: new Set() };
        s.revisions.push(e.revision);
        s.partitions.add(meta.partition);
        seen.set(e.accountId, s);
      },
    });
    try {
      await expect
        .poll(() => [...seen.values()].reduce((n, s) => n + s.revisions.length, 0), { timeout: 20_000 })
        .toBe(60);
      for (const s of seen.values()) {
        expect(s.revisions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(s.partitions.size).toBe(1);
      }
    } finally {
      await consumer.stop();
    }
  });

  it("creates the topic with its replication factor and min.insync.replicas, and refuses more replicas than brokers", async () => {
    const name = uniqueName("bus_rf");
    expect(
      await ensureTopic({ brokers, topic: name, partitions: 2, replicationFactor: 1, minInsyncReplicas: 1 }),
    ).toEqual({
      created: true,
      replicationFactor: 1,
      minInsyncReplicas: 1,
    });
    // Already there: left as it is, and what it has is reported (the caller warns when it is less).
    expect(await ensureTopic({ brokers, topic: name, partitions: 2, replicationFactor: 1 })).toEqual({
      created: false,
      replicationFactor: 1,
      minInsyncReplicas: 1,
    });
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name, configNames: ["min.insync.replicas"] }],
      });
      const entry = described.resources[0]?.configEntries.find((c) => c.configName === "min.insync.replicas");
      expect(entry).toMatchObject({ configValue: "1", isDefault: false }); // set on the topic, not inherited
      const meta = await admin.fetchTopicMetadata({ topics: [name] });
      expect(meta.topics[0]?.partitions.map((p) => p.replicas.length)).toEqual([1, 1]);
    } finally {
      await admin.disconnect();
      await deleteTopic({ brokers, topic: name });
    }
    // This run's single broker cannot hold three replicas: the factor reaches the broker.
    const three = uniqueName("bus_rf3");
    await expect(ensureTopic({ brokers, topic: three, replicationFactor: 3, minInsyncReplicas: 2 })).rejects.toThrow(
      /ensureTopic bus_rf3_/,
    );
    await expect(ensureTopic({ brokers, topic: three, replicationFactor: 2, minInsyncReplicas: 3 })).rejects.toThrow(
      "minInsyncReplicas must be 1..replicationFactor (2), got 3",
    );
  });

  it("a record over the topic's max.message.bytes is refused as a record, not as an outage", async () => {
    const name = uniqueName("bus_small");
    await ensureTopic({ brokers, topic: name, partitions: 1, maxMessageBytes: 2048 });
    const publisher = createChangePublisher({ brokers, topic: name, retries: 1 });
    const event = (size: number) =>
      ChangeEvent.fromPartial({
        schemaVersion: 1,
        accountId: "111111111111",
        revision: 1,
        key: { kind: "user", id: "u" },
        change: { $case: "upsertJson", value: JSON.stringify({ pad: "x".repeat(size) }) },
      });
    try {
      expect(changeMessageBytes(event(3000))).toBeGreaterThan(3000);
      await publisher.publish([event(100)]);
      const refusal = await publisher.publish([event(3000)]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(IamError.is(refusal) && [refusal.awsName, refusal.retriable]).toEqual(["ServiceFailure", false]);
      expect(rejectsRecords(refusal)).toBe(true);
    } finally {
      await publisher.disconnect();
      await deleteTopic({ brokers, topic: name });
    }
  });

  it("reports an unreachable broker as a retriable ServiceUnavailable", async () => {
    const publisher = createChangePublisher({ brokers: ["127.0.0.1:1"], topic, retries: 1 });
    try {
      await publisher.publish([ChangeEvent.fromPartial({ accountId: "1", revision: 1 })]);
      expect.unreachable();
    } catch (e) {
      expect(IamError.is(e) && [e.awsName, e.retriable]).toEqual(["ServiceUnavailable", true]);
      expect(rejectsRecords(e)).toBe(false);
    } finally {
      await publisher.disconnect();
    }
  });
});
