import { randomInt } from "node:crypto";
import { decodeAccountSnapshot, decodeEntityChange, SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import { EntityType } from "@gatehouse/proto";
import { type BuiltinPolicy, loadAwsManagedPolicies, seedBuiltinPolicies } from "@gatehouse/store-postgres";
import { status } from "@grpc/grpc-js";
import type pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type AccountFixture,
  policyDoc,
  snapshotEntities,
  startAccountFixture,
  type TestClient,
} from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

const aws = (name: string) => `arn:aws:iam::aws:policy/${name}`;
const READ_S3 = { Effect: "Allow", Action: "s3:GetObject", Resource: "*" };
const BUILTIN = [
  "AdministratorAccess",
  "IAMFullAccess",
  "IAMReadOnlyAccess",
  "IAMUserChangePassword",
  "PowerUserAccess",
  "ReadOnlyAccess",
];

/** Every policy name `listPolicies` gives in `scope`, page after page. */
async function listAll(root: AccountFixture["root"], scope: string): Promise<string[]> {
  const names: string[] = [];
  let marker = "";
  do {
    const page = await root.call("listPolicies", { scope, page: { marker, maxItems: 1000 } });
    names.push(...page.policies.map((p: { policyName: string }) => p.policyName));
    marker = page.page?.isTruncated === true ? page.page.marker : "";
  } while (marker !== "");
  return names;
}

const USER = EntityType.ENTITY_TYPE_USER;
const GROUP = EntityType.ENTITY_TYPE_GROUP;
const ROLE = EntityType.ENTITY_TYPE_ROLE;
const TRUST = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });

/**
 * A fresh account, what its writes put on its stream, and its live exports: `write` runs one
 * write and returns the outbox rows at its revision as `kind upsert|tombstone` (policies by
 * name); `observe` does the same for the revisions something else wrote since; `holds` and
 * `policy` say whether the live export after it has the policy, and its state there;
 * `expectRebuiltAsSeen` rebuilds the account from its stream at every revision written and
 * compares with the live export taken then.
 */
async function streamedAccount(f: AccountFixture) {
  const { accountId, root } = await f.anotherAccount();
  const names = new Map<string, string>();
  for (const name of BUILTIN) {
    names.set((await root.call("getPolicy", { policyArn: aws(name) })).policy.policyId, name);
  }
  const seen: { revision: number; entities: [string, unknown][] }[] = [];
  const rowsAt = async (revision: number) =>
    (
      await f.h.cp.store.pool.query<{ entity_kind: string; entity_id: string; payload: unknown }>(
        "SELECT entity_kind, entity_id, payload FROM outbox WHERE account_id = $1 AND revision = $2 ORDER BY id",
        [accountId, revision],
      )
    ).rows.map((r) =>
      [r.entity_kind, r.entity_kind === "policy" ? (names.get(r.entity_id) ?? r.entity_id) : undefined]
        .filter((x) => x !== undefined)
        .concat(r.payload === null ? "tombstone" : "upsert")
        .join(" "),
    );
  const lastSeen = () => seen.at(-1)?.revision ?? 0;
  const policy = (name: string) => {
    const id = [...names].find(([, n]) => n === name)?.[0];
    return seen.at(-1)?.entities.find(([k]) => k === `policy ${id}`)?.[1];
  };
  return {
    accountId,
    root,
    async write(call: Parameters<TestClient["call"]>[0], request: object): Promise<string[]> {
      const { revision } = (await root.call(call, request)).revision;
      const live = await root.call("exportAccount", { accountId: "" });
      expect(live.revision.revision).toBe(revision);
      seen.push({ revision, entities: snapshotEntities(live.snapshot) });
      return rowsAt(revision);
    },
    /**
     * The rows of each revision written since the last one seen, by something other than this
     * account's calls (`[]`: none); the live export now is recorded as a write's is.
     */
    async observe(): Promise<string[][]> {
      const live = await root.call("exportAccount", { accountId: "" });
      const revision: number = live.revision.revision;
      const rows: string[][] = [];
      for (let r = lastSeen() + 1; r <= revision; r++) rows.push(await rowsAt(r));
      if (revision > lastSeen()) seen.push({ revision, entities: snapshotEntities(live.snapshot) });
      return rows;
    },
    /** The revision of the last write. */
    revision: lastSeen,
    holds(name: string): boolean {
      return policy(name) !== undefined;
    },
    /** The AWS managed policy's state in the live export last seen, as its stream carries it. */
    policy,
    async expectRebuiltAsSeen() {
      for (const { revision, entities } of seen) {
        const past = await root.call("exportAccount", { accountId: "", atRevision: revision });
        expect(snapshotEntities(past.snapshot), `account at revision ${revision}`).toEqual(entities);
      }
    },
  };
}

