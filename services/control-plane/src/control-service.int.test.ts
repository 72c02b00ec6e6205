import { createManualClock } from "@gatehouse/core";
import { decodeAccountSnapshot } from "@gatehouse/events";
import { EntityType } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAccountFixture } from "./test-account.int-helper.ts";
import {
  callWithForeignSignature,
  expectFailure,
  failureOf,
  type Harness,
  OPERATOR,
  signedClient,
  startHarness,
} from "./test-client.int-helper.ts";
import { collectEvents } from "./test-env.int-helper.ts";

const doc = (statement: object) => JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
const S3 = doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" });
const TRUST = doc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });

describe("ControlService over gRPC (real Postgres + Kafka, SigV4)", () => {
  let h: Harness;
  let operator: ReturnType<typeof signedClient>;
  let root: ReturnType<typeof signedClient>;
  let accountId: string;
  let rootCreds: { accessKeyId: string; secretAccessKey: string };
  const clients: { close(): void }[] = [];
  const client = (
    creds: { accessKeyId: string; secretAccessKey: string } | null,
    clock?: ReturnType<typeof createManualClock>,
  ) => {
    const c = signedClient(h.address, creds, clock);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    h = await startHarness({ GATEHOUSE_QUOTA_USERS_PER_ACCOUNT: "40" });
    operator = client(OPERATOR);
    const created = await operator.call("createAccount", { accountAlias: "", clientRequestToken: "acct-1" });
    accountId = created.accountId;
    rootCreds = { accessKeyId: created.rootAccessKeyId, secretAccessKey: created.rootSecretAccessKey };
    root = client(rootCreds);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await h.close();
  });

  it("the operator creates accounts (root key returned once, idempotently); nobody else can", async () => {
    expect(accountId).toMatch(/^\d{12}$/);
    expect(rootCreds.accessKeyId).toMatch(/^AKIA/);
    const again = await operator.call("createAccount", { accountAlias: "", clientRequestToken: "acct-1" });
    expect(again.accountId).toBe(accountId);
    expect(again.rootAccessKeyId).toBe(rootCreds.accessKeyId);
    // The root's secret is returned once: a replay names the key but carries no secret.
    expect(again.rootSecretAccessKey).toBe("");
    expect(again.revision).toEqual({ accountId, revision: 1, epoch: expect.stringMatching(/^\d+:\d+$/) });
    await expectFailure(root.call("createAccount", { accountAlias: "", clientRequestToken: "" }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    const notAnAccount = await failureOf(operator.call("createUser", { userName: "x", path: "", tags: [] }));
    expect(notAnAccount.awsName).toBe("AccessDenied");
  });

  it("users: create/get/list/delete with ARNs, ids, revisions, pagination and AWS errors", async () => {
    const created = await root.call("createUser", {
      userName: "alice",
      path: "/eng/",
      tags: [{ key: "team", value: "core" }],
    });
    expect(created.user).toMatchObject({
      userName: "alice",
      path: "/eng/",
      arn: `arn:aws:iam::${accountId}:user/eng/alice`,
    });
    expect(created.user.userId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(created.user.createDateMs).toBeGreaterThan(0);
    expect(created.revision.accountId).toBe(accountId);
    const second = await root.call("createUser", { userName: "bob", path: "/eng/", tags: [] });
    expect(second.revision.revision).toBeGreaterThan(created.revision.revision);
    expect((await root.call("getUser", { userName: "ALICE" })).user.userId).toBe(created.user.userId);

    await expectFailure(root.call("createUser", { userName: "Alice", path: "", tags: [] }), {
      code: status.ALREADY_EXISTS,
      awsName: "EntityAlreadyExists",
      field: "userName",
    });
    await expectFailure(root.call("createUser", { userName: "no spaces", path: "", tags: [] }), {
      code: status.INVALID_ARGUMENT,
      awsName: "ValidationError",
      field: "userName",
    });
    const badPath = await failureOf(root.call("createUser", { userName: "p", path: "eng", tags: [] }));
    expect(badPath.field).toBe("path");
    await expectFailure(root.call("getUser", { userName: "nobody" }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
    });

    const page1 = await root.call("listUsers", { pathPrefix: "/eng/", page: { marker: "", maxItems: 1 } });
    expect(page1.users.map((u: { userName: string }) => u.userName)).toEqual(["alice"]);
    expect(page1.page.isTruncated).toBe(true);
    const page2 = await root.call("listUsers", {
      pathPrefix: "/eng/",
      page: { marker: page1.page.marker, maxItems: 1 },
    });
    expect(page2.users.map((u: { userName: string }) => u.userName)).toEqual(["bob"]);
    expect((await root.call("listUsers", { pathPrefix: "/ops/" })).users).toEqual([]);

    const deleted = await root.call("deleteUser", { userName: "bob", clientRequestToken: "" });
    expect(deleted.revision.revision).toBeGreaterThan(second.revision.revision);
  });

  it("groups: membership, no nesting, at most 10 groups per user, DeleteConflict", async () => {
    await root.call("createUser", { userName: "gwen", path: "", tags: [] });
    for (let i = 0; i < 11; i++) await root.call("createGroup", { groupName: `team-${i}`, path: "/" });
    for (let i = 0; i < 10; i++) await root.call("addUserToGroup", { groupName: `team-${i}`, userName: "gwen" });
    await expectFailure(root.call("addUserToGroup", { groupName: "team-10", userName: "gwen" }), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
    });
    expect((await root.call("listGroupsForUser", { userName: "gwen" })).groups).toHaveLength(10);
    const g = await root.call("getGroup", { groupName: "team-0" });
    expect(g.group.groupId).toMatch(/^AGPA/);
    expect(g.users.map((u: { userName: string }) => u.userName)).toEqual(["gwen"]);
    await expectFailure(root.call("deleteGroup", { groupName: "team-0" }), {
      code: status.FAILED_PRECONDITION,
      awsName: "DeleteConflict",
    });
    await root.call("removeUserFromGroup", { groupName: "team-0", userName: "gwen" });
    await root.call("deleteGroup", { groupName: "team-0" });
    // Groups contain users only: there is no way to put a group in a group.
    const notAUser = await failureOf(root.call("addUserToGroup", { groupName: "team-1", userName: "team-2" }));
    expect(notAUser.awsName).toBe("NoSuchEntity");
  });

  it("roles: trust policy validated as a trust policy, session duration bounds", async () => {
    const role = await root.call("createRole", {
      roleName: "web",
      path: "/svc/",
      assumeRolePolicyDocument: TRUST,
      description: "web tier",
      maxSessionDuration: 7200,
      tags: [],
    });
    expect(role.role).toMatchObject({
      roleName: "web",
      arn: `arn:aws:iam::${accountId}:role/svc/web`,
      maxSessionDuration: 7200,
    });
    expect(role.role.roleId).toMatch(/^AROA/);
    const notTrust = await expectFailure(
      root.call("createRole", { roleName: "bad", assumeRolePolicyDocument: S3, maxSessionDuration: 0, tags: [] }),
      { code: status.INVALID_ARGUMENT, awsName: "MalformedPolicyDocument" },
    );
    expect(notTrust.findings.length).toBeGreaterThan(0);
    await expectFailure(
      root.call("createRole", {
        roleName: "long",
        assumeRolePolicyDocument: TRUST,
        maxSessionDuration: 50_000,
        tags: [],
      }),
      { awsName: "ValidationError", field: "maxSessionDuration" },
    );
    expect((await root.call("listRoles", { pathPrefix: "/svc/" })).roles).toHaveLength(1);
    expect((await root.call("getRole", { roleName: "web" })).role.maxSessionDuration).toBe(7200);
  });

  it("managed policies: versions, attach/detach, inline policies, boundaries, DeleteConflict", async () => {
    const p = await root.call("createPolicy", { policyName: "S3Read", path: "/", policyDocument: S3, description: "" });
    const arn = p.policy.arn;
    expect(p.policy.policyId).toMatch(/^ANPA/);
    const malformed = await expectFailure(
      root.call("createPolicy", { policyName: "Bad", policyDocument: '{"Statement":[{"Effect":"Maybe"}]}' }),
      { awsName: "MalformedPolicyDocument", field: "policyDocument" },
    );
    expect(malformed.findings.map((f) => f.path)).toContain("$.Statement[0].Effect");

    const v2 = await root.call("createPolicyVersion", { policyArn: arn, policyDocument: S3, setAsDefault: true });
    expect(v2).toMatchObject({ versionId: "v2", isDefaultVersion: true });
    expect((await root.call("listPolicyVersions", { policyArn: arn })).versions).toHaveLength(2);
    await root.call("setDefaultPolicyVersion", { policyArn: arn, versionId: "v1" });
    const versioned = await expectFailure(root.call("deletePolicy", { policyArn: arn }), {
      code: status.FAILED_PRECONDITION,
      awsName: "DeleteConflict",
      field: "policyArn",
    });
    expect(versioned.details).toContain("1 non-default versions");
    await root.call("deletePolicyVersion", { policyArn: arn, versionId: "v2" });
    expect((await root.call("getPolicy", { policyArn: arn })).policy.defaultVersionId).toBe("v1");

    await root.call("createUser", { userName: "pat", path: "", tags: [] });
    const user = { entityType: EntityType.ENTITY_TYPE_USER, entityName: "pat" };
    await root.call("attachPolicy", { ...user, policyArn: arn });
    expect((await root.call("listAttachedPolicies", user)).attachedPolicies).toEqual([
      { policyName: "S3Read", policyArn: arn },
    ]);
    await expectFailure(root.call("deletePolicy", { policyArn: arn }), {
      code: status.FAILED_PRECONDITION,
      awsName: "DeleteConflict",
    });
    await root.call("detachPolicy", { ...user, policyArn: arn });

    await root.call("putInlinePolicy", { ...user, policyName: "inline1", policyDocument: S3 });
    expect((await root.call("getInlinePolicy", { ...user, policyName: "inline1" })).policyDocument).toBe(S3);
    expect((await root.call("listInlinePolicies", user)).policyNames).toEqual(["inline1"]);
    await root.call("deleteInlinePolicy", { ...user, policyName: "inline1" });

    await root.call("putPermissionsBoundary", { ...user, permissionsBoundaryArn: arn });
    expect((await root.call("getUser", { userName: "pat" })).user.permissionsBoundaryArn).toBe(arn);
    await root.call("putPermissionsBoundary", { ...user, permissionsBoundaryArn: "" });
    const del = await root.call("deletePolicy", { policyArn: arn });
    expect(del.revision.revision).toBeGreaterThan(0);
  });

  it("access keys: at most two, secret once, Active/Inactive, delete", async () => {
    await root.call("createUser", { userName: "kim", path: "", tags: [] });
    const k1 = await root.call("createAccessKey", { userName: "kim" });
    expect(k1.accessKey).toMatchObject({ userName: "kim", status: "Active" });
    expect(k1.secretAccessKey).toHaveLength(40);
    await root.call("createAccessKey", { userName: "kim" });
    await expectFailure(root.call("createAccessKey", { userName: "kim" }), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
    });
    const listed = await root.call("listAccessKeys", { userName: "kim" });
    expect(listed.accessKeys).toHaveLength(2);
    expect(JSON.stringify(listed)).not.toContain(k1.secretAccessKey);
    await root.call("updateAccessKey", { userName: "kim", accessKeyId: k1.accessKey.accessKeyId, status: "Inactive" });
    const badStatus = await failureOf(
      root.call("updateAccessKey", { userName: "kim", accessKeyId: k1.accessKey.accessKeyId, status: "Paused" }),
    );
    expect(badStatus.field).toBe("status");
    await root.call("deleteAccessKey", { userName: "kim", accessKeyId: k1.accessKey.accessKeyId });
    expect((await root.call("listAccessKeys", { userName: "kim" })).accessKeys).toHaveLength(1);
  });

  it("the account root manages its own access keys (at most two); users never reach them", async () => {
    const created = await operator.call("createAccount", { accountAlias: "" });
    const acct = created.accountId as string;
    const owner = client({ accessKeyId: created.rootAccessKeyId, secretAccessKey: created.rootSecretAccessKey });
    const listed = async () => (await owner.call("listAccessKeys", {})).accessKeys;
    expect((await listed()).map((k: { accessKeyId: string }) => k.accessKeyId)).toEqual([created.rootAccessKeyId]);

    const k2 = await owner.call("createAccessKey", { clientRequestToken: "root-key-2" });
    expect(k2.accessKey).toMatchObject({ userName: "", status: "Active" });
    expect(k2.accessKey.accessKeyId).toMatch(/^AKIA/);
    expect(k2.secretAccessKey).toHaveLength(40);
    expect(k2.revision).toEqual({ accountId: acct, revision: 2, epoch: expect.stringMatching(/^\d+:\d+$/) });
    const retry = await owner.call("createAccessKey", { clientRequestToken: "root-key-2" });
    // A replay answers the same key without its secret (returned once).
    expect([retry.accessKey.accessKeyId, retry.secretAccessKey]).toEqual([k2.accessKey.accessKeyId, ""]);
    const third = await expectFailure(owner.call("createAccessKey", {}), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
      field: "userName",
    });
    expect(third.details).toContain("account root");

    // The new key signs as the root; the secret is in no listing and sealed in the event.
    const second = client({ accessKeyId: k2.accessKey.accessKeyId, secretAccessKey: k2.secretAccessKey });
    const both = (await second.call("listAccessKeys", {})).accessKeys;
    expect(both.map((k: { accessKeyId: string }) => k.accessKeyId).sort()).toEqual(
      [created.rootAccessKeyId, k2.accessKey.accessKeyId].sort(),
    );
    expect(JSON.stringify(both)).not.toContain(k2.secretAccessKey);
    const event = await h.cp.store.pool.query(
      "SELECT payload FROM outbox WHERE account_id = $1 AND entity_kind = 'access-key' AND entity_id = $2",
      [acct, k2.accessKey.accessKeyId],
    );
    expect(event.rows).toHaveLength(1);
    expect(event.rows[0].payload).toMatchObject({ userId: null, principalArn: `arn:aws:iam::${acct}:root` });
    expect(JSON.stringify(event.rows[0].payload)).not.toContain(k2.secretAccessKey);

    // A user, even one allowed everything, creates and deletes keys of its own only.
    await owner.call("createUser", { userName: "keen" });
    await owner.call("putInlinePolicy", {
      entityType: EntityType.ENTITY_TYPE_USER,
      entityName: "keen",
      policyName: "all",
      policyDocument: doc({ Effect: "Allow", Action: "iam:*", Resource: "*" }),
    });
    const keenKey = await owner.call("createAccessKey", { userName: "keen" });
    const keen = client({ accessKeyId: keenKey.accessKey.accessKeyId, secretAccessKey: keenKey.secretAccessKey });
    expect((await keen.call("createAccessKey", {})).accessKey.userName).toBe("keen");
    await expectFailure(keen.call("deleteAccessKey", { accessKeyId: created.rootAccessKeyId }), {
      awsName: "NoSuchEntity",
      field: "accessKeyId",
    });
    expect(await listed()).toHaveLength(2);

    // Deactivated, the root's key no longer signs; deleted, it is gone and a new one fits again.
    await owner.call("updateAccessKey", { accessKeyId: k2.accessKey.accessKeyId, status: "Inactive" });
    expect((await failureOf(second.call("listAccessKeys", {}))).awsName).toBe("InvalidClientTokenId");
    await owner.call("deleteAccessKey", { accessKeyId: k2.accessKey.accessKeyId });
    expect((await listed()).map((k: { accessKeyId: string }) => k.accessKeyId)).toEqual([created.rootAccessKeyId]);
    expect((await owner.call("createAccessKey", {})).accessKey.userName).toBe("");
  });

  it("client request tokens make retries idempotent over the wire", async () => {
    const first = await root.call("createGroup", { groupName: "idem", path: "/", clientRequestToken: "tok-g" });
    const retry = await root.call("createGroup", { groupName: "idem", path: "/", clientRequestToken: "tok-g" });
    expect(retry).toEqual(first);
    await expectFailure(root.call("createGroup", { groupName: "idem2", path: "/", clientRequestToken: "tok-g" }), {
      awsName: "InvalidInput",
      field: "clientRequestToken",
    });
  });

  it("rejects bad signatures: wrong secret, stale date, tampered body, inactive key, unsigned", async () => {
    const wrong = await expectFailure(
      client({ ...rootCreds, secretAccessKey: "x".repeat(40) }).call("getUser", { userName: "alice" }),
      { code: status.UNAUTHENTICATED, awsName: "SignatureDoesNotMatch" },
    );
    expect(wrong.details).not.toContain(rootCreds.secretAccessKey);
    const stale = await failureOf(
      client(rootCreds, createManualClock(Date.now() - 10 * 60_000)).call("getUser", { userName: "alice" }),
    );
    expect(stale.awsName).toBe("RequestExpired");
    const tampered = await failureOf(
      callWithForeignSignature(
        h.address,
        rootCreds,
        "createUser",
        { userName: "mallory-a" },
        { userName: "mallory-b" },
      ),
    );
    expect(tampered.awsName).toBe("SignatureDoesNotMatch");
    await root.call("createUser", { userName: "ina", path: "", tags: [] });
    const key = await root.call("createAccessKey", { userName: "ina" });
    const inaCreds = { accessKeyId: key.accessKey.accessKeyId, secretAccessKey: key.secretAccessKey };
    await root.call("updateAccessKey", { userName: "ina", accessKeyId: inaCreds.accessKeyId, status: "Inactive" });
    await expectFailure(client(inaCreds).call("getUser", {}), {
      code: status.UNAUTHENTICATED,
      awsName: "InvalidClientTokenId",
    });
    const unknown = await failureOf(client({ ...inaCreds, accessKeyId: "AKIAUNKNOWNKEY000000" }).call("getUser", {}));
    expect(unknown.awsName).toBe("InvalidClientTokenId");
    await expectFailure(client(null).call("getUser", { userName: "alice" }), {
      code: status.UNAUTHENTICATED,
      awsName: "MissingAuthenticationToken",
    });
  });

  it("authorizes users with the policy engine: GetUser only, aws:username self-service, boundaries, groups", async () => {
    const makeUser = async (name: string, policy: string) => {
      await root.call("createUser", { userName: name, path: "", tags: [] });
      await root.call("putInlinePolicy", {
        entityType: EntityType.ENTITY_TYPE_USER,
        entityName: name,
        policyName: "p",
        policyDocument: policy,
      });
      const k = await root.call("createAccessKey", { userName: name });
      return client({ accessKeyId: k.accessKey.accessKeyId, secretAccessKey: k.secretAccessKey });
    };
    const reader = await makeUser("reader", doc({ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }));
    expect((await reader.call("getUser", { userName: "alice" })).user.userName).toBe("alice");
    expect((await reader.call("getUser", {})).user.userName).toBe("reader");
    const denied = await expectFailure(reader.call("createUser", { userName: "sneaky", path: "", tags: [] }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    expect(denied.details).toContain("iam:CreateUser");

    const self = await makeUser(
      "selfie",
      doc({
        Effect: "Allow",
        Action: ["iam:CreateAccessKey", "iam:ListAccessKeys"],
        Resource: `arn:aws:iam::${accountId}:user/\${aws:username}`,
      }),
    );
    const own = await self.call("createAccessKey", {});
    expect(own.accessKey.userName).toBe("selfie");
    expect((await self.call("listAccessKeys", {})).accessKeys).toHaveLength(2);
    const others = await failureOf(self.call("createAccessKey", { userName: "reader" }));
    expect(others.awsName).toBe("AccessDenied");

    // A boundary caps what identity policies grant.
    const admin = await makeUser("bounded", doc({ Effect: "Allow", Action: "iam:*", Resource: "*" }));
    expect((await admin.call("listUsers", {})).users.length).toBeGreaterThan(0);
    const boundary = await root.call("createPolicy", {
      policyName: "OnlyGetUser",
      policyDocument: doc({ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }),
    });
    await root.call("putPermissionsBoundary", {
      entityType: EntityType.ENTITY_TYPE_USER,
      entityName: "bounded",
      permissionsBoundaryArn: boundary.policy.arn,
    });
    expect((await failureOf(admin.call("listUsers", {}))).awsName).toBe("AccessDenied");
    expect((await admin.call("getUser", {})).user.userName).toBe("bounded");

    // Group policies count too.
    const member = await makeUser("member", doc({ Effect: "Deny", Action: "s3:*", Resource: "*" }));
    expect((await failureOf(member.call("listRoles", {}))).awsName).toBe("AccessDenied");
    await root.call("createGroup", { groupName: "role-readers", path: "/" });
    await root.call("putInlinePolicy", {
      entityType: EntityType.ENTITY_TYPE_GROUP,
      entityName: "role-readers",
      policyName: "roles",
      policyDocument: doc({ Effect: "Allow", Action: "iam:ListRoles", Resource: "*" }),
    });
    await root.call("addUserToGroup", { groupName: "role-readers", userName: "member" });
    expect((await member.call("listRoles", {})).roles.length).toBeGreaterThan(0);
  });

  it("accounts are isolated: another account's root sees and exports nothing of this one", async () => {
    const other = await operator.call("createAccount", { accountAlias: "" });
    const otherRoot = client({ accessKeyId: other.rootAccessKeyId, secretAccessKey: other.rootSecretAccessKey });
    expect((await failureOf(otherRoot.call("getUser", { userName: "alice" }))).awsName).toBe("NoSuchEntity");
    expect((await failureOf(otherRoot.call("exportAccount", { accountId }))).awsName).toBe("AccessDenied");
  });

  it("exports the account at its revision and publishes every change to Kafka with that revision", async () => {
    const events = await collectEvents(h.topic);
    try {
      const last = await root.call("createGroup", { groupName: "final", path: "/" });
      const exported = await root.call("exportAccount", { accountId: "" });
      expect(exported.revision).toEqual({ accountId, revision: last.revision.revision, epoch: last.revision.epoch });
      const snapshot = decodeAccountSnapshot(exported.snapshot);
      expect(snapshot.revision).toBe(last.revision.revision);
      const kinds = new Set(snapshot.entities.map((e) => e.key?.kind));
      expect([...kinds].sort()).toEqual(["access-key", "account", "group", "policy", "role", "user"]);
      expect((await operator.call("exportAccount", { accountId })).revision.revision).toBe(last.revision.revision);
      await expect
        .poll(() => events.deduped(accountId).at(-1)?.revision, { timeout: 20_000 })
        .toBe(last.revision.revision);
      const revisions = events.deduped(accountId).map((e) => e.revision);
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    } finally {
      await events.stop();
    }
  });
});

describe("unexpected failures", () => {
  it("become INTERNAL with nothing leaked", async () => {
    const { h, root, close } = await startAccountFixture();
    try {
      // Break the store under the running server: the next query fails in an unforeseen way.
      await h.cp.store.pool.query(`DROP TABLE ${h.schema}.groups CASCADE`);
      await expectFailure(root.call("createGroup", { groupName: "g", path: "/" }), {
        code: status.INTERNAL,
        details: "internal error",
        awsName: "ServiceFailure",
      });
    } finally {
      await close();
    }
  });
});

describe("Kafka unreachable at start-up", () => {
  it("still starts and accepts writes; they wait in the outbox", async () => {
    const { h, root, close } = await startAccountFixture({ GATEHOUSE_KAFKA_BROKERS: "127.0.0.1:1" });
    try {
      const user = await root.call("createUser", { userName: "patient" });
      expect(user.revision.revision).toBe(2);
      // The account's rows (the STS key set made at start-up waits too, on the system account).
      const backlog = await h.cp.store.pool.query(
        "SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL AND account_id <> '000000000000'",
      );
      expect(backlog.rows[0].n).toBe(3);
      await expect.poll(() => h.cp.relay.stats().failures, { timeout: 10_000 }).toBeGreaterThan(0);
    } finally {
      await close();
    }
  });
});
