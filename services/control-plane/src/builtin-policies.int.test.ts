import { decodeAccountSnapshot } from "@gatehouse/bus-kafka";
import { EntityType } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { failureOf } from "./test-client.int-helper.ts";

const aws = (name: string) => `arn:aws:iam::aws:policy/${name}`;
const BUILTIN = [
  "AdministratorAccess",
  "IAMFullAccess",
  "IAMReadOnlyAccess",
  "IAMUserChangePassword",
  "PowerUserAccess",
  "ReadOnlyAccess",
];

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
    const awsOnly = await root.call("listPolicies", { scope: "AWS" });
    expect(awsOnly.policies.map((p: { policyName: string }) => p.policyName)).toEqual(BUILTIN);
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
    const all = await root.call("listPolicies", {});
    expect(all.policies).toHaveLength(BUILTIN.length + 1);
    // Pages over both owners with the marker.
    const page1 = await root.call("listPolicies", { page: { marker: "", maxItems: 4 } });
    const page2 = await root.call("listPolicies", { page: { marker: page1.page.marker, maxItems: 4 } });
    expect([...page1.policies, ...page2.policies].map((p: { arn: string }) => p.arn)).toEqual(
      all.policies.map((p: { arn: string }) => p.arn),
    );
    const badScope = await failureOf(root.call("listPolicies", { scope: "Mine" }));
    expect([badScope.awsName, badScope.field]).toEqual(["ValidationError", "scope"]);
    const other = await f.anotherAccount();
    expect((await other.root.call("listPolicies", { scope: "AWS" })).policies).toHaveLength(BUILTIN.length);
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
      const e = await failureOf(call());
      expect([e.code, e.awsName]).toEqual([status.PERMISSION_DENIED, "AccessDenied"]);
    }
    const missing = await failureOf(root.call("getPolicy", { policyArn: aws("NoSuchThing") }));
    expect([missing.code, missing.awsName]).toEqual([status.NOT_FOUND, "NoSuchEntity"]);
  });

  it("attach/detach works; counts are per account; authorization evaluates them", async () => {
    const { root } = f;
    const reader = await f.aUser("reader", { managed: [aws("ReadOnlyAccess")] });
    expect((await reader.call("listUsers", {})).users.length).toBeGreaterThan(0);
    expect((await reader.call("getUser", {})).user.userName).toBe("reader");
    const denied = await failureOf(reader.call("createUser", { userName: "nope" }));
    expect([denied.code, denied.awsName]).toEqual([status.PERMISSION_DENIED, "AccessDenied"]);
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
    const { accountId, root } = await f.anotherAccount();
    const rowsAt = async (revision: number) =>
      (
        await f.h.cp.store.pool.query<{ entity_kind: string; payload: { arn?: string } | null }>(
          "SELECT entity_kind, payload FROM outbox WHERE account_id = $1 AND revision = $2 ORDER BY id",
          [accountId, revision],
        )
      ).rows.map((r) => [r.entity_kind, r.entity_kind === "policy" ? r.payload?.arn : undefined]);
    const trust = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });

    const user = await root.call("createUser", { userName: "bounded", permissionsBoundaryArn: aws("IAMFullAccess") });
    expect(await rowsAt(user.revision.revision)).toEqual([
      ["user", undefined],
      ["policy", aws("IAMFullAccess")],
    ]);
    const role = await root.call("createRole", {
      roleName: "bounded",
      assumeRolePolicyDocument: trust,
      permissionsBoundaryArn: aws("PowerUserAccess"),
    });
    expect(await rowsAt(role.revision.revision)).toEqual([
      ["role", undefined],
      ["policy", aws("PowerUserAccess")],
    ]);
    for (const [entityType, entityName, policy] of [
      [EntityType.ENTITY_TYPE_USER, "bounded", "ReadOnlyAccess"],
      [EntityType.ENTITY_TYPE_ROLE, "bounded", "AdministratorAccess"],
    ] as const) {
      const put = await root.call("putPermissionsBoundary", {
        entityType,
        entityName,
        permissionsBoundaryArn: aws(policy),
      });
      expect(await rowsAt(put.revision.revision)).toEqual([
        [entityType === EntityType.ENTITY_TYPE_USER ? "user" : "role", undefined],
        ["policy", aws(policy)],
      ]);
      // The same boundary again changes nothing: no revision, no event.
      const again = await root.call("putPermissionsBoundary", {
        entityType,
        entityName,
        permissionsBoundaryArn: aws(policy),
      });
      expect(again.revision.revision).toBe(put.revision.revision);
    }
    // The account's own policies are on its stream already: a boundary write carries only the user.
    const local = await root.call("createPolicy", {
      policyName: "LocalBoundary",
      policyDocument: policyDoc({ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }),
    });
    const put = await root.call("putPermissionsBoundary", {
      entityType: EntityType.ENTITY_TYPE_USER,
      entityName: "bounded",
      permissionsBoundaryArn: local.policy.arn,
    });
    expect(await rowsAt(put.revision.revision)).toEqual([["user", undefined]]);
    // Rebuilt from the stream alone, the account still has the boundaries it uses.
    const rebuilt = await f.h.cp.store.exportAccount(accountId, put.revision.revision);
    const policyArns = rebuilt.entities.filter((e) => e.kind === "policy").map((e) => (e.state as { arn: string }).arn);
    expect(policyArns).toEqual(expect.arrayContaining([aws("AdministratorAccess"), local.policy.arn]));
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