describe("AWS managed policies (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it("every account sees them with stable ARNs, ids and versions; ListPolicies scopes AWS/Local/All", async () => {
    const { root } = f;
    await root.call("createPolicy", {
      policyName: "Local1",
      policyDocument: policyDoc({ Effect: "Allow", Action: "s3:*", Resource: "*" }),
    });
    // AWS's whole catalogue, in pages.
    const awsOnly = await listAll(root, "AWS");
    expect(awsOnly).toHaveLength(BUILTIN_POLICIES.length);
    expect(awsOnly).toEqual(expect.arrayContaining([...BUILTIN, "AmazonS3ReadOnlyAccess", "AWSLambdaRole"]));
    const admin = (await root.call("getPolicy", { policyArn: aws("AdministratorAccess") })).policy;
    expect(admin).toMatchObject({
      arn: aws("AdministratorAccess"),
      policyId: "ANPAIWMBCKSKIEE64ZLYK",
      defaultVersionId: "v1",
      path: "/",
    });
    const v1 = await root.call("getPolicyVersion", { policyArn: aws("AdministratorAccess"), versionId: "v1" });
    expect(JSON.parse(v1.policyVersion.document).Statement[0]).toMatchObject({ Action: "*", Resource: "*" });
    const local = await root.call("listPolicies", { scope: "Local" });
    expect(local.policies.map((p: { policyName: string }) => p.policyName)).toEqual(["Local1"]);
    const all = await root.call("listPolicies", { page: { marker: "", maxItems: 8 } });
    expect(all.policies).toHaveLength(8);
    // Pages over both owners with the marker.
    const page1 = await root.call("listPolicies", { page: { marker: "", maxItems: 4 } });
    const page2 = await root.call("listPolicies", { page: { marker: page1.page.marker, maxItems: 4 } });
    expect([...page1.policies, ...page2.policies].map((p: { arn: string }) => p.arn)).toEqual(
      all.policies.map((p: { arn: string }) => p.arn),
    );
    await expectFailure(root.call("listPolicies", { scope: "Mine" }), { awsName: "ValidationError", field: "scope" });
    const other = await f.anotherAccount();
    expect(await listAll(other.root, "AWS")).toHaveLength(BUILTIN_POLICIES.length);
    // With AWS's version history (in pages: all 151 versions of ReadOnlyAccess with their
    // documents are 5 MB, more than a gRPC client takes in one message by default).
    const versionIds: string[] = [];
    let marker = "";
    do {
      const page = await root.call("listPolicyVersions", {
        policyArn: aws("ReadOnlyAccess"),
        page: { marker, maxItems: 50 },
      });
      versionIds.push(...page.versions.map((v: { versionId: string }) => v.versionId));
      marker = page.page?.isTruncated === true ? page.page.marker : "";
    } while (marker !== "");
    expect(versionIds).toHaveLength(151);
    expect(versionIds).toEqual(expect.arrayContaining(["v1", "v188"]));
  });

  it("accounts cannot delete or version them (AccessDenied); unknown AWS names are NoSuchEntity", async () => {
    const { root } = f;
    const arn = aws("ReadOnlyAccess");
    const doc = policyDoc({ Effect: "Allow", Action: "*", Resource: "*" });
    for (const call of [
      () => root.call("deletePolicy", { policyArn: arn }),
      () => root.call("createPolicyVersion", { policyArn: arn, policyDocument: doc, setAsDefault: true }),
      () => root.call("setDefaultPolicyVersion", { policyArn: arn, versionId: "v1" }),
      () => root.call("deletePolicyVersion", { policyArn: arn, versionId: "v1" }),
    ]) {
      await expectFailure(call(), { code: status.PERMISSION_DENIED, awsName: "AccessDenied" });
    }
    await expectFailure(root.call("getPolicy", { policyArn: aws("NoSuchThing") }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
    });
  });

  it("attach/detach works; counts are per account; authorization evaluates them", async () => {
    const { root } = f;
    const reader = await f.aUser("reader", { managed: [aws("ReadOnlyAccess")] });
    expect((await reader.call("listUsers", {})).users.length).toBeGreaterThan(0);
    expect((await reader.call("getUser", {})).user.userName).toBe("reader");
    await expectFailure(reader.call("createUser", { userName: "nope" }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    expect((await root.call("getPolicy", { policyArn: aws("ReadOnlyAccess") })).policy.attachmentCount).toBe(1);
    const other = await f.anotherAccount();
    expect((await other.root.call("getPolicy", { policyArn: aws("ReadOnlyAccess") })).policy.attachmentCount).toBe(0);

    const power = await f.aUser("power", { managed: [aws("PowerUserAccess")] });
    expect((await power.call("listRoles", {})).roles).toBeDefined();
    expect((await failureOf(power.call("createUser", { userName: "x" }))).awsName).toBe("AccessDenied");
    expect((await failureOf(power.call("listUsers", {}))).awsName).toBe("AccessDenied");

    const iamAdmin = await f.aUser("iam-admin", { managed: [aws("IAMFullAccess")] });
    await iamAdmin.call("createUser", { userName: "made-by-iam-admin" });
    const iamReader = await f.aUser("iam-reader", { managed: [aws("IAMReadOnlyAccess")] });
    expect((await iamReader.call("getUser", { userName: "made-by-iam-admin" })).user.userName).toBe(
      "made-by-iam-admin",
    );
    expect((await failureOf(iamReader.call("deleteUser", { userName: "made-by-iam-admin" }))).awsName).toBe(
      "AccessDenied",
    );

    const admin = await f.aUser("admin", { managed: [aws("AdministratorAccess")] });
    await admin.call("createGroup", { groupName: "by-admin" });
    const entity = { entityType: EntityType.ENTITY_TYPE_USER, entityName: "admin" };
    expect((await root.call("listAttachedPolicies", entity)).attachedPolicies).toEqual([
      { policyName: "AdministratorAccess", policyArn: aws("AdministratorAccess") },
    ]);
    await root.call("detachPolicy", { ...entity, policyArn: aws("AdministratorAccess") });
    expect((await failureOf(admin.call("createGroup", { groupName: "by-admin-2" }))).awsName).toBe("AccessDenied");
    // A managed policy may be a boundary too.
    await root.call("putPermissionsBoundary", { ...entity, permissionsBoundaryArn: aws("IAMReadOnlyAccess") });
    expect((await root.call("getUser", { userName: "admin" })).user.permissionsBoundaryArn).toBe(
      aws("IAMReadOnlyAccess"),
    );
  });

  it("a write that makes one a permissions boundary puts its state on the account's stream", async () => {
    const a = await streamedAccount(f);
    expect(await a.write("createUser", { userName: "bounded", permissionsBoundaryArn: aws("IAMFullAccess") })).toEqual([
      "user upsert",
      "policy IAMFullAccess upsert",
    ]);
    expect(
      await a.write("createRole", {
        roleName: "bounded",
        assumeRolePolicyDocument: TRUST,
        permissionsBoundaryArn: aws("PowerUserAccess"),
      }),
    ).toEqual(["role upsert", "policy PowerUserAccess upsert"]);
    for (const [entityType, kind, policy, replaced] of [
      [USER, "user", "ReadOnlyAccess", "IAMFullAccess"],
      [ROLE, "role", "AdministratorAccess", "PowerUserAccess"],
    ] as const) {
      const request = { entityType, entityName: "bounded", permissionsBoundaryArn: aws(policy) };
      // The replaced boundary was the account's only use of its policy: it leaves the stream.
      expect(await a.write("putPermissionsBoundary", request)).toEqual([
        `${kind} upsert`,
        `policy ${policy} upsert`,
        `policy ${replaced} tombstone`,
      ]);
      // The same boundary again changes nothing: no revision, no event.
      expect((await a.root.call("putPermissionsBoundary", request)).revision.revision).toBe(a.revision());
    }
    // The account's own policies are on its stream already: a boundary write carries only the user
    // (and the tombstone of the AWS managed boundary it replaces).
    const local = await a.root.call("createPolicy", {
      policyName: "LocalBoundary",
      policyDocument: policyDoc({ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }),
    });
    expect(
      await a.write("putPermissionsBoundary", {
        entityType: USER,
        entityName: "bounded",
        permissionsBoundaryArn: local.policy.arn,
      }),
    ).toEqual(["user upsert", "policy ReadOnlyAccess tombstone"]);
    // Rebuilt from the stream alone, the account has the boundaries it uses, and only those.
    const rebuilt = await f.h.cp.store.exportAccount(a.accountId, a.revision());
    const policyArns = rebuilt.entities.filter((e) => e.kind === "policy").map((e) => (e.state as { arn: string }).arn);
    expect(policyArns.sort()).toEqual([aws("AdministratorAccess"), local.policy.arn].sort());
    await a.expectRebuiltAsSeen();
  });

  it("the last detach in the account tombstones the policy on its stream; attaching again brings it back", async () => {
    const a = await streamedAccount(f);
    const ro = aws("ReadOnlyAccess");
    await a.write("createUser", { userName: "a" });
    await a.write("createUser", { userName: "b" });
    await a.write("createGroup", { groupName: "g" });
    expect(a.holds("ReadOnlyAccess")).toBe(false);
    expect(await a.write("attachPolicy", { entityType: USER, entityName: "a", policyArn: ro })).toEqual([
      "user upsert",
      "policy ReadOnlyAccess upsert",
    ]);
    expect(await a.write("attachPolicy", { entityType: USER, entityName: "b", policyArn: ro })).toEqual([
      "user upsert",
      "policy ReadOnlyAccess upsert",
    ]);
    // b still has it: no tombstone.
    expect(await a.write("detachPolicy", { entityType: USER, entityName: "a", policyArn: ro })).toEqual([
      "user upsert",
    ]);
    expect(a.holds("ReadOnlyAccess")).toBe(true);
    expect(await a.write("attachPolicy", { entityType: GROUP, entityName: "g", policyArn: ro })).toEqual([
      "group upsert",
      "policy ReadOnlyAccess upsert",
    ]);
    // A group attachment is a reference too.
    expect(await a.write("detachPolicy", { entityType: USER, entityName: "b", policyArn: ro })).toEqual([
      "user upsert",
    ]);
    expect(a.holds("ReadOnlyAccess")).toBe(true);
    // A group cannot be deleted while it holds the policy (as in AWS), so DeleteGroup never drops one.
    await expectFailure(a.root.call("deleteGroup", { groupName: "g" }), {
      awsName: "DeleteConflict",
      field: "groupName",
    });
    expect(await a.write("detachPolicy", { entityType: GROUP, entityName: "g", policyArn: ro })).toEqual([
      "group upsert",
      "policy ReadOnlyAccess tombstone",
    ]);
    expect(a.holds("ReadOnlyAccess")).toBe(false);
    expect(await a.write("deleteGroup", { groupName: "g" })).toEqual(["group tombstone"]);
    // Another account's use is its own: this account's last detach left it alone.
    const other = await f.anotherAccount();
    await other.root.call("createUser", { userName: "o" });
    await other.root.call("attachPolicy", { entityType: USER, entityName: "o", policyArn: ro });
    expect(await a.write("attachPolicy", { entityType: USER, entityName: "a", policyArn: ro })).toEqual([
      "user upsert",
      "policy ReadOnlyAccess upsert",
    ]);
    expect(a.holds("ReadOnlyAccess")).toBe(true);
    expect(await a.write("detachPolicy", { entityType: USER, entityName: "a", policyArn: ro })).toEqual([
      "user upsert",
      "policy ReadOnlyAccess tombstone",
    ]);
    const otherExport = snapshotEntities((await other.root.call("exportAccount", { accountId: "" })).snapshot);
    expect(otherExport.map(([k]) => k)).toContain("policy ANPAILL3HVNFSB6DCOWYQ");
    // The account's own policy stays on its stream when detached: it exists until deleted.
    const local = await a.root.call("createPolicy", { policyName: "Local", policyDocument: policyDoc(READ_S3) });
    await a.write("attachPolicy", { entityType: USER, entityName: "a", policyArn: local.policy.arn });
    expect(await a.write("detachPolicy", { entityType: USER, entityName: "a", policyArn: local.policy.arn })).toEqual([
      "user upsert",
    ]);
    await a.expectRebuiltAsSeen();
  });

  it("a permissions boundary set, replaced or deleted keeps the stream holding exactly the policies in use", async () => {
    const a = await streamedAccount(f);
    const [iamRead, power, ro] = [aws("IAMReadOnlyAccess"), aws("PowerUserAccess"), aws("ReadOnlyAccess")];
    expect(await a.write("createUser", { userName: "u", permissionsBoundaryArn: iamRead })).toEqual([
      "user upsert",
      "policy IAMReadOnlyAccess upsert",
    ]);
    expect(
      await a.write("createRole", { roleName: "r", assumeRolePolicyDocument: TRUST, permissionsBoundaryArn: iamRead }),
    ).toEqual(["role upsert", "policy IAMReadOnlyAccess upsert"]);
    // DeleteUserPermissionsBoundary while the role still uses it: no tombstone.
    const deleteBoundary = (entityType: EntityType, entityName: string) =>
      a.write("putPermissionsBoundary", { entityType, entityName, permissionsBoundaryArn: "" });
    expect(await deleteBoundary(USER, "u")).toEqual(["user upsert"]);
    expect(a.holds("IAMReadOnlyAccess")).toBe(true);
    // Replacing the last use: the new one comes, the old one goes, in the same revision.
    expect(
      await a.write("putPermissionsBoundary", { entityType: ROLE, entityName: "r", permissionsBoundaryArn: power }),
    ).toEqual(["role upsert", "policy PowerUserAccess upsert", "policy IAMReadOnlyAccess tombstone"]);
    expect([a.holds("IAMReadOnlyAccess"), a.holds("PowerUserAccess")]).toEqual([false, true]);
    // An attachment holds it as a boundary does.
    await a.write("attachPolicy", { entityType: USER, entityName: "u", policyArn: power });
    expect(await deleteBoundary(ROLE, "r")).toEqual(["role upsert"]);
    expect(a.holds("PowerUserAccess")).toBe(true);
    expect(
      await a.write("putPermissionsBoundary", { entityType: USER, entityName: "u", permissionsBoundaryArn: power }),
    ).toEqual(["user upsert", "policy PowerUserAccess upsert"]);
    // Detached from u, it is still u's boundary.
    expect(await a.write("detachPolicy", { entityType: USER, entityName: "u", policyArn: power })).toEqual([
      "user upsert",
    ]);
    expect(a.holds("PowerUserAccess")).toBe(true);
    // Replaced by a policy of the account's own: the AWS one goes.
    const local = await a.root.call("createPolicy", { policyName: "Local", policyDocument: policyDoc(READ_S3) });
    expect(
      await a.write("putPermissionsBoundary", {
        entityType: USER,
        entityName: "u",
        permissionsBoundaryArn: local.policy.arn,
      }),
    ).toEqual(["user upsert", "policy PowerUserAccess tombstone"]);
    expect(a.holds("PowerUserAccess")).toBe(false);
    // A user or role is deleted with its boundary (AWS does not ask to remove it first).
    await a.write("putPermissionsBoundary", { entityType: ROLE, entityName: "r", permissionsBoundaryArn: ro });
    expect(await a.write("deleteRole", { roleName: "r" })).toEqual([
      "role tombstone",
      "policy ReadOnlyAccess tombstone",
    ]);
    expect(
      await a.write("putPermissionsBoundary", { entityType: USER, entityName: "u", permissionsBoundaryArn: iamRead }),
    ).toEqual(["user upsert", "policy IAMReadOnlyAccess upsert"]);
    expect(a.holds("IAMReadOnlyAccess")).toBe(true);
    expect(await a.write("deleteUser", { userName: "u" })).toEqual([
      "user tombstone",
      "policy IAMReadOnlyAccess tombstone",
    ]);
    for (const name of ["IAMReadOnlyAccess", "PowerUserAccess", "ReadOnlyAccess"]) expect(a.holds(name)).toBe(false);
    // Deleting a user whose boundary is the account's own policy tombstones nothing else.
    await a.write("createUser", { userName: "v", permissionsBoundaryArn: local.policy.arn });
    expect(await a.write("deleteUser", { userName: "v" })).toEqual(["user tombstone"]);
    await a.expectRebuiltAsSeen();
  });

  it("ExportAccount carries the AWS managed policies the account uses", async () => {
    const exported = await f.root.call("exportAccount", { accountId: "" });
    const snapshot = decodeAccountSnapshot(exported.snapshot);
    const policies = snapshot.entities.filter((e) => e.key?.kind === "policy");
    const arns = policies.map((e) => (e.change?.$case === "upsertJson" ? JSON.parse(e.change.value).arn : ""));
    expect(arns).toEqual(
      expect.arrayContaining([aws("ReadOnlyAccess"), aws("PowerUserAccess"), aws("IAMReadOnlyAccess")]),
    );
    expect(arns).not.toContain(aws("IAMUserChangePassword"));
  });
});

