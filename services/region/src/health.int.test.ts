// grpc.health.v1 and reflection on real region processes: a decider is NOT_SERVING until the
// region has applied the topic up to its end as of the decider's start, then SERVING; SIGTERM
// reports NOT_SERVING, lets an in-flight call finish, stops the applier with its offsets
// committed; with Kafka unreachable the process stays up and its liveness ("") stays SERVING.
import { createServer } from "node:net";
import { createHealthClient, type HealthStatus, LIVENESS } from "@gatehouse/lifecycle";
import { AuthorizeRequest, type AuthorizeResponse, AuthorizerServiceClient, Decision } from "@gatehouse/proto";
import { createTestKeyPrefix, createTestTopic, testKafka, testRedis } from "@gatehouse/testkit";
import { createRegionView } from "@gatehouse/view-redis";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { APPLIER_READINESS, DECIDER_READINESS } from "./readiness.ts";
import { type RegionProcess, startRegionProcess } from "./region-process.int-helper.ts";
import { revisionEvents, sendEvents } from "./test-events.int-helper.ts";

/** A region process; its warnings and errors copied to stderr. */
const startProcess = (role: "applier" | "decider" | "all", env: Record<string, string>) =>
  startRegionProcess(role, { GATEHOUSE_REGION_HEALTH_INTERVAL_MS: "200", ...env }, 40);

