import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  createTestKeyPrefix,
  createTestTopic,
  deleteKeysWithPrefix,
  type TestTopic,
  testKafka,
  testRedis,
} from "@gatehouse/testkit";
import { createRegionView, type RegionView } from "@gatehouse/view-redis";
import type { Redis } from "ioredis";
import type { Producer } from "kafkajs";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApplier } from "./applier.ts";
import { revisionEvents, sendEvents, sendWatermark, type TestEvent } from "./test-events.int-helper.ts";

const logger = pino({ level: "silent" });

describe("applier (real Kafka and Redis)", () => {
  let topic: TestTopic;
  let producer: Producer;
  let redis: Redis;
  const keys = createTestKeyPrefix({ prefix: "applier" });
  let view: RegionView;

  beforeAll(async () => {
    topic = await createTestTopic({ prefix: "applier", partitions: 2 });
    producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    redis = testRedis();
    view = createRegionView({ redis, keyPrefix: keys.prefix });
  });
  afterAll(async () => {
    await producer.disconnect();
    await redis.quit();
    await topic.delete();
    await keys.cleanup();
  });

  it("applies whole revisions only, in order, and replays change nothing", async () => {
    const acct = "100000000001";
    const [a, b] = revisionEvents(acct, 1) as [TestEvent, TestEvent];
    // Half of revision 1, then the rest after the applier has had time to see the first half.
    await sendEvents(producer, topic.name, [a]);
    const applier = await startApplier({ kafka: testKafka(), topic: topic.name, groupId: keys.prefix, view, logger });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect((await view.appliedRevision(acct)).revision).toBe(0);
      await sendEvents(producer, topic.name, [b, ...revisionEvents(acct, 2)]);
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 10_000 }).toBe(2);
      const before = await view.readPrincipal(acct, `arn:aws:iam::${acct}:user/u`);
      // A replay of both revisions (as a relay retry or a producer restart would send).
      await sendEvents(producer, topic.name, [...revisionEvents(acct, 1), ...revisionEvents(acct, 2)]);
      await sendEvents(producer, topic.name, revisionEvents(acct, 3));
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 10_000 }).toBe(3);
      expect(applier.stats.duplicateRevisions).toBe(2);
      expect(applier.stats.gaps).toEqual([]);
      expect(before.principal?.state).toMatchObject({ tags: [{ key: "rev", value: "2" }] });
      const after = await view.readPrincipal(acct, `arn:aws:iam::${acct}:user/u`);
      expect([...after.policies.keys()]).toEqual([`arn:aws:iam::${acct}:policy/p3`]);
    } finally {
      await applier.stop();
    }
  });

  it("legacy 0-of-0 events: a revision completes on the account's next revision or on a watermark", async () => {
    const acct = "100000000002";
    const applier = await startApplier({
      kafka: testKafka(),
      topic: topic.name,
      groupId: `${keys.prefix}l`,
      view,
      logger,
    });
    try {
      await sendEvents(producer, topic.name, revisionEvents(acct, 1, true));
      await new Promise((r) => setTimeout(r, 1500));
      expect((await view.appliedRevision(acct)).revision).toBe(0);
      await sendEvents(producer, topic.name, revisionEvents(acct, 2, true));
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 10_000 }).toBe(1);
      const snap = await view.readPrincipal(acct, `arn:aws:iam::${acct}:user/u`);
      expect([...snap.policies.keys()]).toEqual([`arn:aws:iam::${acct}:policy/p1`]);
      // Which partition holds the account: where its events went (kafkajs's murmur2 of the key).
      for (const p of [0, 1]) await sendWatermark(producer, topic.name, p, 1_700_000_000_000);
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 10_000 }).toBe(2);
      await expect.poll(async () => (await view.watermarks()).size, { timeout: 10_000 }).toBe(2);
    } finally {
      await applier.stop();
    }
  });

  it("a consumer stopped while holding half a revision commits nothing past it: the next one completes it", async () => {
    const acct = "100000000004";
    const [a, b] = revisionEvents(acct, 1) as [TestEvent, TestEvent];
    const groupId = `${keys.prefix}h`;
    await sendEvents(producer, topic.name, [...revisionEvents("100000000005", 1), a]);
    const first = await startApplier({ kafka: testKafka(), topic: topic.name, groupId, view, logger });
    // The other account's revision after it on the topic shows the first consumer read that far.
    await expect.poll(async () => (await view.appliedRevision("100000000005")).revision, { timeout: 10_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    await first.stop();
    await sendEvents(producer, topic.name, [b]);
    const second = await startApplier({ kafka: testKafka(), topic: topic.name, groupId, view, logger });
    try {
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 15_000 }).toBe(1);
      const snap = await view.readPrincipal(acct, `arn:aws:iam::${acct}:user/u`);
      expect([...snap.policies.keys()]).toEqual([`arn:aws:iam::${acct}:policy/p1`]);
    } finally {
      await second.stop();
    }
  });

  it("a gap is reported and not applied", async () => {
    const acct = "100000000003";
    const applier = await startApplier({
      kafka: testKafka(),
      topic: topic.name,
      groupId: `${keys.prefix}g`,
      view,
      logger,
    });
    try {
      await sendEvents(producer, topic.name, [...revisionEvents(acct, 1), ...revisionEvents(acct, 3)]);
      await expect.poll(() => applier.stats.gaps.length, { timeout: 10_000 }).toBe(1);
      expect(applier.stats.gaps[0]).toEqual({ accountId: acct, appliedRevision: 1, seenRevision: 3 });
      expect(await view.appliedRevision(acct)).toEqual({ revision: 1, epoch: "test:1", gap: "2>3" });
    } finally {
      await applier.stop();
    }
  });
});

