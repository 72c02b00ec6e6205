import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

const TRUST = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });

describe("instance profiles (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture({ GATEHOUSE_QUOTA_INSTANCE_PROFILES_PER_ACCOUNT: "5" });
    await f.root.call("createRole", { roleName: "web", assumeRolePolicyDocument: TRUST });
    await f.root.call("createRole", { roleName: "batch", assumeRolePolicyDocument: TRUST });
  });
  afterAll(async () => {
    await f.close();
  });

  it("create, get, add a role (one at most), list for role, remove, delete; events and export", async () => {
    const { root, accountId } = f;
    const created = await root.call("createInstanceProfile", {
      instanceProfileName: "web-profile",
      path: "/apps/",
      tags: [{ key: "team", value: "web" }],
    });
    const p = created.instanceProfile;
    expect(p.arn).toBe(`arn:aws:iam::${accountId}:instance-profile/apps/web-profile`);
    expect(p.instanceProfileId).toMatch(/^AIPA[A-Z2-7]{17}$/);
    expect(p.roles).toEqual([]);
    expect(p.tags).toEqual([{ key: "team", value: "web" }]);
    expect(Number(created.revision.revision)).toBeGreaterThan(1);

    await expectFailure(root.call("createInstanceProfile", { instanceProfileName: "WEB-PROFILE" }), {
      code: status.ALREADY_EXISTS,
      awsName: "EntityAlreadyExists",
      field: "instanceProfileName",
    });
    await expectFailure(root.call("createInstanceProfile", { instanceProfileName: "no spaces" }), {
      code: status.INVALID_ARGUMENT,
      awsName: "ValidationError",
    });

    await root.call("addRoleToInstanceProfile", { instanceProfileName: "web-profile", roleName: "web" });
    const got = await root.call("getInstanceProfile", { instanceProfileName: "web-profile" });
    expect(got.instanceProfile.roles.map((r: { roleName: string }) => r.roleName)).toEqual(["web"]);
    await expectFailure(
      root.call("addRoleToInstanceProfile", { instanceProfileName: "web-profile", roleName: "batch" }),
      { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded" },
    );
    await expectFailure(
      root.call("addRoleToInstanceProfile", { instanceProfileName: "web-profile", roleName: "ghost" }),
      { code: status.NOT_FOUND, awsName: "NoSuchEntity", field: "roleName" },
    );

    const forRole = await root.call("listInstanceProfilesForRole", { roleName: "web" });
    expect(forRole.instanceProfiles.map((x: { arn: string }) => x.arn)).toEqual([p.arn]);
    expect((await root.call("listInstanceProfilesForRole", { roleName: "batch" })).instanceProfiles).toEqual([]);
    expect((await failureOf(root.call("listInstanceProfilesForRole", { roleName: "ghost" }))).awsName).toBe(
      "NoSuchEntity",
    );

    const roleInUse = await expectFailure(root.call("deleteRole", { roleName: "web" }), {
      code: status.FAILED_PRECONDITION,
      awsName: "DeleteConflict",
    });
    expect(roleInUse.details).toContain("instance profiles");
    await expectFailure(root.call("deleteInstanceProfile", { instanceProfileName: "web-profile" }), {
      code: status.FAILED_PRECONDITION,
      awsName: "DeleteConflict",
    });

    const exported = await f.h.cp.store.exportAccount(accountId);
    const state = exported.entities.find((e) => e.kind === "instance-profile" && e.id === p.instanceProfileId);
    expect(state?.state).toMatchObject({
      arn: p.arn,
      roles: [{ roleName: "web", arn: `arn:aws:iam::${accountId}:role/web` }],
    });

    await expectFailure(
      root.call("removeRoleFromInstanceProfile", { instanceProfileName: "web-profile", roleName: "batch" }),
      { code: status.NOT_FOUND, awsName: "NoSuchEntity" },
    );
    await root.call("removeRoleFromInstanceProfile", { instanceProfileName: "web-profile", roleName: "web" });
    const removed = await root.call("deleteInstanceProfile", { instanceProfileName: "web-profile" });
    await expectFailure(root.call("getInstanceProfile", { instanceProfileName: "web-profile" }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
      field: "instanceProfileName",
    });

    const events = await f.h.cp.store.pool.query(
      "SELECT revision, payload FROM outbox WHERE account_id = $1 AND entity_kind = 'instance-profile' AND entity_id = $2 ORDER BY revision",
      [accountId, p.instanceProfileId],
    );
    expect(events.rows.map((r) => (r.payload === null ? null : r.payload.roles.length))).toEqual([0, 1, 0, null]);
    expect(Number(events.rows.at(-1)?.revision)).toBe(Number(removed.revision.revision));
    await root.call("deleteRole", { roleName: "batch" });
  });

  it("lists by path prefix with marker pagination, and enforces the account quota", async () => {
    const { root } = f;
    for (const name of ["a1", "a2", "a3"]) {
      await root.call("createInstanceProfile", { instanceProfileName: name, path: "/a/" });
    }
    await root.call("createInstanceProfile", { instanceProfileName: "b1", path: "/b/" });
    const first = await root.call("listInstanceProfiles", { pathPrefix: "/a/", page: { marker: "", maxItems: 2 } });
    expect(first.instanceProfiles.map((x: { instanceProfileName: string }) => x.instanceProfileName)).toEqual([
      "a1",
      "a2",
    ]);
    expect(first.page.isTruncated).toBe(true);
    const next = await root.call("listInstanceProfiles", {
      pathPrefix: "/a/",
      page: { maxItems: 2, marker: first.page.marker },
    });
    expect(next.instanceProfiles.map((x: { instanceProfileName: string }) => x.instanceProfileName)).toEqual(["a3"]);
    expect(next.page.isTruncated).toBe(false);
    await root.call("createInstanceProfile", { instanceProfileName: "b2", path: "/b/" });
    await expectFailure(root.call("createInstanceProfile", { instanceProfileName: "b3" }), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
    });
    for (const name of ["a1", "a2", "a3", "b1", "b2"]) {
      await root.call("deleteInstanceProfile", { instanceProfileName: name });
    }
  });

  it("AddRoleToInstanceProfile also needs iam:PassRole on the role (root passes)", async () => {
    const { root, accountId } = f;
    const profileArn = `arn:aws:iam::${accountId}:instance-profile/*`;
    const webArn = `arn:aws:iam::${accountId}:role/web`;
    const addOnly = await f.aUser("ip-adder", {
      inline: [policyDoc({ Effect: "Allow", Action: "iam:AddRoleToInstanceProfile", Resource: profileArn })],
    });
    const passesBatch = await f.aUser("ip-adder-batch", {
      inline: [
        policyDoc({ Effect: "Allow", Action: "iam:AddRoleToInstanceProfile", Resource: profileArn }),
        policyDoc({ Effect: "Allow", Action: "iam:PassRole", Resource: `arn:aws:iam::${accountId}:role/batch` }),
      ],
    });
    const passesWeb = await f.aUser("ip-passer", {
      inline: [
        policyDoc({ Effect: "Allow", Action: "iam:AddRoleToInstanceProfile", Resource: profileArn }),
        policyDoc({ Effect: "Allow", Action: "iam:PassRole", Resource: webArn }),
      ],
    });
    await root.call("createInstanceProfile", { instanceProfileName: "pass-profile" });
    const add = { instanceProfileName: "pass-profile", roleName: "web" };
    for (const denied of [addOnly, passesBatch]) {
      const e = await expectFailure(denied.call("addRoleToInstanceProfile", add), {
        code: status.PERMISSION_DENIED,
        awsName: "AccessDenied",
      });
      expect(e.details).toContain(`iam:PassRole on resource ${webArn}`);
    }
    const roles = async () =>
      (await root.call("getInstanceProfile", { instanceProfileName: "pass-profile" })).instanceProfile.roles;
    expect(await roles()).toEqual([]);
    await passesWeb.call("addRoleToInstanceProfile", add);
    expect((await roles()).map((r: { roleName: string }) => r.roleName)).toEqual(["web"]);
    // Removing a role passes nothing: the operation's own permission is enough.
    const remover = await f.aUser("ip-remover", {
      inline: [policyDoc({ Effect: "Allow", Action: "iam:RemoveRoleFromInstanceProfile", Resource: profileArn })],
    });
    await remover.call("removeRoleFromInstanceProfile", add);
    await root.call("addRoleToInstanceProfile", add);
    expect((await roles()).map((r: { roleName: string }) => r.roleName)).toEqual(["web"]);
    await root.call("removeRoleFromInstanceProfile", add);
    await root.call("deleteInstanceProfile", { instanceProfileName: "pass-profile" });
  });

  it("authorizes iam:<Operation> on the instance profile ARN", async () => {
    const reader = await f.aUser("ip-reader", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:GetInstanceProfile", "iam:ListInstanceProfiles"],
          Resource: `arn:aws:iam::${f.accountId}:instance-profile/*`,
        }),
      ],
    });
    await f.root.call("createInstanceProfile", { instanceProfileName: "readable" });
    expect(
      (await reader.call("getInstanceProfile", { instanceProfileName: "readable" })).instanceProfile,
    ).toBeDefined();
    expect((await reader.call("listInstanceProfiles", {})).instanceProfiles).toHaveLength(1);
    await expectFailure(reader.call("createInstanceProfile", { instanceProfileName: "mine" }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    expect((await failureOf(reader.call("deleteInstanceProfile", { instanceProfileName: "readable" }))).awsName).toBe(
      "AccessDenied",
    );
  });
});
