import { EntityType } from "@gatehouse/proto";
import { createOutboxSource } from "@gatehouse/store-postgres";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, snapshotEntities, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

const TRUST = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
const S3_READ = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" });
const USER = EntityType.ENTITY_TYPE_USER;
const JWKS_1 = JSON.stringify({ keys: [{ kty: "RSA", kid: "one", n: "AQAB", e: "AQAB" }] });
const JWKS_2 = JSON.stringify({ keys: [{ kty: "RSA", kid: "two", n: "AQAB", e: "AQAB" }] });
const TAGS = [
  { key: "A", value: "2" },
  { key: "b", value: "3" },
];

// Every change event carries its entity's full new state, so the change log alone must rebuild the
// account exactly as the live export showed it at any revision: this checks both the export at a
// past revision and that no write changes state without an event.
describe("ExportAccount at a past revision (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f?.close();
  });

  it("rebuilds the account as the live export showed it at each earlier revision", async () => {
    const { root } = f;
    const seen: { revision: number; entities: [string, unknown][] }[] = [];
    const checkpoint = async () => {
      const live = await root.call("exportAccount", { accountId: "" });
      seen.push({ revision: live.revision.revision, entities: snapshotEntities(live.snapshot) });
    };

    await checkpoint();
    await root.call("createUser", { userName: "alice", tags: [{ key: "team", value: "red" }] });
    await root.call("createGroup", { groupName: "readers", path: "/" });
    await root.call("addUserToGroup", { groupName: "readers", userName: "alice" });
    const policy = await root.call("createPolicy", { policyName: "s3-read", path: "/", policyDocument: S3_READ });
    await root.call("attachPolicy", { entityType: USER, entityName: "alice", policyArn: policy.policy.arn });
    await root.call("attachPolicy", {
      entityType: USER,
      entityName: "alice",
      policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
    });
    await root.call("putInlinePolicy", {
      entityType: USER,
      entityName: "alice",
      policyName: "i",
      policyDocument: S3_READ,
    });
    await checkpoint();
    await root.call("createAccessKey", { userName: "alice" });
    await root.call("createRole", {
      roleName: "web",
      assumeRolePolicyDocument: TRUST,
      permissionsBoundaryArn: "arn:aws:iam::aws:policy/PowerUserAccess",
    });
    await root.call("putPermissionsBoundary", {
      entityType: USER,
      entityName: "alice",
      permissionsBoundaryArn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
    });
    await root.call("createInstanceProfile", {
      instanceProfileName: "web",
      path: "/",
      tags: [{ key: "a", value: "1" }],
    });
    await root.call("addRoleToInstanceProfile", { instanceProfileName: "web", roleName: "web" });
    await root.call("createPolicyVersion", {
      policyArn: policy.policy.arn,
      policyDocument: policyDoc({ Effect: "Allow", Action: "s3:*", Resource: "*" }),
      setAsDefault: true,
    });
    await root.call("tagUser", { entityName: "alice", tags: [{ key: "team", value: "blue" }] });
    await root.call("createAccountAlias", { accountAlias: `exp-${f.accountId}` });
    const oidc = await root.call("createOpenIdConnectProvider", {
      url: "https://issuer.example.com",
      clientIdList: ["app"],
      jwksJson: JWKS_1,
    });
    const provider = { openIdConnectProviderArn: oidc.openIdConnectProviderArn };
    await root.call("updateOpenIdConnectProviderJwks", { ...provider, jwksJson: JWKS_2 });
    await root.call("tagOpenIdConnectProvider", { entityName: provider.openIdConnectProviderArn, tags: TAGS });
    await root.call("tagInstanceProfile", { entityName: "web", tags: TAGS });
    await checkpoint();
    await root.call("updateOpenIdConnectProviderJwks", { ...provider, jwksJson: "" });
    await root.call("untagOpenIdConnectProvider", { entityName: provider.openIdConnectProviderArn, tagKeys: ["b"] });
    await root.call("removeRoleFromInstanceProfile", { instanceProfileName: "web", roleName: "web" });
    await root.call("deleteInstanceProfile", { instanceProfileName: "web" });
    await root.call("removeUserFromGroup", { groupName: "readers", userName: "alice" });
    await root.call("deleteGroup", { groupName: "readers" });
    await root.call("deleteInlinePolicy", { entityType: USER, entityName: "alice", policyName: "i" });
    // The account's last use of an AWS managed policy: it leaves the account's state.
    await root.call("detachPolicy", {
      entityType: USER,
      entityName: "alice",
      policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
    });
    await checkpoint();

    const kindsAtThree = new Set(seen[2]?.entities.map(([k]) => k.split(" ")[0]));
    expect([...kindsAtThree].sort()).toEqual(
      ["access-key", "account", "group", "instance-profile", "oidc-provider", "policy", "role", "user"].sort(),
    );
    for (const { revision, entities } of seen) {
      const past = await root.call("exportAccount", { accountId: "", atRevision: revision });
      expect(past.revision.revision).toBe(revision);
      expect(snapshotEntities(past.snapshot), `account at revision ${revision}`).toEqual(entities);
    }
    // The JWKS document as it was at each revision: replaced, then removed.
    const oidcAt = (i: number) =>
      seen[i]?.entities.find(([k]) => k === `oidc-provider ${oidc.openIdConnectProviderArn}`)?.[1];
    expect(oidcAt(2)).toMatchObject({ jwks: JWKS_2, clientIds: ["app"], tags: TAGS });
    expect(oidcAt(3)).toMatchObject({ jwks: null, clientIds: ["app"], tags: [{ key: "A", value: "2" }] });
    // The instance profile's "a" tag stays next to "A": its tag keys are case-sensitive, as in AWS.
    const profileAt2 = seen[2]?.entities.find(([k]) => k.startsWith("instance-profile "))?.[1];
    expect(profileAt2).toMatchObject({ instanceProfileName: "web", tags: [{ key: "a", value: "1" }, ...TAGS] });
    // Deleted entities are gone from later exports but come back at earlier revisions.
    expect(seen[3]?.entities.some(([k]) => k.startsWith("group "))).toBe(false);
    expect(seen[1]?.entities.some(([k]) => k.startsWith("group "))).toBe(true);
    const readOnly = "policy ANPAILL3HVNFSB6DCOWYQ";
    expect(seen.map(({ entities }) => entities.some(([k]) => k === readOnly))).toEqual([false, true, true, false]);
  });

  it("refuses a revision the account never had, naming the field", async () => {
    const current = (await f.root.call("exportAccount", { accountId: "" })).revision.revision;
    await expectFailure(f.root.call("exportAccount", { accountId: "", atRevision: current + 1 }), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidInput",
      field: "atRevision",
    });
  });

  it("after outbox compaction: exact from the horizon on, a revision below it refused with the oldest exportable one", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "compacted" });
    await root.call("tagUser", { entityName: "compacted", tags: [{ key: "k", value: "1" }] });
    await root.call("tagUser", { entityName: "compacted", tags: [{ key: "k", value: "2" }] });
    const live = await root.call("exportAccount", { accountId: "" });
    const horizon = live.revision.revision;
    await expect.poll(() => createOutboxSource(f.h.cp.store).backlog(), { timeout: 20_000 }).toBe(0);
    const done = await f.h.cp.store.compactOutbox({ retentionSeconds: 0 });
    expect(done.accounts.find((a) => a.accountId === f.accountId)?.horizon).toBe(horizon);
    expect(done.superseded).toBeGreaterThan(0);

    const refused = await expectFailure(root.call("exportAccount", { accountId: "", atRevision: horizon - 1 }), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidInput",
      field: "atRevision",
    });
    expect(refused.details).toContain(`oldest exportable revision is ${horizon}`);
    // A later write makes the horizon a past revision, rebuilt from what compaction kept.
    await root.call("createGroup", { groupName: "after-compaction", path: "/" });
    const atHorizon = await root.call("exportAccount", { accountId: "", atRevision: horizon });
    expect(atHorizon.revision.revision).toBe(horizon);
    expect(snapshotEntities(atHorizon.snapshot)).toEqual(snapshotEntities(live.snapshot));
    // The current state needs no outbox row: unaffected.
    const now = await root.call("exportAccount", { accountId: "" });
    expect(snapshotEntities(now.snapshot).filter(([k]) => k.startsWith("group "))).toHaveLength(1);
  });
});