describe("a region whose Redis lost the view", () => {
  it("is rebuilt from the topic by a restart; a loss under a running applier stops it instead of applying on the void", async () => {
    const topic = await createTestTopic({ prefix: "flush", partitions: 2 });
    const keys = createTestKeyPrefix({ prefix: "flush" });
    const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const redis = testRedis();
    const view = createRegionView({ redis, keyPrefix: keys.prefix });
    const acct = "400000000001";
    const arn = `arn:aws:iam::${acct}:user/u`;
    const start = (onViewLost?: () => void) =>
      startApplier({
        kafka: testKafka(),
        topic: topic.name,
        groupId: keys.prefix.slice(0, -1),
        view,
        logger,
        ...(onViewLost === undefined ? {} : { onViewLost }),
      });
    try {
      for (let r = 1; r <= 5; r++) await sendEvents(producer, topic.name, revisionEvents(acct, r));
      const first = await start();
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 15_000 }).toBe(5);
      const before = await view.readPrincipal(acct, arn);
      await first.stop();
      expect(await deleteKeysWithPrefix(redis, keys.prefix)).toBeGreaterThan(0);
      // A restart finds no generation: a new one, a new consumer group, the topic from its start.
      let lost = false;
      const second = await start(() => {
        lost = true;
      });
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 15_000 }).toBe(5);
      expect(await view.readPrincipal(acct, arn)).toEqual(before);
      // Lost again while running: the next revision is refused and the applier stops.
      expect(await deleteKeysWithPrefix(redis, keys.prefix)).toBeGreaterThan(0);
      await sendEvents(producer, topic.name, revisionEvents(acct, 6));
      await expect.poll(() => lost, { timeout: 15_000 }).toBe(true);
      expect((await view.appliedRevision(acct)).revision).toBe(0);
      await second.stop();
      const third = await start();
      try {
        await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 15_000 }).toBe(6);
      } finally {
        await third.stop();
      }
    } finally {
      await producer.disconnect();
      await redis.quit();
      await topic.delete();
      await keys.cleanup();
    }
  });
});

