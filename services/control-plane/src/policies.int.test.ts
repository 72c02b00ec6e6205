import { EntityType } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

const S3_READ = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" });
const TRUST = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
const READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess";

const user = (entityName: string) => ({ entityType: EntityType.ENTITY_TYPE_USER, entityName });
const group = (entityName: string) => ({ entityType: EntityType.ENTITY_TYPE_GROUP, entityName });
const role = (entityName: string) => ({ entityType: EntityType.ENTITY_TYPE_ROLE, entityName });

/** A ListEntitiesForPolicy answer's names, list by list. */
const names = (r: {
  policyGroups: { name: string }[];
  policyUsers: { name: string }[];
  policyRoles: { name: string }[];
}) => ({
  groups: r.policyGroups.map((e) => e.name),
  users: r.policyUsers.map((e) => e.name),
  roles: r.policyRoles.map((e) => e.name),
});

describe("ListEntitiesForPolicy and DeleteConflict messages that say where (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  let shared: string;
  beforeAll(async () => {
    f = await startAccountFixture();
    const { root } = f;
    shared = (await root.call("createPolicy", { policyName: "Shared", policyDocument: S3_READ })).policy.arn;
    await root.call("createUser", { userName: "alice" });
    await root.call("createUser", { userName: "bob", path: "/eng/" });
    await root.call("createUser", { userName: "carol", permissionsBoundaryArn: shared });
    await root.call("createGroup", { groupName: "devs" });
    await root.call("createRole", { roleName: "deploy", assumeRolePolicyDocument: TRUST });
    for (const e of [user("alice"), user("bob"), group("devs"), role("deploy")]) {
      await root.call("attachPolicy", { ...e, policyArn: shared });
    }
    // alice is attached AND bounded: listed once.
    await root.call("putPermissionsBoundary", { ...user("alice"), permissionsBoundaryArn: shared });
  });
  afterAll(async () => {
    await f.close();
  });

  it("lists the groups, users and roles a policy is attached to or bounds, filtered as AWS filters", async () => {
    const { root } = f;
    const all = await root.call("listEntitiesForPolicy", { policyArn: shared });
    expect(names(all)).toEqual({ groups: ["devs"], users: ["alice", "bob", "carol"], roles: ["deploy"] });
    expect(all.page.isTruncated).toBe(false);
    // Names with their ids, as AWS's PolicyUser/PolicyGroup/PolicyRole.
    expect(all.policyUsers[0]).toEqual({
      name: "alice",
      id: (await root.call("getUser", { userName: "alice" })).user.userId,
    });
    expect(all.policyRoles[0].id).toBe((await root.call("getRole", { roleName: "deploy" })).role.roleId);
    expect(all.policyGroups[0].id).toMatch(/^AGPA/);

    const list = (extra: object) => root.call("listEntitiesForPolicy", { policyArn: shared, ...extra }).then(names);
    expect(await list({ entityFilter: "User" })).toEqual({ groups: [], users: ["alice", "bob", "carol"], roles: [] });
    expect(await list({ entityFilter: "Group" })).toEqual({ groups: ["devs"], users: [], roles: [] });
    expect(await list({ entityFilter: "Role" })).toEqual({ groups: [], users: [], roles: ["deploy"] });
    // AWS accepts these; no user, group or role is a managed policy.
    expect(await list({ entityFilter: "LocalManagedPolicy" })).toEqual({ groups: [], users: [], roles: [] });
    expect(await list({ entityFilter: "AWSManagedPolicy" })).toEqual({ groups: [], users: [], roles: [] });
    expect(await list({ policyUsageFilter: "PermissionsPolicy" })).toEqual({
      groups: ["devs"],
      users: ["alice", "bob"],
      roles: ["deploy"],
    });
    expect(await list({ policyUsageFilter: "PermissionsBoundary" })).toEqual({
      groups: [],
      users: ["alice", "carol"],
      roles: [],
    });
    expect(await list({ pathPrefix: "/eng/" })).toEqual({ groups: [], users: ["bob"], roles: [] });

    // One sequence of pages over groups, users, roles.
    const seen: string[] = [];
    let marker = "";
    let pages = 0;
    do {
      const p = await root.call("listEntitiesForPolicy", { policyArn: shared, page: { marker, maxItems: 2 } });
      const n = names(p);
      seen.push(...n.groups.map((x) => `g:${x}`), ...n.users.map((x) => `u:${x}`), ...n.roles.map((x) => `r:${x}`));
      expect(n.groups.length + n.users.length + n.roles.length).toBeLessThanOrEqual(2);
      marker = p.page.isTruncated ? p.page.marker : "";
      pages++;
    } while (marker !== "");
    expect(seen).toEqual(["g:devs", "u:alice", "u:bob", "u:carol", "r:deploy"]);
    expect(pages).toBe(3);
  });

  it("lists an AWS managed policy's entities of the calling account only", async () => {
    await f.root.call("attachPolicy", { ...role("deploy"), policyArn: READ_ONLY });
    const other = await f.anotherAccount();
    await other.root.call("createUser", { userName: "elsewhere" });
    await other.root.call("attachPolicy", { ...user("elsewhere"), policyArn: READ_ONLY });
    expect(names(await f.root.call("listEntitiesForPolicy", { policyArn: READ_ONLY }))).toEqual({
      groups: [],
      users: [],
      roles: ["deploy"],
    });
    expect(names(await other.root.call("listEntitiesForPolicy", { policyArn: READ_ONLY })).users).toEqual([
      "elsewhere",
    ]);
    // Another account's own policy is not revealed.
    await expectFailure(other.root.call("listEntitiesForPolicy", { policyArn: shared }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
    });
    await f.root.call("detachPolicy", { ...role("deploy"), policyArn: READ_ONLY });
  });

  it("refuses bad input naming the field, and a missing policy", async () => {
    const { root, accountId } = f;
    const call = (extra: object) => root.call("listEntitiesForPolicy", { policyArn: shared, ...extra });
    await expectFailure(call({ entityFilter: "Users" }), {
      code: status.INVALID_ARGUMENT,
      awsName: "ValidationError",
      field: "entityFilter",
    });
    await expectFailure(call({ entityFilter: "constructor" }), { field: "entityFilter" });
    await expectFailure(call({ policyUsageFilter: "Boundary" }), {
      code: status.INVALID_ARGUMENT,
      awsName: "ValidationError",
      field: "policyUsageFilter",
    });
    await expectFailure(call({ pathPrefix: "eng" }), { code: status.INVALID_ARGUMENT, field: "pathPrefix" });
    await expectFailure(call({ page: { marker: "bm90IG91cnM", maxItems: 0 } }), { field: "marker" });
    await expectFailure(call({ page: { marker: Buffer.from("m:9\nx").toString("base64url"), maxItems: 0 } }), {
      awsName: "InvalidInput",
      field: "marker",
    });
    await expectFailure(call({ page: { marker: "", maxItems: 1001 } }), { field: "maxItems" });
    await expectFailure(root.call("listEntitiesForPolicy", { policyArn: "Shared" }), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidInput",
      field: "policyArn",
    });
    await expectFailure(root.call("listEntitiesForPolicy", { policyArn: `arn:aws:iam::${accountId}:policy/Ghost` }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
      field: "policyArn",
    });
  });

  it("authorizes iam:ListEntitiesForPolicy on the policy's stored ARN", async () => {
    const { accountId } = f;
    const nobody = await f.aUser("nobody");
    await expectFailure(nobody.call("listEntitiesForPolicy", { policyArn: shared }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    const reader = await f.aUser("reader", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: "iam:ListEntitiesForPolicy",
          Resource: `arn:aws:iam::${accountId}:policy/Shared`,
        }),
      ],
    });
    // Another spelling of the name reaches the same policy, authorized on its stored ARN.
    const spelled = `arn:aws:iam::${accountId}:policy/SHARED`;
    expect(names(await reader.call("listEntitiesForPolicy", { policyArn: spelled })).groups).toEqual(["devs"]);
    await expectFailure(reader.call("listEntitiesForPolicy", { policyArn: READ_ONLY }), { awsName: "AccessDenied" });
  });

  it("DeleteConflict says where a policy is still attached and whom it bounds", async () => {
    const { root } = f;
    const conflict = await expectFailure(root.call("deletePolicy", { policyArn: shared }), {
      code: status.FAILED_PRECONDITION,
      awsName: "DeleteConflict",
      field: "policyArn",
    });
    expect(conflict.details).toContain(
      "attached to 2 users (alice, bob), 1 group (devs), 1 role (deploy); boundary of 2 users (alice, carol)",
    );
    // A few names per kind, then a count.
    const crowded = (await root.call("createPolicy", { policyName: "Crowded", policyDocument: S3_READ })).policy.arn;
    for (const n of ["u1", "u2", "u3", "u4", "u5"]) {
      await root.call("createUser", { userName: n });
      await root.call("attachPolicy", { ...user(n), policyArn: crowded });
    }
    await root.call("createPolicyVersion", { policyArn: crowded, policyDocument: S3_READ, setAsDefault: true });
    const many = await failureOf(root.call("deletePolicy", { policyArn: crowded }));
    expect(many.details).toContain("attached to 5 users (u1, u2, u3, and 2 more); 1 non-default version (v1)");
    for (const n of ["u1", "u2", "u3", "u4", "u5"]) {
      await root.call("detachPolicy", { ...user(n), policyArn: crowded });
      await root.call("deleteUser", { userName: n });
    }
  });

  it("DeleteConflict on users, groups and roles names what is left", async () => {
    const { root, accountId } = f;
    await root.call("createUser", { userName: "dave" });
    await root.call("addUserToGroup", { groupName: "devs", userName: "dave" });
    await root.call("addUserToGroup", { groupName: "devs", userName: "alice" });
    const key = (await root.call("createAccessKey", { userName: "dave" })).accessKey.accessKeyId;
    await root.call("putInlinePolicy", { ...user("dave"), policyName: "own", policyDocument: S3_READ });
    await root.call("attachPolicy", { ...user("dave"), policyArn: shared });
    await root.call("createLoginProfile", { userName: "dave", password: "Dave-Pass-123!" });
    const dave = await expectFailure(root.call("deleteUser", { userName: "dave" }), {
      code: status.FAILED_PRECONDITION,
      awsName: "DeleteConflict",
      field: "userName",
    });
    expect(dave.details).toContain(
      `1 access key (${key}); member of 1 group (devs); 1 attached policy (Shared); 1 inline policy (own)`,
    );
    expect(dave.details).toContain("1 login profile");
    await root.call("deleteLoginProfile", { userName: "dave" });

    // An enabled MFA device: refused by the store with the device named, not by a foreign key.
    const device = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "dave-phone" });
    await f.h.cp.store.pool.query(
      "UPDATE mfa_devices SET user_id = (SELECT user_id FROM users WHERE user_name = 'dave' AND account_id = $1), enabled_at = now() WHERE serial_number = $2",
      [accountId, device.serialNumber],
    );
    const withDevice = await failureOf(root.call("deleteUser", { userName: "dave" }));
    expect([withDevice.awsName, withDevice.field]).toEqual(["DeleteConflict", "userName"]);
    expect(withDevice.details).toContain(`1 MFA device (${device.serialNumber})`);
    const deviceInUse = await failureOf(root.call("deleteVirtualMfaDevice", { serialNumber: device.serialNumber }));
    expect(deviceInUse.details).toContain('enabled for user "dave"');

    const devs = await expectFailure(root.call("deleteGroup", { groupName: "devs" }), {
      awsName: "DeleteConflict",
      field: "groupName",
    });
    expect(devs.details).toContain("2 members (alice, dave); 1 attached policy (Shared)");

    await root.call("createInstanceProfile", { instanceProfileName: "web" });
    await root.call("addRoleToInstanceProfile", { instanceProfileName: "web", roleName: "deploy" });
    await root.call("putInlinePolicy", { ...role("deploy"), policyName: "inline", policyDocument: S3_READ });
    const deploy = await expectFailure(root.call("deleteRole", { roleName: "deploy" }), {
      awsName: "DeleteConflict",
      field: "roleName",
    });
    expect(deploy.details).toContain("1 attached policy (Shared); 1 inline policy (inline); 1 instance profile (web)");
  });
});