/** A port in this branch's range with nothing listening (checked by binding it, then closing). */
async function freePort(from: number, to: number): Promise<number> {
  for (let port = from; port < to; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer()
        .once("error", () => resolve(false))
        .listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}-${to - 1}`);
}

describe("health, reflection and graceful shutdown of region processes (real Kafka and Redis)", () => {
  it("NOT_SERVING until caught up with the topic's end at start, then SERVING; SIGTERM: NOT_SERVING, the in-flight call completes, offsets committed", async () => {
    const topic = await createTestTopic({ prefix: "health", partitions: 2 });
    const keys = createTestKeyPrefix({ prefix: "health" });
    const redis = testRedis();
    const view = createRegionView({ redis, keyPrefix: keys.prefix });
    const kafka = testKafka();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const accounts = ["610000000001", "610000000002", "610000000003"];
    const revisions = 40;
    const procs: RegionProcess[] = [];
    const env = {
      GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
      GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
      GATEHOUSE_KAFKA_BROKERS: topic.brokers.join(","),
      GATEHOUSE_CHANGES_TOPIC: topic.name,
      GATEHOUSE_REGION_SHUTDOWN_GRACE_MS: "20000",
    };
    try {
      for (let r = 1; r <= revisions; r++) {
        await sendEvents(
          producer,
          topic.name,
          accounts.flatMap((a) => revisionEvents(a, r)),
        );
      }
      // A decider alone: nothing has applied the topic since it started, so it is not ready.
      const decider = startProcess("decider", env);
      procs.push(decider);
      const address = `127.0.0.1:${await decider.port}`;
      const health = createHealthClient(address);
      const seen: HealthStatus[] = [];
      let servingAt: Promise<number[]> | undefined;
      let watchEnded = false;
      health.watch(
        DECIDER_READINESS,
        (s) => {
          seen.push(s);
          // What the view held when SERVING was first sent.
          if (s === "SERVING")
            servingAt ??= Promise.all(accounts.map(async (a) => (await view.appliedRevision(a)).revision));
        },
        () => {
          watchEnded = true;
        },
      );
      expect(await health.check(LIVENESS)).toBe("SERVING");
      expect(await health.listServices()).toEqual(
        expect.arrayContaining(["gatehouse.v1.AuthorizerService", "grpc.health.v1.Health"]),
      );
      await new Promise((r) => setTimeout(r, 1500));
      expect(await health.check(DECIDER_READINESS)).toBe("NOT_SERVING");
      expect(seen).toEqual(["NOT_SERVING"]);

      // The applier catches up: SERVING, and by then every revision sent before is applied.
      const applier = startProcess("applier", { ...env, GATEHOUSE_REGION_HEALTH_LISTEN: "127.0.0.1:0" });
      procs.push(applier);
      await expect.poll(() => seen.at(-1), { timeout: 60_000 }).toBe("SERVING");
      expect(seen).toEqual(["NOT_SERVING", "SERVING"]);
      expect(await servingAt).toEqual(accounts.map(() => revisions));
      const applierHealth = createHealthClient(`127.0.0.1:${await applier.port}`);
      expect(await applierHealth.check(APPLIER_READINESS)).toBe("SERVING");
      expect(await applierHealth.check(LIVENESS)).toBe("SERVING");
      expect(await applierHealth.listServices()).toContain("grpc.health.v1.Health");
      applierHealth.close();

      // An in-flight call (waiting for a revision not yet applied) when SIGTERM arrives.
      const [account] = accounts as [string];
      const client = new AuthorizerServiceClient(address, credentials.createInsecure());
      const inFlight = new Promise<AuthorizeResponse>((resolve, reject) =>
        client.authorize(
          AuthorizeRequest.create({
            principal: { kind: { $case: "arn", value: `arn:aws:iam::${account}:user/u` } },
            action: `svc:Action${revisions + 1}`,
            resource: "*",
            correlationId: "in-flight",
            minRevision: { accountId: account, revision: revisions + 1 },
          }),
          new Metadata(),
          { deadline: Date.now() + 30_000 },
          (e: ServiceError | null, res) => (e === null ? resolve(res) : reject(e)),
        ),
      );
      await new Promise((r) => setTimeout(r, 500));
      decider.child.kill("SIGTERM");
      await expect.poll(() => seen.at(-1), { timeout: 5000 }).toBe("NOT_SERVING");
      // Draining: the process is still up, waiting for the call, and says NOT_SERVING.
      await new Promise((r) => setTimeout(r, 1000));
      expect(decider.child.exitCode).toBeNull();
      await sendEvents(producer, topic.name, revisionEvents(account, revisions + 1));
      const answer = await inFlight;
      expect(answer.decision).toBe(Decision.DECISION_ALLOW);
      expect(answer.correlationId).toBe("in-flight");
      expect(await decider.exited).toBe(0);
      expect(watchEnded).toBe(true);
      client.close();
      health.close();

      // The applier stops on SIGTERM with its offsets committed up to the topic's end.
      applier.child.kill("SIGTERM");
      expect(await applier.exited).toBe(0);
      const admin = kafka.admin();
      await admin.connect();
      try {
        const groups = (await admin.listGroups()).groups.filter((g) =>
          g.groupId.startsWith(env.GATEHOUSE_REGION_CONSUMER_GROUP),
        );
        expect(groups).toHaveLength(1);
        // Partitions that hold events (an empty one has no committed offset).
        const ends = (await admin.fetchTopicOffsets(topic.name)).filter((e) => e.high !== "0");
        const [committed] = await admin.fetchOffsets({ groupId: groups[0]?.groupId ?? "", topics: [topic.name] });
        const offsets = new Map((committed?.partitions ?? []).map((p) => [p.partition, p.offset]));
        expect(ends.length).toBeGreaterThan(0);
        expect(Object.fromEntries(ends.map((e) => [e.partition, offsets.get(e.partition)]))).toEqual(
          Object.fromEntries(ends.map((e) => [e.partition, e.high])),
        );
      } finally {
        await admin.disconnect();
      }
    } finally {
      for (const p of procs) p.child.kill("SIGKILL");
      await producer.disconnect();
      await redis.quit();
      await topic.delete();
      await keys.cleanup();
    }
  }, 120_000);

  it("Kafka unreachable: the process stays up, liveness stays SERVING, readiness NOT_SERVING", async () => {
    const keys = createTestKeyPrefix({ prefix: "healthnokafka" });
    // A fixed port: the process logs "region started" only once the applier has given up connecting.
    const port = await freePort(58900, 58990);
    const region = startProcess("all", {
      GATEHOUSE_REGION_LISTEN: `127.0.0.1:${port}`,
      GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
      GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
      GATEHOUSE_KAFKA_BROKERS: `127.0.0.1:${await freePort(58990, 59000)}`,
      GATEHOUSE_CHANGES_TOPIC: "gatehouse.health.nokafka",
      GATEHOUSE_LOG_LEVEL: "error",
    });
    let exitCode: number | null | undefined;
    void region.exited.then((c) => {
      exitCode = c;
    });
    try {
      const health = createHealthClient(`127.0.0.1:${port}`);
      await expect.poll(() => health.check(LIVENESS).catch(() => "down"), { timeout: 20_000 }).toBe("SERVING");
      // Past kafkajs's connection retries (about 10 s), checked every second.
      const until = Date.now() + 25_000;
      while (Date.now() < until) {
        expect(exitCode).toBeUndefined();
        expect(await health.check(LIVENESS)).toBe("SERVING");
        expect(await health.check(DECIDER_READINESS)).toBe("NOT_SERVING");
        await new Promise((r) => setTimeout(r, 1000));
      }
      health.close();
      region.child.kill("SIGTERM");
      expect(await region.exited).toBe(0);
    } finally {
      region.child.kill("SIGKILL");
      await keys.cleanup();
    }
  }, 90_000);
});