describe("applier across consumer-group rebalances", () => {
  it("a second member joining and the first leaving mid-stream: every revision applied once, none lost", async () => {
    const topic = await createTestTopic({ prefix: "rebalance", partitions: 4 });
    const keys = createTestKeyPrefix({ prefix: "rebalance" });
    const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const redis = testRedis();
    const view = createRegionView({ redis, keyPrefix: keys.prefix });
    const groupId = keys.prefix.slice(0, -1);
    const accounts = ["300000000001", "300000000002", "300000000003", "300000000004", "300000000005"];
    const revisions = 60;
    const start = () => startApplier({ kafka: testKafka(), topic: topic.name, groupId, view, logger });
    const first = await start();
    let second: Awaited<ReturnType<typeof start>> | undefined;
    try {
      for (let r = 1; r <= revisions; r++) {
        await sendEvents(
          producer,
          topic.name,
          accounts.flatMap((a) => revisionEvents(a, r)),
        );
        if (r === 20) second = await start();
        if (r === 40) await first.stop();
        await new Promise((res) => setTimeout(res, 25));
      }
      for (const a of accounts) {
        await expect.poll(async () => (await view.appliedRevision(a)).revision, { timeout: 60_000 }).toBe(revisions);
        const snap = await view.readPrincipal(a, `arn:aws:iam::${a}:user/u`);
        expect([...snap.policies.keys()]).toEqual([`arn:aws:iam::${a}:policy/p${revisions}`]);
      }
      const stats = [first.stats, second?.stats];
      expect(stats.flatMap((s) => s?.gaps ?? [])).toEqual([]);
      // Both members applied part of the stream, and together each revision exactly once.
      expect(first.stats.appliedRevisions).toBeGreaterThan(0);
      expect(second?.stats.appliedRevisions).toBeGreaterThan(0);
      const applied = stats.reduce((n, s) => n + (s?.appliedRevisions ?? 0), 0);
      expect(applied).toBe(accounts.length * revisions);
    } finally {
      await second?.stop();
      await first.stop().catch(() => {});
      await producer.disconnect();
      await redis.quit();
      await topic.delete();
      await keys.cleanup();
    }
  });
});

describe("applier process killed with SIGKILL mid-stream", () => {
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  let topic: TestTopic;
  const keys = createTestKeyPrefix({ prefix: "kill" });
  const reference = createTestKeyPrefix({ prefix: "killref" });
  beforeAll(async () => {
    topic = await createTestTopic({ prefix: "kill", partitions: 3 });
  });
  afterAll(async () => {
    await topic.delete();
    await keys.cleanup();
    await reference.cleanup();
  });

  const startProcess = () => {
    const env = {
      ...process.env,
      GATEHOUSE_REGION: "us-east-1",
      GATEHOUSE_REGION_REDIS_URL:
        process.env.GATEHOUSE_TEST_REDIS_URLS?.split(",")[0]?.split("=")[1] ?? "redis://127.0.0.1:6380",
      GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
      GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
      GATEHOUSE_KAFKA_BROKERS: topic.brokers.join(","),
      GATEHOUSE_CHANGES_TOPIC: topic.name,
      GATEHOUSE_LOG_LEVEL: "warn",
    };
    const child = spawn(process.execPath, [main, "--role", "applier"], {
      env,
      stdio: ["ignore", "inherit", "inherit"],
    });
    return child;
  };

  it("resumes from committed offsets: same final state as a reference, no revision lost or skipped", async () => {
    const accounts = ["200000000001", "200000000002", "200000000003", "200000000004"];
    const revisions = 120;
    const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const redis = testRedis();
    const view = createRegionView({ redis, keyPrefix: keys.prefix });
    const refView = createRegionView({ redis, keyPrefix: reference.prefix });
    await refView.ensureGeneration();
    let child = startProcess();
    try {
      const sending = (async () => {
        for (let r = 1; r <= revisions; r++) {
          await sendEvents(
            producer,
            topic.name,
            accounts.flatMap((a) => revisionEvents(a, r)),
          );
          for (const a of accounts) {
            const [p, u] = revisionEvents(a, r);
            // The reference: the same revisions applied directly, in order.
            await refView.applyRevision(a, r, "test:1", [
              { kind: "policy", id: (p as TestEvent).id, state: (p as TestEvent).state } as never,
              { kind: "user", id: (u as TestEvent).id, state: (u as TestEvent).state } as never,
            ]);
          }
          if (r % 10 === 0) await new Promise((res) => setTimeout(res, 20));
        }
      })();
      // Kill once the applier is visibly mid-stream.
      await expect
        .poll(async () => (await view.appliedRevision(accounts[0] as string)).revision, {
          timeout: 30_000,
          interval: 20,
        })
        .toBeGreaterThan(5);
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const atKill = (await view.appliedRevision(accounts[0] as string)).revision;
      await sending;
      child = startProcess();
      for (const a of accounts) {
        await expect.poll(async () => (await view.appliedRevision(a)).revision, { timeout: 60_000 }).toBe(revisions);
        expect(await view.appliedRevision(a)).toEqual({ revision: revisions, epoch: "test:1" });
        const arn = `arn:aws:iam::${a}:user/u`;
        expect(await view.readPrincipal(a, arn)).toEqual(await refView.readPrincipal(a, arn));
      }
      expect(atKill).toBeLessThan(revisions);
    } finally {
      child.kill("SIGKILL");
      await producer.disconnect();
      await redis.quit();
    }
  });
});
