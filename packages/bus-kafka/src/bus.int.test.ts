import { IamError } from "@gatehouse/core";
import { ChangeEvent } from "@gatehouse/proto";
import { createTestTopic, type TestTopic, testInfra, uniqueName } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChangeConsumer, createChangePublisher, ensureTopic } from "./index.ts";

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

  it("reports an unreachable broker as a retriable ServiceUnavailable", async () => {
    const publisher = createChangePublisher({ brokers: ["127.0.0.1:1"], topic, retries: 1 });
    try {
      await publisher.publish([ChangeEvent.fromPartial({ accountId: "1", revision: 1 })]);
      expect.unreachable();
    } catch (e) {
      expect(IamError.is(e) && [e.awsName, e.retriable]).toEqual(["ServiceUnavailable", true]);
    } finally {
      await publisher.disconnect();
    }
  });
});