/** The shipped catalogue: AWS's whole one. */
const BUILTIN_POLICIES = loadAwsManagedPolicies().policies;
/** What a seeding with a catalog given (or the applied package) reports beside its changes. */
const NOT_READ = { catalogueRead: false, skipped: [], unparsableOlderVersions: 0 };

/** The shipped catalog with the policies named in `changes` changed, and `added` appended. */
function upgraded(
  changes: Record<string, (p: BuiltinPolicy) => BuiltinPolicy>,
  added: readonly BuiltinPolicy[] = [],
): BuiltinPolicy[] {
  return [...BUILTIN_POLICIES.map((p) => changes[p.policyName]?.(p) ?? p), ...added];
}
const withVersion = (document: string) => (p: BuiltinPolicy) => ({
  ...p,
  revision: p.revision + 1,
  defaultVersionId: `v${p.revision + 1}`,
  versions: [...p.versions, { versionId: `v${p.revision + 1}`, document }],
});
const withDescription = (description: string) => (p: BuiltinPolicy) => ({
  ...p,
  revision: p.revision + 1,
  description,
});
const idOf = (name: string) => BUILTIN_POLICIES.find((p) => p.policyName === name)?.policyId;

/** The version the upgrade adds to ReadOnlyAccess: the one after AWS's latest. */
const RO_V2_ID = `v${(BUILTIN_POLICIES.find((p) => p.policyName === "ReadOnlyAccess")?.revision ?? 0) + 1}`;
const RO_V2 = policyDoc({ Effect: "Allow", Action: ["*:Get*", "*:List*", "*:Describe*"], Resource: "*" });
const NEWLY_SHIPPED: BuiltinPolicy = {
  policyId: "ANPATESTUPGRADEADDEDQ",
  policyName: "NewlyShippedAccess",
  path: "/",
  revision: 1,
  description: "Shipped by the upgrade.",
  defaultVersionId: "v1",
  versions: [{ versionId: "v1", document: policyDoc(READ_S3) }],
};

