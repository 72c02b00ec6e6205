import { decodeEntityChange } from "@gatehouse/events";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";
import { collectEvents } from "./test-env.int-helper.ts";

const BUCKET = "arn:aws:s3:::rp-bucket";

/** A resource policy granting `principal` `action` on `resource`, pretty-printed (it is stored minified). */
const resourceDoc = (resource: string, action = "s3:GetObject", principal: unknown = { AWS: "111122223333" }) =>
  JSON.stringify(
    {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: principal, Action: action, Resource: resource }],
    },
    null,
    2,
  );
const minified = (doc: string) => JSON.stringify(JSON.parse(doc));

describe("resource policies (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture({ GATEHOUSE_QUOTA_RESOURCE_POLICIES_PER_ACCOUNT: "4" });
  });
  afterAll(async () => {
    await f.close();
  });

  it("put, get, overwrite, delete: revisions, the typed state on the stream, a tombstone, the export", async () => {
    const { root, accountId } = f;
    const events = await collectEvents(f.h.topic);
    try {
      const first = resourceDoc(`${BUCKET}/*`);
      const put = await root.call("putResourcePolicy", {
        resourceArn: BUCKET,
        policyDocument: first,
        clientRequestToken: "put-1",
      });
      const got = await root.call("getResourcePolicy", { resourceArn: BUCKET });
      expect(got).toMatchObject({ resourceArn: BUCKET, policyDocument: minified(first) });
      expect(got.createDateMs).toBeGreaterThan(0);
      // The same token replays the first answer; the same document again changes nothing.
      const replay = await root.call("putResourcePolicy", {
        resourceArn: BUCKET,
        policyDocument: first,
        clientRequestToken: "put-1",
      });
      expect(replay.revision).toEqual(put.revision);
      const same = await root.call("putResourcePolicy", { resourceArn: BUCKET, policyDocument: first });
      expect(same.revision.revision).toBe(put.revision.revision);

      const second = resourceDoc(`${BUCKET}/*`, "s3:PutObject");
      const overwritten = await root.call("putResourcePolicy", { resourceArn: BUCKET, policyDocument: second });
      expect(overwritten.revision.revision).toBe(put.revision.revision + 1);
      const after = await root.call("getResourcePolicy", { resourceArn: BUCKET });
      expect(after.policyDocument).toBe(minified(second));
      expect(after.createDateMs).toBe(got.createDateMs);
      expect(after.updateDateMs).toBeGreaterThanOrEqual(got.updateDateMs);

      const exported = await f.h.cp.store.exportAccount(accountId);
      expect(exported.entities.filter((e) => e.kind === "resource-policy")).toEqual([
        { kind: "resource-policy", id: BUCKET, state: expect.objectContaining({ policyDocument: minified(second) }) },
      ]);

      const deleted = await root.call("deleteResourcePolicy", { resourceArn: BUCKET, clientRequestToken: "del-1" });
      expect(deleted.revision.revision).toBe(overwritten.revision.revision + 1);
      await expectFailure(root.call("getResourcePolicy", { resourceArn: BUCKET }), {
        code: status.NOT_FOUND,
        awsName: "NoSuchEntity",
        field: "resourceArn",
      });
      await expectFailure(root.call("deleteResourcePolicy", { resourceArn: BUCKET }), {
        code: status.NOT_FOUND,
        awsName: "NoSuchEntity",
        field: "resourceArn",
      });
      expect(
        (await f.h.cp.store.exportAccount(accountId)).entities.filter((e) => e.kind === "resource-policy"),
      ).toEqual([]);

      // On Kafka: the state at each revision under the resource ARN, then its tombstone.
      const ofPolicy = () =>
        events
          .deduped(accountId)
          .filter((e) => e.key?.kind === "resource-policy")
          .map((e) => decodeEntityChange(e));
      await expect.poll(() => ofPolicy().length, { timeout: 20_000 }).toBe(3);
      const [created, updated, tombstone] = ofPolicy();
      expect(created).toMatchObject({ id: BUCKET, revision: put.revision.revision });
      expect(created?.state).toMatchObject({ resourceArn: BUCKET, accountId, policyDocument: minified(first) });
      expect(updated).toMatchObject({ id: BUCKET, revision: overwritten.revision.revision });
      expect(updated?.state).toEqual({
        resourceArn: BUCKET,
        accountId,
        policyDocument: minified(second),
        createdAtMs: got.createDateMs,
        updatedAtMs: after.updateDateMs,
      });
      expect(tombstone).toMatchObject({ id: BUCKET, revision: deleted.revision.revision, state: null });
    } finally {
      await events.stop();
    }
  });

  it("lists the account's policies in ARN order, page by page, filtered by ARN prefix", async () => {
    const { root, accountId } = f;
    const arns = [
      `arn:aws:sqs:us-east-1:${accountId}:orders`,
      "arn:aws:s3:::rp-list-a",
      `arn:aws:kms:eu-west-1:${accountId}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    ];
    for (const resourceArn of arns) {
      await root.call("putResourcePolicy", { resourceArn, policyDocument: resourceDoc("*", "*") });
    }
    const seen: string[] = [];
    let marker = "";
    for (let pages = 0; ; pages++) {
      const page = await root.call("listResourcePolicies", { page: { marker, maxItems: 1 } });
      expect(page.resourcePolicies).toHaveLength(1);
      seen.push(...page.resourcePolicies.map((p: { resourceArn: string }) => p.resourceArn));
      if (!page.page.isTruncated) break;
      marker = page.page.marker;
      expect(pages).toBeLessThan(3);
    }
    expect(seen).toEqual([...arns].sort());
    const sqs = await root.call("listResourcePolicies", { resourceArnPrefix: "arn:aws:sqs:" });
    expect(sqs.resourcePolicies.map((p: { resourceArn: string }) => p.resourceArn)).toEqual([arns[0]]);
    expect(sqs.page.isTruncated).toBe(false);
    // `_` and `%` in a prefix are text, not patterns.
    const none = await root.call("listResourcePolicies", { resourceArnPrefix: "arn:aws:s3:::rp_list" });
    expect(none.resourcePolicies).toEqual([]);
    await expectFailure(root.call("listResourcePolicies", { page: { marker: "not-a-marker", maxItems: 0 } }), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidInput",
      field: "marker",
    });
    for (const resourceArn of arns) await root.call("deleteResourcePolicy", { resourceArn });
  });

  it("refuses bad ARNs naming the field, other accounts' resources, and a bucket another account holds", async () => {
    const { root } = f;
    const doc = resourceDoc("*", "*");
    for (const resourceArn of [
      "",
      "rp-bucket",
      "arn:aws:s3",
      "arn:aws:s3:::",
      "arn:aws:s3:::rp-*",
      "arn:aws:s3:::rp-?",
      "arn:aws:s3:::rp bucket",
      "arn:aws:s3:::rp-bücket",
      "arn:aws-cn:s3:::rp-bucket",
      "arn:aws:sqs:us-east-1:12345:queue",
      `arn:aws:s3:::${"b".repeat(2048)}`,
    ]) {
      await expectFailure(
        root.call("putResourcePolicy", { resourceArn, policyDocument: doc }),
        { code: status.INVALID_ARGUMENT, awsName: "InvalidInput", field: "resourceArn" },
        resourceArn.slice(0, 60),
      );
    }
    await expectFailure(root.call("getResourcePolicy", { resourceArn: "arn:aws:s3:::*" }), {
      awsName: "InvalidInput",
      field: "resourceArn",
    });
    const other = await f.anotherAccount();
    await expectFailure(
      root.call("putResourcePolicy", {
        resourceArn: `arn:aws:sqs:us-east-1:${other.accountId}:q`,
        policyDocument: doc,
      }),
      { code: status.PERMISSION_DENIED, awsName: "AccessDenied", field: "resourceArn" },
    );

    // A bucket ARN has no account: the first account to put its policy holds it.
    const shared = "arn:aws:s3:::rp-shared-bucket";
    await other.root.call("putResourcePolicy", { resourceArn: shared, policyDocument: doc });
    await expectFailure(root.call("putResourcePolicy", { resourceArn: shared, policyDocument: doc }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
      field: "resourceArn",
    });
    for (const method of ["getResourcePolicy", "deleteResourcePolicy"]) {
      await expectFailure(root.call(method, { resourceArn: shared }), {
        awsName: "NoSuchEntity",
        field: "resourceArn",
      });
    }
    expect((await root.call("listResourcePolicies", {})).resourcePolicies).toEqual([]);
    // Once its holder deletes it, another account may put it.
    await other.root.call("deleteResourcePolicy", { resourceArn: shared });
    await root.call("putResourcePolicy", { resourceArn: shared, policyDocument: doc });
    expect((await root.call("getResourcePolicy", { resourceArn: shared })).resourceArn).toBe(shared);
    await root.call("deleteResourcePolicy", { resourceArn: shared });

    // Two accounts racing for one bucket: one holds it, the other is refused as above (not a
    // unique violation surfacing as another error).
    const racers = [root, other.root];
    for (let round = 0; round < 5; round++) {
      const raced = `arn:aws:s3:::rp-raced-${round}`;
      const results = await Promise.allSettled(
        racers.map((c) => c.call("putResourcePolicy", { resourceArn: raced, policyDocument: doc })),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const loser = results.findIndex((r) => r.status === "rejected");
      const lost = results[loser];
      await expectFailure(lost?.status === "rejected" ? Promise.reject(lost.reason) : Promise.resolve(), {
        code: status.PERMISSION_DENIED,
        awsName: "AccessDenied",
        field: "resourceArn",
      });
      await racers[1 - loser]?.call("deleteResourcePolicy", { resourceArn: raced });
    }
  });

  it("validates the document as a resource policy, naming the field, and writes nothing", async () => {
    const { root } = f;
    const resourceArn = "arn:aws:s3:::rp-doc";
    const noPrincipal = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: `${resourceArn}/*` });
    const tooLarge = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: "*",
          Action: "s3:GetObject",
          Resource: Array.from({ length: 700 }, (_, i) => `${resourceArn}/object-${String(i).padStart(5, "0")}`),
        },
      ],
    });
    expect(tooLarge.length).toBeGreaterThan(20_480);
    for (const [policyDocument, awsName] of [
      [noPrincipal, "MalformedPolicyDocument"],
      ["{not json", "MalformedPolicyDocument"],
      ["", "MalformedPolicyDocument"],
      [tooLarge, "LimitExceeded"],
    ] as const) {
      await expectFailure(root.call("putResourcePolicy", { resourceArn, policyDocument }), {
        awsName,
        field: "policyDocument",
      });
    }
    await expectFailure(root.call("getResourcePolicy", { resourceArn }), { awsName: "NoSuchEntity" });
  });

  it("authorizes iam:<Operation> on the resource ARN (List on *)", async () => {
    const { root, accountId } = f;
    const mine = `arn:aws:sqs:us-east-1:${accountId}:mine`;
    const theirs = `arn:aws:sqs:us-east-1:${accountId}:theirs`;
    await root.call("putResourcePolicy", { resourceArn: theirs, policyDocument: resourceDoc("*", "sqs:*") });
    const nobody = await f.aUser("rp-nobody");
    const keeper = await f.aUser("rp-keeper", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:PutResourcePolicy", "iam:GetResourcePolicy", "iam:DeleteResourcePolicy"],
          Resource: mine,
        }),
      ],
    });
    const denied = { code: status.PERMISSION_DENIED, awsName: "AccessDenied" };
    for (const call of [
      () => nobody.call("putResourcePolicy", { resourceArn: mine, policyDocument: resourceDoc("*", "sqs:*") }),
      () => nobody.call("getResourcePolicy", { resourceArn: theirs }),
      () => nobody.call("deleteResourcePolicy", { resourceArn: theirs }),
      () => nobody.call("listResourcePolicies", {}),
      () => keeper.call("putResourcePolicy", { resourceArn: theirs, policyDocument: resourceDoc("*", "sqs:*") }),
      () => keeper.call("getResourcePolicy", { resourceArn: theirs }),
      () => keeper.call("deleteResourcePolicy", { resourceArn: theirs }),
      () => keeper.call("listResourcePolicies", {}),
    ]) {
      await expectFailure(call(), denied);
    }
    await keeper.call("putResourcePolicy", { resourceArn: mine, policyDocument: resourceDoc("*", "sqs:SendMessage") });
    expect((await keeper.call("getResourcePolicy", { resourceArn: mine })).resourceArn).toBe(mine);
    await keeper.call("deleteResourcePolicy", { resourceArn: mine });
    expect((await root.call("getResourcePolicy", { resourceArn: theirs })).resourceArn).toBe(theirs);
    await root.call("deleteResourcePolicy", { resourceArn: theirs });
  });

  it("counts an account's policies against its quota; replacing one is not a new one", async () => {
    const account = await f.anotherAccount();
    const arn = (i: number) => `arn:aws:sns:us-east-1:${account.accountId}:topic-${i}`;
    const doc = resourceDoc("*", "sns:Publish");
    for (let i = 0; i < 4; i++)
      await account.root.call("putResourcePolicy", { resourceArn: arn(i), policyDocument: doc });
    await expectFailure(account.root.call("putResourcePolicy", { resourceArn: arn(4), policyDocument: doc }), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
      field: "resourceArn",
    });
    await account.root.call("putResourcePolicy", { resourceArn: arn(0), policyDocument: resourceDoc("*", "sns:*") });
    await account.root.call("deleteResourcePolicy", { resourceArn: arn(1) });
    await account.root.call("putResourcePolicy", { resourceArn: arn(4), policyDocument: doc });
    expect((await account.root.call("listResourcePolicies", {})).resourcePolicies).toHaveLength(4);
  });
});
