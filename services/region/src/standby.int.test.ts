// One active applier per region: a second process waits on the Redis lease; kill -9 the active
// one mid-stream and the standby takes over (a new fencing token), with the same final state as
// a reference that applied every revision in order; the deposed token can no longer write.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestKeyPrefix, createTestTopic, testKafka, testRedis } from "@gatehouse/testkit";
import { createRegionView } from "@gatehouse/view-redis";
import { describe, expect, it } from "vitest";
import { revisionEvents, sendEvents, type TestEvent } from "./test-events.int-helper.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));

describe("standby applier (real Kafka and Redis, real processes)", () => {
  it("kill -9 of the active applier: the standby takes the lease with a new fencing token and finishes the stream", async () => {
    const topic = await createTestTopic({ prefix: "standby", partitions: 3 });
    const keys = createTestKeyPrefix({ prefix: "standby" });
    const reference = createTestKeyPrefix({ prefix: "standbyref" });
    const redis = testRedis();
    const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const view = createRegionView({ redis, keyPrefix: keys.prefix });
    const refView = createRegionView({ redis, keyPrefix: reference.prefix });
    await refView.ensureGeneration();
    const children: ChildProcess[] = [];
    const start = () => {
      const child = spawn(process.execPath, [main, "--role", "applier"], {
        env: {
          ...process.env,
          GATEHOUSE_REGION: "us-east-1",
          GATEHOUSE_REGION_REDIS_URL:
            process.env.GATEHOUSE_TEST_REDIS_URLS?.split(",")[0]?.split("=")[1] ?? "redis://127.0.0.1:6380",
          GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
          GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
          GATEHOUSE_REGION_LEASE_MS: "1500",
          GATEHOUSE_KAFKA_BROKERS: topic.brokers.join(","),
          GATEHOUSE_CHANGES_TOPIC: topic.name,
          GATEHOUSE_LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "inherit", "inherit"],
      });
      children.push(child);
      return child;
    };
    const holder = async () => {
      const owner = (await redis.get(`${keys.prefix}lease`)) ?? "";
      return Number(owner.split(":")[1] ?? 0);
    };
    try {
      const first = start();
      await expect.poll(holder, { timeout: 30_000 }).toBe(first.pid);
      const second = start();
      const accounts = ["500000000001", "500000000002", "500000000003"];
      const revisions = 80;
      const sending = (async () => {
        for (let r = 1; r <= revisions; r++) {
          await sendEvents(
            producer,
            topic.name,
            accounts.flatMap((a) => revisionEvents(a, r)),
          );
          for (const a of accounts) {
            const [p, u] = revisionEvents(a, r) as [TestEvent, TestEvent];
            await refView.applyRevision(a, r, "test:1", [
              { kind: "policy", id: p.id, state: p.state } as never,
              { kind: "user", id: u.id, state: u.state } as never,
            ]);
          }
          if (r % 10 === 0) await new Promise((res) => setTimeout(res, 50));
        }
      })();
      await expect
        .poll(async () => (await view.appliedRevision(accounts[0] as string)).revision, {
          timeout: 30_000,
          interval: 20,
        })
        .toBeGreaterThan(5);
      // The standby has not written: it holds no lease, and the active one's token is the first.
      expect(await holder()).toBe(first.pid);
      expect(await redis.get(`${keys.prefix}fence`)).toBe("1");
      first.kill("SIGKILL");
      await new Promise((r) => first.once("exit", r));
      await sending;
      await expect.poll(holder, { timeout: 30_000 }).toBe(second.pid);
      expect(await redis.get(`${keys.prefix}fence`)).toBe("2");
      for (const a of accounts) {
        await expect.poll(async () => (await view.appliedRevision(a)).revision, { timeout: 60_000 }).toBe(revisions);
        const arn = `arn:aws:iam::${a}:user/u`;
        expect(await view.readPrincipal(a, arn)).toEqual(await refView.readPrincipal(a, arn));
      }
      // The deposed applier's token writes nothing any more, even a revision that would apply.
      const deposed = createRegionView({ redis, keyPrefix: keys.prefix, fencingToken: "1" });
      const [p, u] = revisionEvents("500000000009", 1) as [TestEvent, TestEvent];
      expect(
        await deposed.applyRevision("500000000009", 1, "test:1", [
          { kind: "policy", id: p.id, state: p.state } as never,
          { kind: "user", id: u.id, state: u.state } as never,
        ]),
      ).toEqual({ kind: "fenced", appliedRevision: 0 });
      expect((await view.appliedRevision("500000000009")).revision).toBe(0);
      // Nor a watermark (it would claim freshness for a view it no longer writes).
      const before = await view.watermarks();
      expect(await deposed.setWatermark(0, Date.now() + 60_000)).toBe("fenced");
      expect(await view.watermarks()).toEqual(before);
    } finally {
      for (const c of children) c.kill("SIGKILL");
      await producer.disconnect();
      await redis.quit();
      await topic.delete();
      await keys.cleanup();
      await reference.cleanup();
    }
  });
});
