import type { GroupMembershipRequest, MutationResponse } from "@gatehouse/proto";
import { toWire } from "../mappers.ts";
import type { Target } from "../targets.ts";
import { checkName, checkNewPath, checkPath } from "../validation.ts";
import type { AccountContext } from "./call-context.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pageOf, pathPage } from "./paging.ts";
import { renamedTarget, subjectUser } from "./principals.ts";

/**
 * IAM groups and their members: CreateGroup, GetGroup, ListGroups, ListGroupsForUser, DeleteGroup,
 * AddUserToGroup, RemoveUserFromGroup, UpdateGroup.
 */
export function groupOperations({ store, targets, arns }: OperationDeps) {
  /** AddUserToGroup and RemoveUserFromGroup: both authorized on the group. */
  const membership =
    (action: "AddUserToGroup" | "RemoveUserFromGroup") =>
    async (r: GroupMembershipRequest, ctx: AccountContext): Promise<MutationResponse> => {
      const groupName = checkName(r.groupName, "groupName", 128);
      const userName = checkName(r.userName, "userName", 64);
      await ctx.authorize(action, () => targets.principal(ctx.accountId, "group", groupName));
      const token = ctx.token(r.clientRequestToken);
      const m =
        action === "AddUserToGroup"
          ? await store.addUserToGroup(ctx.accountId, groupName, userName, token)
          : await store.removeUserFromGroup(ctx.accountId, groupName, userName, token);
      return { revision: toWire.revision(m) };
    };

  return {
    createGroup: forAccount("CreateGroup", async (r, ctx) => {
      const groupName = checkName(r.groupName, "groupName", 128);
      const path = checkPath(r.path);
      await ctx.authorize("CreateGroup", () => arns.of(ctx.accountId, "group", path, groupName));
      const m = await store.createGroup(ctx.accountId, { groupName, path, ...ctx.token(r.clientRequestToken) });
      return { group: toWire.group(m.value), revision: toWire.revision(m) };
    }),
    getGroup: forAccount("GetGroup", async (r, ctx) => {
      const groupName = checkName(r.groupName, "groupName", 128);
      await ctx.authorize("GetGroup", () => targets.principal(ctx.accountId, "group", groupName));
      const group = await store.getGroup(ctx.accountId, groupName);
      const users = await store.listUsersInGroup(ctx.accountId, groupName, pageOf(r.page));
      return { group: toWire.group(group), users: users.items.map(toWire.user), page: toWire.page(users) };
    }),
    listGroups: forAccount("ListGroups", async (r, ctx) => {
      const p = pathPage(r.page, r.pathPrefix);
      await ctx.authorize("ListGroups", () => arns.of(ctx.accountId, "group", p.pathPrefix, ""));
      const result = await store.listGroups(ctx.accountId, p);
      return { groups: result.items.map(toWire.group), page: toWire.page(result) };
    }),
    listGroupsForUser: forAccount("ListGroupsForUser", async (r, ctx) => {
      const userName = subjectUser(ctx, r.userName);
      await ctx.authorize("ListGroupsForUser", () => targets.principal(ctx.accountId, "user", userName));
      const result = await store.listGroupsForUser(ctx.accountId, userName, pageOf(r.page));
      return { groups: result.items.map(toWire.group), page: toWire.page(result) };
    }),
    deleteGroup: forAccount("DeleteGroup", async (r, ctx) => {
      const groupName = checkName(r.groupName, "groupName", 128);
      await ctx.authorize("DeleteGroup", () => targets.principal(ctx.accountId, "group", groupName));
      return {
        revision: toWire.revision(await store.deleteGroup(ctx.accountId, groupName, ctx.token(r.clientRequestToken))),
      };
    }),
    updateGroup: forAccount("UpdateGroup", async (r, ctx) => {
      const groupName = checkName(r.groupName, "groupName", 128);
      const newGroupName = r.newGroupName === undefined ? undefined : checkName(r.newGroupName, "newGroupName", 128);
      const newPath = checkNewPath(r.newPath);
      let current: Target | undefined;
      const source = async () => (current ??= await targets.principal(ctx.accountId, "group", groupName));
      // As AWS: iam:UpdateGroup on the group as it is and on the group it becomes.
      await ctx.authorize("UpdateGroup", source);
      await ctx.authorize("UpdateGroup", async () =>
        renamedTarget(await source(), "group", arns.partition, { newName: newGroupName, newPath }),
      );
      const m = await store.updateGroup(ctx.accountId, {
        groupName,
        newGroupName,
        newPath,
        ...ctx.token(r.clientRequestToken),
      });
      return { revision: toWire.revision(m) };
    }),
    addUserToGroup: forAccount("AddUserToGroup", membership("AddUserToGroup")),
    removeUserFromGroup: forAccount("RemoveUserFromGroup", membership("RemoveUserFromGroup")),
  } satisfies OperationFamily;
}
