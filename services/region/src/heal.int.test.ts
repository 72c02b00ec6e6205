// Gap healing end to end: a real control plane publishes to its topic; a test forwarder copies
// that topic to the one a region reads, leaving out a range of one account's revisions (Kafka
// cannot delete from the middle of a partition). The region must heal the account from the
// control plane's export and then decide exactly as a region that read the whole topic.
import { Decision, EntityType, type Revision } from "@gatehouse/proto";
import { createTestKeyPrefix, createTestTopic, type TestTopic, testKafka, testRedis } from "@gatehouse/testkit";
import { createRegionView } from "@gatehouse/view-redis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Applier, startApplier } from "./applier.ts";
import { createControlPlaneSource } from "./control-plane-source.ts";
import {
  controlClient,
  exportedEntities,
  OPERATOR,
  startTestControlPlane,
  startTestRegion,
  type TestControlPlane,
  type TestRegion,
} from "./region-stack.int-helper.ts";
import { startTopicForwarder, type TopicForwarder } from "./topic-forwarder.int-helper.ts";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const USER = EntityType.ENTITY_TYPE_USER;

describe("a revision gap is healed from the control plane's export (real Postgres, Kafka, Redis, control plane)", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  });

  it("a dropped range of one account's revisions: the region converges to the export and decides as a region that saw everything", async () => {
    const cp = await startTestControlPlane({ partitions: 2 });
    closers.push(() => cp.close());
    const operator = controlClient(cp.address, OPERATOR);
    closers.push(async () => operator.close());
    const account = await operator.call("createAccount", { accountAlias: "" });
    const acct: string = account.accountId;
    const root = controlClient(cp.address, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    closers.push(async () => root.close());
    const alice = await root.call("createUser", { userName: "alice" });
    const policy = await root.call("createPolicy", {
      policyName: "reads",
      policyDocument: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
    });
    // The range the region will not see: the attach and alice's access key.
    const attached = await root.call("attachPolicy", {
      entityType: USER,
      entityName: "alice",
      policyArn: policy.policy.arn,
    });
    const key = await root.call("createAccessKey", { userName: "alice" });
    const tagged = await root.call("tagUser", { entityName: "alice", tags: [{ key: "team", value: "red" }] });
    const from = Number(attached.revision.revision);
    const to = Number(key.revision.revision);

    const gapTopic = await createTestTopic({ prefix: "heal", partitions: cp.partitions });
    closers.push(() => gapTopic.delete());
    const forwarder = await startTopicForwarder({
      from: cp.topic,
      to: gapTopic.name,
      decide: (e) => (e.accountId === acct && e.revision >= from && e.revision <= to ? "drop" : "forward"),
    });
    closers.push(() => forwarder.stop());
    const healed = await startTestRegion({ topic: gapTopic.name, controlPlane: cp });
    closers.push(() => healed.close());
    // The reference reads the control plane's own topic: nothing missing, nothing to heal.
    const reference = await startTestRegion({ topic: cp.topic, name: "eu-west-1" });
    closers.push(() => reference.close());

    const last = Number(tagged.revision.revision);
    await expect.poll(() => healed.region.applier?.stats.healed, { timeout: 30_000 }).toBe(1);
    await expect
      .poll(async () => (await reference.region.view.appliedRevision(acct)).revision, { timeout: 30_000 })
      .toBe(last);
    expect(forwarder.dropped).toEqual([`${acct}@${from}`, `${acct}@${to}`]);
    expect(healed.region.applier?.stats.gaps).toEqual([
      { accountId: acct, appliedRevision: from - 1, seenRevision: last },
    ]);
    expect(reference.region.applier?.stats.gaps).toEqual([]);

    // The same state as the control plane's export (sealed secrets included) and as the reference.
    const exported = await operator.call("exportAccount", { accountId: acct, includeSealedSecrets: true });
    const view = await healed.region.view.readAccount(acct);
    const ref = await reference.region.view.readAccount(acct);
    expect(view.applied).toEqual(ref.applied);
    expect(view.applied.revision).toBe(last);
    expect(view.entities).toEqual(exportedEntities(exported.snapshot));
    expect(view.entities).toEqual(ref.entities);
    const sealed = view.entities.find((e) => e.kind === "access-key" && e.id === key.accessKey.accessKeyId);
    expect(sealed?.state).toHaveProperty("secretCiphertext");

    // The same decisions, by ARN and by the access key created in the missing range.
    const questions = [
      { principal: { kind: { $case: "arn" as const, value: alice.user.arn } }, action: "s3:GetObject" },
      { principal: { kind: { $case: "arn" as const, value: alice.user.arn } }, action: "s3:PutObject" },
      {
        principal: { kind: { $case: "accessKeyId" as const, value: key.accessKey.accessKeyId } },
        action: "s3:GetObject",
      },
    ];
    const ask = (r: TestRegion, minRevision: Revision) =>
      Promise.all(
        questions.map(async (q) => (await r.authorize({ ...q, resource: "arn:aws:s3:::b/k", minRevision })).decision),
      );
    const expected = [Decision.DECISION_ALLOW, Decision.DECISION_IMPLICIT_DENY, Decision.DECISION_ALLOW];
    expect(await ask(reference, tagged.revision)).toEqual(expected);
    expect(await ask(healed, tagged.revision)).toEqual(expected);

    // It resumes with the revisions above the export: a detach reaches both.
    const detached = await root.call("detachPolicy", {
      entityType: USER,
      entityName: "alice",
      policyArn: policy.policy.arn,
    });
    const denied = [Decision.DECISION_IMPLICIT_DENY, Decision.DECISION_IMPLICIT_DENY, Decision.DECISION_IMPLICIT_DENY];
    expect(await ask(healed, detached.revision)).toEqual(denied);
    expect(await ask(reference, detached.revision)).toEqual(denied);
    expect(healed.region.applier?.stats.gaps).toHaveLength(1);
    expect((await healed.status()).accounts.find((a) => a.accountId === acct)?.gap).toBe("");
  });
});