/** Polls `sql` until it returns a row (10 s at most). */
async function until(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<void> {
  for (const deadline = Date.now() + 10_000; (await pool.query(sql, params)).rowCount === 0; ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${sql}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("an upgrade that changes AWS managed policies reaches the accounts using them (real Postgres)", () => {
  let g: AccountFixture;
  /** The fixture this test started, if its start-up got that far. */
  let started: AccountFixture | undefined;
  beforeEach(async () => {
    g = await startAccountFixture();
    started = g;
  });
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  const seed = (catalog?: readonly BuiltinPolicy[]) => seedBuiltinPolicies(g.h.cp.store, catalog);
  const revisions = async () =>
    (await g.h.cp.store.pool.query("SELECT account_id, revision FROM accounts ORDER BY account_id")).rows;
  const queued = async () =>
    (await g.h.cp.store.pool.query<{ account_id: string }>("SELECT DISTINCT account_id FROM aws_policy_fanout")).rows
      .map((r) => r.account_id)
      .sort();

  it("one revision with the new state per account referencing a changed policy, none elsewhere; idempotent", async () => {
    // Every start-up seeds the shipped catalog again: nothing changes, nothing is written.
    const before = await revisions();
    expect(await seed()).toEqual({ added: [], changed: [], accountsUpdated: 0, carriedOnSystemStream: 0, ...NOT_READ });
    expect(await revisions()).toEqual(before);

    // Attached (to a group) and a role's boundary; and a policy the upgrade leaves alone.
    const both = await streamedAccount(g);
    await both.write("createUser", { userName: "u" });
    await both.write("attachPolicy", { entityType: USER, entityName: "u", policyArn: aws("IAMReadOnlyAccess") });
    await both.write("createGroup", { groupName: "g" });
    await both.write("attachPolicy", { entityType: GROUP, entityName: "g", policyArn: aws("ReadOnlyAccess") });
    await both.write("createRole", {
      roleName: "r",
      assumeRolePolicyDocument: TRUST,
      permissionsBoundaryArn: aws("PowerUserAccess"),
    });
    // A user's boundary only.
    const boundary = await streamedAccount(g);
    await boundary.write("createUser", { userName: "b", permissionsBoundaryArn: aws("ReadOnlyAccess") });
    // Only an unchanged policy.
    const unchanged = await streamedAccount(g);
    await unchanged.write("createUser", { userName: "c" });
    await unchanged.write("attachPolicy", { entityType: USER, entityName: "c", policyArn: aws("IAMReadOnlyAccess") });
    // Referenced it once, not any more: its stream tombstoned it.
    const released = await streamedAccount(g);
    await released.write("createUser", { userName: "d" });
    await released.write("attachPolicy", { entityType: USER, entityName: "d", policyArn: aws("ReadOnlyAccess") });
    await released.write("detachPolicy", { entityType: USER, entityName: "d", policyArn: aws("ReadOnlyAccess") });
    const rootRevision = (await g.root.call("exportAccount", { accountId: "" })).revision.revision;

    const catalog = upgraded(
      { ReadOnlyAccess: withVersion(RO_V2), PowerUserAccess: withDescription("Power users, described anew.") },
      [NEWLY_SHIPPED],
    );
    expect(await seed(catalog)).toEqual({
      added: [NEWLY_SHIPPED.policyId],
      changed: [idOf("PowerUserAccess"), idOf("ReadOnlyAccess")],
      accountsUpdated: 2,
      // The system stream carries every AWS managed policy: the added one and the changed ones again.
      carriedOnSystemStream: 3,
      ...NOT_READ,
    });
    expect(await both.observe()).toEqual([["policy ReadOnlyAccess upsert", "policy PowerUserAccess upsert"]]);
    expect(await boundary.observe()).toEqual([["policy ReadOnlyAccess upsert"]]);
    expect(await unchanged.observe()).toEqual([]);
    expect(await released.observe()).toEqual([]);
    expect((await g.root.call("exportAccount", { accountId: "" })).revision.revision).toBe(rootRevision);
    expect(await queued()).toEqual([]);

    // The new state: v2 is the default, v1 kept; the new description.
    for (const a of [both, boundary]) {
      expect(a.policy("ReadOnlyAccess")).toMatchObject({
        defaultVersionId: RO_V2_ID,
        // The state carries the default only (migration 0035): the history stays in Postgres.
        versions: [{ versionId: RO_V2_ID, isDefault: true, document: RO_V2 }],
      });
    }
    expect(both.policy("PowerUserAccess")).toMatchObject({
      description: "Power users, described anew.",
      defaultVersionId: BUILTIN_POLICIES.find((p) => p.policyName === "PowerUserAccess")?.defaultVersionId,
    });
    expect(both.holds("IAMReadOnlyAccess")).toBe(true);
    expect(released.holds("ReadOnlyAccess")).toBe(false);
    // Rebuilt from the stream at the new revision (and every earlier one), each equals the live export.
    for (const a of [both, boundary, unchanged, released]) await a.expectRebuiltAsSeen();
    // The API serves it too; the added policy is listed, and on no stream until an account uses it.
    const ro = await g.root.call("getPolicy", { policyArn: aws("ReadOnlyAccess") });
    expect(ro.policy.defaultVersionId).toBe(RO_V2_ID);
    const v2 = await g.root.call("getPolicyVersion", { policyArn: aws("ReadOnlyAccess"), versionId: RO_V2_ID });
    expect(v2.policyVersion.document).toBe(RO_V2);
    expect(await listAll(g.root, "AWS")).toContain("NewlyShippedAccess");

    // The same catalog again (the next start-up) writes nothing.
    const after = await revisions();
    expect(await seed(catalog)).toEqual({
      added: [],
      changed: [],
      accountsUpdated: 0,
      carriedOnSystemStream: 0,
      ...NOT_READ,
    });
    expect(await revisions()).toEqual(after);
    // A catalog with fewer versions of a policy (an instance not upgraded yet) leaves it alone.
    expect(await seed(upgraded({ PowerUserAccess: withDescription("Power users, described anew.") }))).toEqual({
      added: [],
      changed: [],
      accountsUpdated: 0,
      carriedOnSystemStream: 0,
      ...NOT_READ,
    });
    expect(await revisions()).toEqual(after);
    expect((await g.root.call("getPolicy", { policyArn: aws("ReadOnlyAccess") })).policy.defaultVersionId).toBe(
      RO_V2_ID,
    );
    // Nor does the shipped catalog, whose PowerUserAccess has the old description at a lower
    // revision and the same versions: the description the upgrade wrote stays (migration 0019).
    expect(await seed()).toEqual({ added: [], changed: [], accountsUpdated: 0, carriedOnSystemStream: 0, ...NOT_READ });
    expect(await revisions()).toEqual(after);
    const powerUser = await g.root.call("getPolicy", { policyArn: aws("PowerUserAccess") });
    expect(powerUser.policy.description).toBe("Power users, described anew.");
  });

  it("a reference added while the upgrade commits gets the new state: in its own write or in the upgrade's", async () => {
    const a = await streamedAccount(g);
    await a.write("createUser", { userName: "u" });
    // AttachPolicy stalls after it read the policy's state (old) and wrote its outbox rows, until
    // the test lets it commit; the upgrade's seeding starts meanwhile.
    const { pool } = g.h.cp.store;
    const gate = randomInt(1, 2 ** 31 - 1);
    const holder = await pool.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(7, $1)", [gate]);
      await pool.query(`CREATE FUNCTION stall_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock_shared(7, ${gate}); RETURN NULL; END $$`);
      await pool.query(`CREATE TRIGGER stall_outbox AFTER INSERT ON outbox FOR EACH ROW
        WHEN (NEW.account_id = '${a.accountId}') EXECUTE FUNCTION stall_outbox()`);
      const attach = a.root.call("attachPolicy", {
        entityType: USER,
        entityName: "u",
        policyArn: aws("ReadOnlyAccess"),
      });
      await until(
        pool,
        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 7 AND objid = $1 AND NOT granted",
        [gate],
      );
      const seeding = seed(upgraded({ ReadOnlyAccess: withVersion(RO_V2) }));
      // The upgrade waits for the write holding the policy's row (taken by the attachment's key).
      await until(
        pool,
        `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM managed_policies WHERE policy_id = ANY%FOR UPDATE'`,
      );
      await holder.query("SELECT pg_advisory_unlock(7, $1)", [gate]);
      await attach;
      expect(await seeding).toMatchObject({ accountsUpdated: 1 });
    } finally {
      holder.release();
      await pool.query("DROP TRIGGER IF EXISTS stall_outbox ON outbox");
    }
    // The attachment's revision carried the old state; the upgrade's, right after it, the new.
    expect(await a.observe()).toEqual([
      ["user upsert", "policy ReadOnlyAccess upsert"],
      ["policy ReadOnlyAccess upsert"],
    ]);
    expect(a.policy("ReadOnlyAccess")).toMatchObject({ defaultVersionId: RO_V2_ID });
    await a.expectRebuiltAsSeen();
    const [attached] = await pool
      .query<{ payload: { defaultVersionId: string } }>(
        "SELECT payload FROM outbox WHERE account_id = $1 AND entity_kind = 'policy' ORDER BY id",
        [a.accountId],
      )
      .then((r) => r.rows);
    expect(attached?.payload.defaultVersionId).toBe(
      BUILTIN_POLICIES.find((p) => p.policyName === "ReadOnlyAccess")?.defaultVersionId,
    );
  });

  it("the system account's stream carries every AWS managed policy (used or not); a change carries it again, once", async () => {
    const { pool } = g.h.cp.store;
    const systemRows = async () =>
      (
        await pool.query<{ revision: string; entity_id: string }>(
          "SELECT revision, entity_id FROM outbox WHERE account_id = $1 AND entity_kind = 'policy' ORDER BY id",
          [SYSTEM_ACCOUNT_ID],
        )
      ).rows;
    const systemPolicies = async () => {
      const exported = await g.operator.call("exportAccount", { accountId: SYSTEM_ACCOUNT_ID });
      return decodeAccountSnapshot(exported.snapshot)
        .entities.map((e) => decodeEntityChange(e))
        .filter((e) => e.kind === "policy")
        .map((e) => e.state as { arn: string; defaultVersionId: string });
    };
    // The start-up put all of them on it in one revision, and the export carries all of them.
    const atStart = await systemRows();
    expect(atStart.map((r) => r.entity_id).sort()).toEqual(BUILTIN_POLICIES.map((p) => p.policyId).sort());
    expect(new Set(atStart.map((r) => r.revision)).size).toBe(1);
    const carried = await systemPolicies();
    expect(carried.map((p) => p.arn).sort()).toEqual(
      BUILTIN_POLICIES.map((p) => aws(`${p.path.slice(1)}${p.policyName}`)).sort(),
    );
    // Each carries its default version only, so the largest stays far below the relay's 1 MB.
    const sizes = carried.map((p) => JSON.stringify(p).length);
    expect(Math.max(...sizes)).toBeLessThan(200_000);
    // A changed catalog: the changed and the added one, in one more revision; then nothing.
    const catalog = upgraded({ ReadOnlyAccess: withVersion(RO_V2) }, [NEWLY_SHIPPED]);
    expect((await seed(catalog)).carriedOnSystemStream).toBe(2);
    const after = (await systemRows()).slice(atStart.length);
    expect(after.map((r) => r.entity_id).sort()).toEqual([NEWLY_SHIPPED.policyId, idOf("ReadOnlyAccess")].sort());
    expect(new Set(after.map((r) => r.revision)).size).toBe(1);
    expect((await seed(catalog)).carriedOnSystemStream).toBe(0);
    expect(await systemRows()).toHaveLength(atStart.length + 2);
    const exported = await systemPolicies();
    expect(exported.find((p) => p.arn === aws("ReadOnlyAccess"))?.defaultVersionId).toBe(RO_V2_ID);
    expect(exported.map((p) => p.arn)).toContain(aws(NEWLY_SHIPPED.policyName));
  });

  it("two control planes starting with the same upgrade apply it once", async () => {
    const attached = await streamedAccount(g);
    await attached.write("createUser", { userName: "u" });
    await attached.write("attachPolicy", { entityType: USER, entityName: "u", policyArn: aws("ReadOnlyAccess") });
    const boundary = await streamedAccount(g);
    await boundary.write("createUser", { userName: "b", permissionsBoundaryArn: aws("ReadOnlyAccess") });

    const catalog = upgraded({ ReadOnlyAccess: withVersion(RO_V2) });
    const results = await Promise.all([seed(catalog), seed(catalog)]);
    expect(results.map((r) => r.changed.length).sort()).toEqual([0, 1]);
    expect(results.map((r) => r.accountsUpdated).sort()).toEqual([0, 2]);
    for (const a of [attached, boundary]) {
      expect(await a.observe()).toEqual([["policy ReadOnlyAccess upsert"]]);
      await a.expectRebuiltAsSeen();
    }
  });

  it("an upgrade interrupted after its change committed is finished by the next start-up, no account twice", async () => {
    const done = await streamedAccount(g);
    await done.write("createUser", { userName: "u" });
    await done.write("attachPolicy", { entityType: USER, entityName: "u", policyArn: aws("ReadOnlyAccess") });
    const pending = await streamedAccount(g);
    await pending.write("createUser", { userName: "b", permissionsBoundaryArn: aws("ReadOnlyAccess") });
    const dropped = await streamedAccount(g);
    await dropped.write("createUser", { userName: "d" });
    await dropped.write("attachPolicy", { entityType: USER, entityName: "d", policyArn: aws("ReadOnlyAccess") });

    // The writes to two of the accounts fail, as if the control plane died before reaching them.
    const { pool } = g.h.cp.store;
    await pool.query(`CREATE FUNCTION fail_account_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await pool.query(`CREATE TRIGGER fail_account_write BEFORE UPDATE ON accounts FOR EACH ROW
      WHEN (OLD.account_id IN ('${pending.accountId}', '${dropped.accountId}')) EXECUTE FUNCTION fail_account_write()`);
    const catalog = upgraded({ ReadOnlyAccess: withVersion(RO_V2) });
    await expect(seed(catalog)).rejects.toThrow();
    // The change is committed and the two accounts are still queued, with nothing written yet.
    expect((await g.root.call("getPolicy", { policyArn: aws("ReadOnlyAccess") })).policy.defaultVersionId).toBe(
      RO_V2_ID,
    );
    const left = await queued();
    expect(left).toEqual(expect.arrayContaining([pending.accountId, dropped.accountId]));
    await pool.query("DROP TRIGGER fail_account_write ON accounts");
    expect(await pending.observe()).toEqual([]);
    expect(await dropped.observe()).toEqual([]);

    // Meanwhile one of them drops its last reference: its own write tombstones the policy.
    expect(
      await dropped.write("detachPolicy", { entityType: USER, entityName: "d", policyArn: aws("ReadOnlyAccess") }),
    ).toEqual(["user upsert", "policy ReadOnlyAccess tombstone"]);

    // The next start-up, with nothing left to change, writes the accounts still queued that still
    // use the policy.
    expect(await seed(catalog)).toEqual({
      added: [],
      changed: [],
      accountsUpdated: left.length - 1,
      // The interrupted start-up never reached the system stream: this one carries the change.
      carriedOnSystemStream: 1,
      ...NOT_READ,
    });
    expect(await queued()).toEqual([]);
    expect(await done.observe()).toEqual([["policy ReadOnlyAccess upsert"]]);
    expect(await pending.observe()).toEqual([["policy ReadOnlyAccess upsert"]]);
    expect(await dropped.observe()).toEqual([]);
    expect(pending.policy("ReadOnlyAccess")).toMatchObject({ defaultVersionId: RO_V2_ID });
    for (const a of [done, pending, dropped]) await a.expectRebuiltAsSeen();
  });
});
