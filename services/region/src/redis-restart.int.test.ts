// L1 keeps serving while the region's Redis restarts: a real redis-server of the test's own
// (port in 51000–51999, no persistence, like the local stack's) killed with SIGKILL and started
// again empty; the applier then rebuilds the view, and the decider goes back to it.
import { type ChildProcess, spawn } from "node:child_process";
import { AuthorizeRequest, type AuthorizeResponse, AuthorizerServiceClient, Decision } from "@gatehouse/proto";
import { createTestTopic, testKafka } from "@gatehouse/testkit";
import { createRegionView } from "@gatehouse/view-redis";
import { credentials, Metadata } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type Applier, startApplier } from "./applier.ts";
import { startDeciderServer } from "./decider-server.ts";
import { revisionEvents, sendEvents } from "./test-events.int-helper.ts";

const logger = pino({ level: "silent" });

async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null }).on(
    "error",
    () => {},
  );
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  return child;
}

describe("a region's Redis restarts (real redis-server process, real Kafka)", () => {
  it("L1 keeps answering while Redis is down and after it comes back empty, until the rebuilt view catches up", async () => {
    const port = 51500 + Math.floor(Math.random() * 450);
    let server = await startRedisServer(port);
    const topic = await createTestTopic({ prefix: "redisrestart", partitions: 2 });
    const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const connect = () =>
      new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1 }).on("error", () => {
        // Refused while the server is down: expected here.
      });
    const redis = connect();
    const view = createRegionView({ redis, keyPrefix: "gatehouse:restart:" });
    const acct = "700000000001";
    const arn = `arn:aws:iam::${acct}:user/u`;
    const appliers: Applier[] = [];
    const start = async () => {
      let lost = false;
      const applier = await startApplier({
        kafka: testKafka(),
        topic: topic.name,
        groupId: `redisrestart-${port}`,
        view,
        logger,
        onViewLost: () => {
          lost = true;
        },
      });
      appliers.push(applier);
      return { applier, lost: () => lost };
    };
    const decider = await startDeciderServer({
      view,
      subscriber: connect(),
      listen: { host: "127.0.0.1", port: 0 },
      region: "us-east-1",
      l1MaxBytes: 1 << 20,
      logger,
    });
    const client = new AuthorizerServiceClient(`127.0.0.1:${decider.port}`, credentials.createInsecure());
    const ask = (action: string, minRevision?: number) =>
      new Promise<AuthorizeResponse>((resolve, reject) =>
        client.authorize(
          AuthorizeRequest.create({
            principal: { kind: { $case: "arn", value: arn } },
            action,
            resource: "*",
            ...(minRevision === undefined ? {} : { minRevision: { accountId: acct, revision: minRevision } }),
          }),
          new Metadata(),
          { deadline: Date.now() + 10_000 },
          (err, res) => (err === null ? resolve(res) : reject(err)),
        ),
      );
    try {
      for (let r = 1; r <= 3; r++) await sendEvents(producer, topic.name, revisionEvents(acct, r));
      const first = await start();
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 30_000 }).toBe(3);
      const warm = await ask("svc:Action3");
      expect([warm.decision, Number(warm.evaluatedAt?.revision)]).toEqual([Decision.DECISION_ALLOW, 3]);

      server.kill("SIGKILL");
      await new Promise((r) => server.once("exit", r));
      // Down: answered from L1, at the revision it holds.
      for (const action of ["svc:Action3", "svc:Action2"]) {
        const d = await ask(action);
        expect([d.decision, Number(d.evaluatedAt?.revision)]).toEqual([
          action === "svc:Action3" ? Decision.DECISION_ALLOW : Decision.DECISION_IMPLICIT_DENY,
          3,
        ]);
      }
      // Back, empty (no persistence): the view is gone, L1 still answers until the view catches up.
      server = await startRedisServer(port);
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 30_000 }).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
      const meanwhile = await ask("svc:Action3");
      expect([meanwhile.decision, Number(meanwhile.evaluatedAt?.revision)]).toEqual([Decision.DECISION_ALLOW, 3]);

      // The applier meets the lost view on the next revision and stops; a restart rebuilds it.
      await sendEvents(producer, topic.name, revisionEvents(acct, 4));
      await expect.poll(first.lost, { timeout: 30_000 }).toBe(true);
      await first.applier.stop();
      await start();
      const fresh = await ask("svc:Action4", 4);
      expect([fresh.decision, Number(fresh.evaluatedAt?.revision)]).toEqual([Decision.DECISION_ALLOW, 4]);
      expect((await ask("svc:Action3")).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    } finally {
      client.close();
      await decider.close();
      for (const a of appliers) await a.stop().catch(() => {});
      await producer.disconnect();
      await topic.delete();
      redis.disconnect();
      server.kill("SIGKILL");
    }
  });
});
