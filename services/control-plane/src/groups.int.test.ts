import { decodeEntity } from "@gatehouse/events";
import { EntityType } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

const names = (list: { userName?: string; groupName?: string }[]) => list.map((x) => x.userName ?? x.groupName);

describe("UpdateGroup (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it("renames and moves a group: same id, new ARN, members and policies follow, members' states re-emitted", async () => {
    const { root, accountId } = f;
    await root.call("createGroup", { groupName: "devs", path: "/" });
    const group = { entityType: EntityType.ENTITY_TYPE_GROUP, entityName: "devs" };
    // Members get their permissions through the group: they must keep them under its new name.
    await root.call("putInlinePolicy", {
      ...group,
      policyName: "list",
      policyDocument: policyDoc({ Effect: "Allow", Action: "iam:ListUsers", Resource: "*" }),
    });
    const alice = await f.aUser("alice");
    await f.aUser("bob");
    for (const userName of ["alice", "bob"]) await root.call("addUserToGroup", { groupName: "devs", userName });
    await alice.call("listUsers", {});
    const before = (await root.call("getGroup", { groupName: "devs" })).group;

    const m = await root.call("updateGroup", { groupName: "DEVS", newGroupName: "engineers", newPath: "/eng/" });
    const after = await root.call("getGroup", { groupName: "engineers" });
    expect(after.group).toEqual({
      ...before,
      groupName: "engineers",
      path: "/eng/",
      arn: `arn:aws:iam::${accountId}:group/eng/engineers`,
    });
    expect(names(after.users)).toEqual(["alice", "bob"]);
    await expectFailure(root.call("getGroup", { groupName: "devs" }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
      field: "groupName",
    });
    expect(names((await root.call("listGroupsForUser", { userName: "alice" })).groups)).toEqual(["engineers"]);
    const renamed = { entityType: EntityType.ENTITY_TYPE_GROUP, entityName: "engineers" };
    expect((await root.call("listInlinePolicies", renamed)).policyNames).toEqual(["list"]);
    await alice.call("listUsers", {});

    // The revision: the group's new state under its unchanged id, and both members' states, whose
    // group lists carry the new name. No tombstone.
    const rows = (
      await f.h.cp.store.pool.query<{ entity_kind: string; entity_id: string; payload: unknown }>(
        "SELECT entity_kind, entity_id, payload FROM outbox WHERE account_id = $1 AND revision = $2 ORDER BY id",
        [accountId, m.revision.revision],
      )
    ).rows;
    const users = await Promise.all(
      ["alice", "bob"].map(async (userName) => (await root.call("getUser", { userName })).user.userId),
    );
    expect(rows.map((r) => `${r.entity_kind} ${r.entity_id}`).sort()).toEqual(
      [`group ${before.groupId}`, ...users.map((id) => `user ${id}`)].sort(),
    );
    for (const r of rows) {
      const typed = decodeEntity(r.entity_kind, r.entity_id, r.payload);
      if (typed.kind === "group") {
        expect(typed.state).toMatchObject({ groupName: "engineers", path: "/eng/", arn: after.group.arn });
      } else if (typed.kind === "user") {
        expect(typed.state?.groups).toEqual([{ groupId: before.groupId, groupName: "engineers" }]);
      } else throw new Error(`unexpected ${typed.kind}`);
    }
  });

  it("checks its input, the new name's uniqueness and the group's existence; a call changing nothing bumps nothing", async () => {
    const { root } = f;
    await root.call("createGroup", { groupName: "ops", path: "/" });
    await root.call("createGroup", { groupName: "qa", path: "/" });
    for (const [request, field] of [
      [{ groupName: "", newGroupName: "x" }, "groupName"],
      [{ groupName: "qa", newGroupName: "" }, "newGroupName"],
      [{ groupName: "qa", newGroupName: "no spaces" }, "newGroupName"],
      [{ groupName: "qa", newGroupName: "x".repeat(129) }, "newGroupName"],
      [{ groupName: "qa", newPath: "" }, "newPath"],
      [{ groupName: "qa", newPath: "/no-end" }, "newPath"],
    ] as const) {
      await expectFailure(
        root.call("updateGroup", request),
        { code: status.INVALID_ARGUMENT, awsName: "ValidationError", field },
        JSON.stringify(request),
      );
    }
    await expectFailure(root.call("updateGroup", { groupName: "qa", newGroupName: "OPS" }), {
      code: status.ALREADY_EXISTS,
      awsName: "EntityAlreadyExists",
      field: "newGroupName",
    });
    await expectFailure(root.call("updateGroup", { groupName: "ghosts", newGroupName: "spirits" }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
      field: "groupName",
    });
    const recased = await root.call("updateGroup", { groupName: "qa", newGroupName: "QA" });
    expect((await root.call("getGroup", { groupName: "qa" })).group.groupName).toBe("QA");
    const same = await root.call("updateGroup", { groupName: "qa", newGroupName: "QA", newPath: "/" });
    expect(same.revision.revision).toBe(recased.revision.revision);
  });

  it("is authorized as iam:UpdateGroup on both the current and the new ARN", async () => {
    const { root, accountId } = f;
    const arn = (name: string) => `arn:aws:iam::${accountId}:group/${name}`;
    const allowOn = (...resources: string[]) => [
      policyDoc({ Effect: "Allow", Action: "iam:UpdateGroup", Resource: resources }),
    ];
    await root.call("createGroup", { groupName: "red", path: "/" });
    const onlySource = await f.aUser("g-only-source", { inline: allowOn(arn("red")) });
    const onlyDestination = await f.aUser("g-only-destination", { inline: allowOn(arn("crimson")) });
    const both = await f.aUser("g-both", { inline: allowOn(arn("red"), arn("crimson")) });
    const rename = { groupName: "red", newGroupName: "crimson" };
    for (const [who, client] of [
      ["only-source", onlySource],
      ["only-destination", onlyDestination],
    ] as const) {
      await expectFailure(
        client.call("updateGroup", rename),
        { code: status.PERMISSION_DENIED, awsName: "AccessDenied" },
        who,
      );
    }
    await expectFailure(both.call("updateGroup", { ...rename, newPath: "/elsewhere/" }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    expect((await failureOf(root.call("getGroup", { groupName: "crimson" }))).awsName).toBe("NoSuchEntity");
    await both.call("updateGroup", rename);
    expect((await root.call("getGroup", { groupName: "crimson" })).group.arn).toBe(arn("crimson"));
  });
});