describe("healing while the control plane is down", () => {
  let cp: TestControlPlane;
  let gapTopic: TestTopic;
  let forwarder: TopicForwarder;
  let region: TestRegion;
  beforeAll(async () => {
    // A fixed port, so the region finds the control plane again where it was once it restarts.
    cp = await startTestControlPlane({ partitions: 2, port: 51000 + Math.floor(Math.random() * 450) });
    gapTopic = await createTestTopic({ prefix: "healdown", partitions: cp.partitions });
  });
  afterAll(async () => {
    await region?.close();
    await forwarder?.stop();
    await gapTopic?.delete();
    await cp?.close();
  });

  it("the account stays gapped and visible in status, retried with backoff; other accounts keep applying; it heals once the control plane is back", async () => {
    const operator = controlClient(cp.address, OPERATOR);
    const open = async () => {
      const a = await operator.call("createAccount", { accountAlias: "" });
      const root = controlClient(cp.address, {
        accessKeyId: a.rootAccessKeyId,
        secretAccessKey: a.rootSecretAccessKey,
      });
      return { id: a.accountId as string, root };
    };
    const gapped = await open();
    const other = await open();
    try {
      const grant = doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" });
      const alice = await gapped.root.call("createUser", { userName: "alice" });
      const bob = await other.root.call("createUser", { userName: "bob" });
      const aliceReads = await gapped.root.call("putInlinePolicy", {
        entityType: USER,
        entityName: "alice",
        policyName: "reads",
        policyDocument: grant,
      });
      const aliceTagged = await gapped.root.call("tagUser", { entityName: "alice", tags: [{ key: "t", value: "1" }] });
      const bobReads = await other.root.call("putInlinePolicy", {
        entityType: USER,
        entityName: "bob",
        policyName: "reads",
        policyDocument: grant,
      });
      const dropped = Number(aliceReads.revision.revision);
      forwarder = await startTopicForwarder({
        from: cp.topic,
        to: gapTopic.name,
        decide: (e) => {
          if (e.accountId === gapped.id && e.revision === dropped) return "drop";
          if (e.accountId === gapped.id && e.revision > dropped) return "hold";
          if (e.accountId === other.id && e.revision >= Number(bobReads.revision.revision)) return "hold";
          return "forward";
        },
      });
      // Backoff capped low, so the heal follows the control plane's return within the test's deadlines.
      region = await startTestRegion({
        topic: gapTopic.name,
        controlPlane: cp,
        extraEnv: { GATEHOUSE_REGION_HEAL_BACKOFF_MAX_MS: "1000" },
      });
      await expect
        .poll(async () => (await region.region.view.appliedRevision(gapped.id)).revision, { timeout: 30_000 })
        .toBe(dropped - 1);
      await expect
        .poll(async () => (await region.region.view.appliedRevision(other.id)).revision, { timeout: 30_000 })
        .toBe(Number(bobReads.revision.revision) - 1);

      await cp.stop();
      await forwarder.release(gapped.id);
      // Gapped, visible to every decider through status, and retried with growing pauses.
      await expect
        .poll(async () => (await region.status()).accounts.find((a) => a.accountId === gapped.id)?.gap, {
          timeout: 30_000,
        })
        .toBe(`${dropped}>${aliceTagged.revision.revision}`);
      await expect
        .poll(() => region.region.applier?.healing().find((h) => h.accountId === gapped.id)?.attempts ?? 0, {
          timeout: 30_000,
        })
        .toBeGreaterThanOrEqual(3);
      expect(region.region.applier?.healing()[0]?.lastError).toMatch(/control plane/);
      // Another account's revisions keep applying meanwhile.
      await forwarder.release(other.id);
      const bobAsks = await region.authorize({
        principal: { kind: { $case: "arn", value: bob.user.arn } },
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        minRevision: bobReads.revision,
      });
      expect(bobAsks.decision).toBe(Decision.DECISION_ALLOW);
      expect((await region.region.view.appliedRevision(gapped.id)).gap).toBeDefined();
      expect(region.region.applier?.stats.healed).toBe(0);

      await cp.start();
      const aliceAsks = await region.authorize({
        principal: { kind: { $case: "arn", value: alice.user.arn } },
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        minRevision: aliceTagged.revision,
      });
      expect(aliceAsks.decision).toBe(Decision.DECISION_ALLOW);
      expect(region.region.applier?.stats.healed).toBe(1);
      expect(region.region.applier?.healing()).toEqual([]);
      expect((await region.status()).accounts.find((a) => a.accountId === gapped.id)?.gap).toBe("");
    } finally {
      gapped.root.close();
      other.root.close();
      operator.close();
    }
  });
});

