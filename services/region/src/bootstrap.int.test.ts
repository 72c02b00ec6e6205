// Bootstrap of a new or emptied region against a real control plane: from the topic alone while
// it holds everything ever published, from ListAccounts + ExportAccount once its start is gone.
import { decodeAccountSnapshot, decodeEntityChange, type TypedEntity } from "@gatehouse/events";
import { Decision, EntityType } from "@gatehouse/proto";
import { deleteKeysWithPrefix, testKafka, testRedis } from "@gatehouse/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { controlClient, OPERATOR, startTestControlPlane, startTestRegion } from "./region-stack.int-helper.ts";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const byKindAndId = (x: TypedEntity, y: TypedEntity) =>
  x.kind === y.kind ? (x.id < y.id ? -1 : x.id > y.id ? 1 : 0) : x.kind < y.kind ? -1 : 1;

describe("bootstrap of a new or emptied region (real Postgres, Kafka, Redis, control plane)", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  });

  it("from the topic while it holds its start; from exports once retention took it; again after Redis lost the view", async () => {
    const cp = await startTestControlPlane({ partitions: 2 });
    closers.push(() => cp.close());
    const operator = controlClient(cp.address, OPERATOR);
    closers.push(async () => operator.close());
    const accounts: { id: string; keyId: string; userArn: string; root: ReturnType<typeof controlClient> }[] = [];
    for (const name of ["ann", "ben"]) {
      const a = await operator.call("createAccount", { accountAlias: "" });
      const root = controlClient(cp.address, {
        accessKeyId: a.rootAccessKeyId,
        secretAccessKey: a.rootSecretAccessKey,
      });
      closers.push(async () => root.close());
      const user = await root.call("createUser", { userName: name });
      const policy = await root.call("createPolicy", {
        policyName: "reads",
        policyDocument: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
      });
      await root.call("attachPolicy", {
        entityType: EntityType.ENTITY_TYPE_USER,
        entityName: name,
        policyArn: policy.policy.arn,
      });
      const key = await root.call("createAccessKey", { userName: name });
      accounts.push({ id: a.accountId, keyId: key.accessKey.accessKeyId, userArn: user.user.arn, root });
    }
    const exports = async () => {
      const out = new Map<string, { revision: number; entities: TypedEntity[] }>();
      for (const a of accounts) {
        const e = await operator.call("exportAccount", { accountId: a.id, includeSealedSecrets: true });
        const entities = decodeAccountSnapshot(e.snapshot)
          .entities.map((c): TypedEntity => {
            const { kind, id, state } = decodeEntityChange(c);
            return { kind, id, state } as TypedEntity;
          })
          .sort(byKindAndId);
        out.set(a.id, { revision: Number(e.revision.revision), entities });
      }
      return out;
    };
    const converged = async (region: Awaited<ReturnType<typeof startTestRegion>>, active = accounts) => {
      for (const [id, e] of await exports()) {
        await expect
          .poll(async () => (await region.region.view.appliedRevision(id)).revision, { timeout: 30_000 })
          .toBe(e.revision);
        expect((await region.region.view.readAccount(id)).entities, `account ${id}`).toEqual(e.entities);
      }
      for (const a of active) {
        const d = await region.authorize({
          principal: { kind: { $case: "accessKeyId", value: a.keyId } },
          action: "s3:GetObject",
          resource: "arn:aws:s3:::b/k",
        });
        expect(d.decision).toBe(Decision.DECISION_ALLOW);
      }
    };

    // The topic holds everything ever published: read from its start.
    const fromTopic = await startTestRegion({ topic: cp.topic, controlPlane: cp });
    closers.push(() => fromTopic.close());
    expect(fromTopic.region.applier?.bootstrap).toMatchObject({ mode: "topic", state: "done", accounts: 0 });
    await converged(fromTopic);

    // Retention took the topic's start (as delete-records does): the topic alone would miss it all.
    const admin = testKafka().admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(cp.topic);
    await admin.deleteTopicRecords({
      topic: cp.topic,
      partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })),
    });
    expect((await admin.fetchTopicOffsets(cp.topic)).every((o) => BigInt(o.low) > 0n || o.high === "0")).toBe(true);
    await admin.disconnect();
    let fromExport = await startTestRegion({ topic: cp.topic, controlPlane: cp, name: "eu-west-1" });
    closers.push(() => fromExport.close());
    // Two accounts and the system account 000000000000, whose export carries the STS key set.
    expect(fromExport.region.applier?.bootstrap).toMatchObject({ mode: "export", state: "done", accounts: 3 });
    await converged(fromExport);
    const keySet = (await fromExport.region.view.readEntity("000000000000", "sts-key-set", "sts")).entity;
    expect(keySet?.kind === "sts-key-set" ? keySet.state?.keys.length : 0).toBeGreaterThanOrEqual(1);

    // Then the topic from where the exports began: a later write reaches both regions.
    const [first] = accounts;
    const deactivated = await first?.root.call("updateAccessKey", {
      userName: "ann",
      accessKeyId: first.keyId,
      status: "Inactive",
    });
    for (const region of [fromTopic, fromExport]) {
      await expect
        .poll(async () => (await region.region.view.appliedRevision(first?.id ?? "")).revision, { timeout: 30_000 })
        .toBe(Number(deactivated.revision.revision));
      await expect(
        region.authorize({
          principal: { kind: { $case: "accessKeyId", value: first?.keyId ?? "" } },
          action: "s3:GetObject",
          resource: "arn:aws:s3:::b/k",
        }),
      ).rejects.toMatchObject({ details: expect.stringContaining("not active") });
    }

    // Redis loses the view: a restart bootstraps again from the exports.
    await fromExport.close(true);
    const redis = testRedis({ region: "eu-west-1" });
    expect(await deleteKeysWithPrefix(redis, fromExport.keyPrefix)).toBeGreaterThan(0);
    await redis.quit();
    fromExport = await startTestRegion({ topic: cp.topic, controlPlane: cp, name: "eu-west-1", keys: fromExport.keys });
    closers.push(() => fromExport.close());
    expect(fromExport.region.applier?.bootstrap).toMatchObject({ mode: "export", state: "done", accounts: 3 });
    await converged(fromExport, accounts.slice(1));
    expect((await fromExport.region.view.readAccount(first?.id ?? "")).entities).toEqual(
      (await fromTopic.region.view.readAccount(first?.id ?? "")).entities,
    );
    for (const region of [fromTopic, fromExport]) expect(region.region.applier?.stats.gaps).toEqual([]);
  });
});
