import { decodeEntityChange } from "@gatehouse/events";
import { EntityType } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, totp } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";
import { collectEvents } from "./test-env.int-helper.ts";

const READ_ONLY_AWS = "arn:aws:iam::aws:policy/ReadOnlyAccess";

describe("UpdateUser (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  /** The outbox rows a revision wrote, as `kind id → payload`. */
  const eventsAt = async (revision: string) =>
    (
      await f.h.cp.store.pool.query<{ entity_kind: string; entity_id: string; payload: unknown }>(
        "SELECT entity_kind, entity_id, payload FROM outbox WHERE account_id = $1 AND revision = $2 ORDER BY id",
        [f.accountId, revision],
      )
    ).rows;

  it("renames and moves a user: same id, new ARN, and everything attached follows it, in one revision", async () => {
    const { root, accountId } = f;
    const events = await collectEvents(f.h.topic);
    try {
      // The user may read itself: its cached credential must not keep the old name after the rename.
      const bob = await f.aUser("bob", {
        inline: [policyDoc({ Effect: "Allow", Action: ["iam:GetUser", "iam:ListGroupsForUser"], Resource: "*" })],
        managed: [READ_ONLY_AWS],
      });
      await root.call("tagUser", { entityName: "bob", tags: [{ key: "team", value: "ops" }] });
      await root.call("createGroup", { groupName: "devs", path: "/" });
      await root.call("addUserToGroup", { groupName: "devs", userName: "bob" });
      await root.call("createLoginProfile", { userName: "bob", password: "Rename-Pass-1" });
      const device = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "bob-phone", path: "/" });
      const now = Math.floor(Date.now() / 1000);
      await root.call("enableMfaDevice", {
        userName: "bob",
        serialNumber: device.serialNumber,
        authenticationCode1: totp(device.base32StringSeed, now - 30),
        authenticationCode2: totp(device.base32StringSeed, now),
      });
      const before = (await bob.call("getUser", { userName: "" })).user;
      expect(before.arn).toBe(`arn:aws:iam::${accountId}:user/bob`);
      const keyId = (await root.call("listAccessKeys", { userName: "bob" })).accessKeys[0].accessKeyId;

      // Named in another case, as AWS matches names.
      const m = await root.call("updateUser", { userName: "BOB", newUserName: "robert", newPath: "/ops/" });
      expect(m.revision.accountId).toBe(accountId);

      const after = (await root.call("getUser", { userName: "robert" })).user;
      expect(after).toEqual({
        ...before,
        userName: "robert",
        path: "/ops/",
        arn: `arn:aws:iam::${accountId}:user/ops/robert`,
      });
      await expectFailure(root.call("getUser", { userName: "bob" }), {
        code: status.NOT_FOUND,
        awsName: "NoSuchEntity",
        field: "userName",
      });
      // Its own key now signs as robert at once (the credential cache was dropped).
      expect((await bob.call("getUser", { userName: "" })).user.arn).toBe(after.arn);
      expect(
        (await bob.call("listGroupsForUser", { userName: "" })).groups.map((g: { groupName: string }) => g.groupName),
      ).toEqual(["devs"]);
      expect(
        (await root.call("getGroup", { groupName: "devs" })).users.map((u: { userName: string }) => u.userName),
      ).toEqual(["robert"]);
      const user = { entityType: EntityType.ENTITY_TYPE_USER, entityName: "robert" };
      expect(
        (await root.call("listAttachedPolicies", user)).attachedPolicies.map((a: { policyArn: string }) => a.policyArn),
      ).toEqual([READ_ONLY_AWS]);
      expect((await root.call("listInlinePolicies", user)).policyNames).toEqual(["p0"]);
      expect((await root.call("listAccessKeys", { userName: "robert" })).accessKeys).toEqual([
        expect.objectContaining({ accessKeyId: keyId, userName: "robert" }),
      ]);
      expect((await root.call("getLoginProfile", { userName: "robert" })).loginProfile.userName).toBe("robert");
      expect((await root.call("listMfaDevices", { userName: "robert" })).mfaDevices).toEqual([
        expect.objectContaining({ userName: "robert", serialNumber: device.serialNumber }),
      ]);

      // The revision carries the user's new state under its unchanged id (no tombstone), and every
      // state that embeds its name or ARN: its access key, login profile and MFA device.
      const rows = await eventsAt(m.revision.revision);
      expect(rows.map((r) => `${r.entity_kind} ${r.entity_id}`).sort()).toEqual(
        [
          `user ${before.userId}`,
          `access-key ${keyId}`,
          `login-profile ${before.userId}`,
          `mfa-device ${device.serialNumber}`,
        ].sort(),
      );
      const payload = (kind: string) => rows.find((r) => r.entity_kind === kind)?.payload;
      expect(payload("user")).toMatchObject({
        userId: before.userId,
        userName: "robert",
        path: "/ops/",
        arn: after.arn,
        tags: [{ key: "team", value: "ops" }],
        groups: [{ groupName: "devs" }].map((g) => expect.objectContaining(g)),
      });
      expect(payload("access-key")).toMatchObject({ userName: "robert", principalArn: after.arn });
      expect(payload("login-profile")).toMatchObject({ userName: "robert" });
      expect(payload("mfa-device")).toMatchObject({ userName: "robert" });

      // And Kafka gets them at that revision, decodable by the typed states.
      await expect
        .poll(() => events.deduped(accountId).filter((e) => e.revision === m.revision.revision).length, {
          timeout: 20_000,
        })
        .toBe(4);
      const published = events
        .deduped(accountId)
        .filter((e) => e.revision === m.revision.revision)
        .map((e) => decodeEntityChange(e));
      expect(published.find((e) => e.kind === "user")?.state).toMatchObject({ arn: after.arn });
    } finally {
      await events.stop();
    }
  });

  it("checks its input, the new name's uniqueness and the user's existence; a call changing nothing bumps nothing", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "alice" });
    await root.call("createUser", { userName: "carl" });
    for (const [request, field] of [
      [{ userName: "", newUserName: "x" }, "userName"],
      [{ userName: "carl", newUserName: "" }, "newUserName"],
      [{ userName: "carl", newUserName: "no spaces" }, "newUserName"],
      [{ userName: "carl", newUserName: "x".repeat(65) }, "newUserName"],
      [{ userName: "carl", newPath: "" }, "newPath"],
      [{ userName: "carl", newPath: "no-slash" }, "newPath"],
    ] as const) {
      await expectFailure(
        root.call("updateUser", request),
        { code: status.INVALID_ARGUMENT, awsName: "ValidationError", field },
        JSON.stringify(request),
      );
    }
    await expectFailure(root.call("updateUser", { userName: "carl", newUserName: "ALICE" }), {
      code: status.ALREADY_EXISTS,
      awsName: "EntityAlreadyExists",
      field: "newUserName",
    });
    await expectFailure(root.call("updateUser", { userName: "ghost", newUserName: "spirit" }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
      field: "userName",
    });
    expect((await root.call("getUser", { userName: "carl" })).user.arn).toMatch(/:user\/carl$/);

    // A user may change the case of its own name.
    const recased = await root.call("updateUser", { userName: "carl", newUserName: "Carl" });
    expect((await root.call("getUser", { userName: "carl" })).user.userName).toBe("Carl");
    // Same name and path (and nothing asked): success without a new revision.
    for (const request of [{ userName: "carl", newUserName: "Carl", newPath: "/" }, { userName: "Carl" }]) {
      const same = await root.call("updateUser", request);
      expect(same.revision.revision).toBe(recased.revision.revision);
    }
    // A client request token replays the first answer.
    const token = { userName: "Carl", newPath: "/moved/", clientRequestToken: "rename-carl-1" };
    const first = await root.call("updateUser", token);
    expect(await root.call("updateUser", token)).toEqual(first);
    expect((await root.call("getUser", { userName: "carl" })).user.path).toBe("/moved/");
  });

  it("is authorized as iam:UpdateUser on both the current and the new ARN", async () => {
    const { root, accountId } = f;
    const arn = (name: string) => `arn:aws:iam::${accountId}:user/${name}`;
    const allowOn = (...resources: string[]) => [
      policyDoc({ Effect: "Allow", Action: "iam:UpdateUser", Resource: resources }),
    ];
    await root.call("createUser", { userName: "dora" });
    const onlySource = await f.aUser("only-source", { inline: allowOn(arn("dora")) });
    const onlyDestination = await f.aUser("only-destination", { inline: allowOn(arn("dorothy")) });
    const both = await f.aUser("both", { inline: allowOn(arn("dora"), arn("dorothy")) });
    const rename = { userName: "dora", newUserName: "dorothy" };
    for (const [who, client] of [
      ["only-source", onlySource],
      ["only-destination", onlyDestination],
    ] as const) {
      await expectFailure(
        client.call("updateUser", rename),
        { code: status.PERMISSION_DENIED, awsName: "AccessDenied" },
        who,
      );
    }
    // The new path is part of the new ARN.
    await expectFailure(both.call("updateUser", { ...rename, newPath: "/elsewhere/" }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    expect((await failureOf(root.call("getUser", { userName: "dorothy" }))).awsName).toBe("NoSuchEntity");
    await both.call("updateUser", rename);
    expect((await root.call("getUser", { userName: "dorothy" })).user.arn).toBe(arn("dorothy"));
    // A move alone is authorized on the moved ARN too.
    await expectFailure(both.call("updateUser", { userName: "dorothy", newPath: "/elsewhere/" }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
  });
});