describe("revisions read while an account heals", () => {
  it("are held and applied in order above the export once it lands (the export answers late here)", async () => {
    const cp = await startTestControlPlane({ partitions: 2 });
    const gapTopic = await createTestTopic({ prefix: "healheld", partitions: cp.partitions });
    const keys = createTestKeyPrefix({ prefix: "healheld" });
    const redis = testRedis();
    const operator = controlClient(cp.address, OPERATOR);
    const source = createControlPlaneSource({ address: cp.address, credentials: OPERATOR });
    let forwarder: TopicForwarder | undefined;
    let applier: Applier | undefined;
    try {
      const account = await operator.call("createAccount", { accountAlias: "" });
      const acct: string = account.accountId;
      const root = controlClient(cp.address, {
        accessKeyId: account.rootAccessKeyId,
        secretAccessKey: account.rootSecretAccessKey,
      });
      const tag = (value: string) => root.call("tagUser", { entityName: "alice", tags: [{ key: "step", value }] });
      await root.call("createUser", { userName: "alice" });
      const dropped = Number((await tag("dropped")).revision.revision) + 1;
      forwarder = await startTopicForwarder({
        from: cp.topic,
        to: gapTopic.name,
        decide: (e) => (e.accountId === acct && e.revision === dropped ? "drop" : "forward"),
      });
      // The control plane answers the export, but the answer reaches the region only when let go.
      let letGo = () => {};
      const gate = new Promise<void>((resolve) => {
        letGo = resolve;
      });
      let exportedAt = 0;
      const late = {
        ...source,
        async exportAccount(accountId: string) {
          const e = await source.exportAccount(accountId);
          exportedAt = e.revision;
          await gate;
          return e;
        },
      };
      applier = await startApplier({
        kafka: testKafka(),
        topic: gapTopic.name,
        groupId: keys.prefix.slice(0, -1),
        view: createRegionView({ redis, keyPrefix: keys.prefix }),
        source: late,
        logger: pino({ level: "silent" }),
      });
      const view = createRegionView({ redis, keyPrefix: keys.prefix });
      expect(Number((await tag("missing")).revision.revision)).toBe(dropped);
      const seen = Number((await tag("seen")).revision.revision);
      await expect.poll(() => exportedAt, { timeout: 30_000 }).toBe(seen);
      // Written after the export was taken: read from the topic while the account heals.
      await tag("after-1");
      const last = Number((await tag("after-2")).revision.revision);
      await expect.poll(() => applier?.healing()[0]?.held, { timeout: 30_000 }).toBe(3);
      expect((await view.appliedRevision(acct)).gap).toBe(`${dropped}>${seen}`);
      letGo();
      await expect.poll(async () => (await view.appliedRevision(acct)).revision, { timeout: 30_000 }).toBe(last);
      expect(applier.stats.healed).toBe(1);
      expect(applier.healing()).toEqual([]);
      const now = await operator.call("exportAccount", { accountId: acct, includeSealedSecrets: true });
      expect((await view.readAccount(acct)).entities).toEqual(exportedEntities(now.snapshot));
      root.close();
    } finally {
      await applier?.stop();
      await forwarder?.stop();
      source.close();
      operator.close();
      await redis.quit();
      await keys.cleanup();
      await gapTopic.delete();
      await cp.close();
    }
  });
});
