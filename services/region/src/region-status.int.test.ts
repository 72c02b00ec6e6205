// GetRegionStatus's consumer lag and L2 figures, from a live applier and decider (real Kafka and Redis).
import { Decision } from "@gatehouse/proto";
import { createTestKeyPrefix, createTestTopic, testKafka, testRedis } from "@gatehouse/testkit";
import { createRegionView } from "@gatehouse/view-redis";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { startApplier } from "./applier.ts";
import { startTestRegion } from "./region-stack.int-helper.ts";
import { revisionEvents, sendEvents } from "./test-events.int-helper.ts";

const logger = pino({ level: "silent" });

describe("GetRegionStatus: consumer lag and L2 (real Kafka and Redis)", () => {
  it("lag is recorded while the applier catches up and reaches 0; a held revision keeps the commit behind; L2 size and reads", async () => {
    const topic = await createTestTopic({ prefix: "status", partitions: 2 });
    const keys = createTestKeyPrefix({ prefix: "status" });
    const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const redis = testRedis();
    const view = createRegionView({ redis, keyPrefix: keys.prefix });
    const accounts = ["600000000001", "600000000002"];
    const revisions = 300;
    try {
      for (let r = 1; r <= revisions; r += 50) {
        const batch = [];
        for (let i = r; i < r + 50; i++) batch.push(...accounts.flatMap((a) => revisionEvents(a, i)));
        await sendEvents(producer, topic.name, batch);
      }
      const admin = testKafka().admin();
      await admin.connect();
      const ends = (await admin.fetchTopicOffsets(topic.name)).sort((x, y) => x.partition - y.partition);
      await admin.disconnect();
      const total = ends.reduce((n, e) => n + Number(e.high), 0);
      expect(total).toBe(accounts.length * revisions * 2);

      let maxLag = 0;
      const applier = await startApplier({
        kafka: testKafka(),
        topic: topic.name,
        groupId: keys.prefix.slice(0, -1),
        view,
        logger,
        lagIntervalMs: 50,
      });
      try {
        await expect
          .poll(
            async () => {
              const lag = await view.consumerLag();
              maxLag = Math.max(
                maxLag,
                lag.reduce((n, l) => n + l.lag, 0),
              );
              return lag.map((l) => [l.partition, l.endOffset, l.appliedOffset, l.lag]);
            },
            { timeout: 20_000, interval: 10 },
          )
          .toEqual(ends.map((e) => [e.partition, Number(e.high), Number(e.high), 0]));
        // Seen behind before it caught up (the first record comes before anything is applied).
        expect(maxLag).toBeGreaterThan(0);
        for (const a of accounts) expect((await view.appliedRevision(a)).revision).toBe(revisions);
        // A legacy revision (no event count) is held until the account's next one: handled, not committed.
        await sendEvents(producer, topic.name, revisionEvents(accounts[0] as string, revisions + 1, true));
        const admin2 = testKafka().admin();
        await admin2.connect();
        const after = (await admin2.fetchTopicOffsets(topic.name)).sort((x, y) => x.partition - y.partition);
        await admin2.disconnect();
        await expect
          .poll(async () => (await view.consumerLag()).map((l) => [l.endOffset, l.appliedOffset, l.committedOffset]), {
            timeout: 30_000,
          })
          .toEqual(
            after.map((e, i) => {
              const end = Number(e.high);
              // Only the partition that got the two held events commits below its end; one that
              // never had a message has no committed offset (-1).
              if (end === 0) return [0, 0, -1];
              return [end, end, end === Number(ends[i]?.high) ? end : end - 2];
            }),
          );
        const size = await view.size();
        // Each revision writes a new policy; one user per account.
        expect(size.entities).toBe(accounts.length * (revisions + 1));
        expect(size.accounts).toBe(accounts.length);
        expect(size.usedMemoryBytes).toBeGreaterThan(0);
      } finally {
        await applier.stop();
      }

      // Through the gRPC call of a region (applier and decider) on the same topic.
      const region = await startTestRegion({ topic: topic.name });
      try {
        const user = `arn:aws:iam::${accounts[1]}:user/u`;
        await expect
          .poll(async () => (await region.region.view.appliedRevision(accounts[1] as string)).revision, {
            timeout: 60_000,
          })
          .toBe(revisions);
        const ask = (arn: string) =>
          region.authorize({
            principal: { kind: { $case: "arn", value: arn } },
            action: `svc:Action${revisions}`,
            resource: "*",
          });
        expect((await ask(user)).decision).toBe(Decision.DECISION_ALLOW);
        expect((await ask(user)).decision).toBe(Decision.DECISION_ALLOW);
        await expect(ask(`arn:aws:iam::${accounts[1]}:user/nobody`)).rejects.toMatchObject({
          details: expect.stringContaining("no principal"),
        });
        await expect
          .poll(async () => (await region.status()).consumerLag.map((l) => l.endOffset), { timeout: 30_000 })
          .toEqual((await view.consumerLag()).map((l) => l.endOffset));
        const status = await region.status();
        expect(status.consumerLag.map((l) => l.partition)).toEqual([0, 1]);
        expect(status.l2Accounts).toBe(accounts.length);
        expect(status.l2Entities).toBeGreaterThanOrEqual(accounts.length * revisions);
        expect(status.l2UsedMemoryBytes).toBeGreaterThan(0);
        // The user (found) and the stored resource policy for "*" (none) on the first ask, nothing on
        // the second (both cached in process), the unknown user (not found) on the third.
        expect([status.l2Reads, status.l2Hits, status.l2Misses]).toEqual([3, 1, 2]);
        expect(status.l1Hits).toBe(1);
      } finally {
        await region.close();
      }
    } finally {
      await producer.disconnect();
      await redis.quit();
      await topic.delete();
      await keys.cleanup();
    }
  });
});
