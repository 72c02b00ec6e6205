import { IamError, newId } from "@gatehouse/core";
import { assertNoDependents, count, limitExceeded, NAME_OF } from "../../checks.ts";
import { pageQuery, toPage } from "../../paging.ts";
import type { GroupRecord, Mutation, Page, PageInput, RequestToken, UserRecord } from "../../records.ts";
import { groupState, userState } from "../../state.ts";
import { type OutboxEvent, type Queryable, read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec, withoutToken } from "../../write-path.ts";
import { DEFAULT_PATH } from "../policies/policy-references.ts";
import { listUsersWhere } from "../users/user-store.ts";
import { findGroup, type GroupRow, toGroup } from "./group-rows.ts";

/** Input of {@link GroupStore.updateGroup}: absent fields keep the group's current name or path. */
export interface UpdateGroupInput extends RequestToken {
  readonly groupName: string;
  readonly newGroupName?: string | undefined;
  readonly newPath?: string | undefined;
}

/** Groups and their members. */
export interface GroupStore {
  createGroup(
    accountId: string,
    input: { groupName: string; path?: string | undefined } & RequestToken,
  ): Promise<Mutation<GroupRecord>>;
  getGroup(accountId: string, groupName: string): Promise<GroupRecord>;
  listGroups(accountId: string, page: PageInput): Promise<Page<GroupRecord>>;
  /** One page of the user's groups; the marker is the last group's lower-cased name. `pathPrefix` is ignored. */
  listGroupsForUser(accountId: string, userName: string, page: PageInput): Promise<Page<GroupRecord>>;
  /** One page of the group's members (GetGroup); the marker is the last user's lower-cased name. `pathPrefix` is ignored. */
  listUsersInGroup(accountId: string, groupName: string, page: PageInput): Promise<Page<UserRecord>>;
  deleteGroup(accountId: string, groupName: string, token?: RequestToken): Promise<Mutation<null>>;
  /**
   * Renames and/or moves a group (AWS's UpdateGroup): its id stays, and so do its members and
   * policies. The new name is unique case-insensitively (EntityAlreadyExists, field
   * `newGroupName`). Nothing changed: no events and no new revision.
   */
  updateGroup(accountId: string, input: UpdateGroupInput): Promise<Mutation<GroupRecord>>;
  addUserToGroup(accountId: string, groupName: string, userName: string, token?: RequestToken): Promise<Mutation<null>>;
  removeUserFromGroup(
    accountId: string,
    groupName: string,
    userName: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
}

// A user's groups, as its paged list reads them: rows strictly
// after the sort key `after` (from a marker; null: from the start), at most `limit` (null: all),
// ordered by that same sort key so markers resume exactly where the last page ended.

async function groupsOfUser(q: Queryable, userId: string, after: string | null, limit: number | null) {
  const r = await q.query<GroupRow>(
    `SELECT g.* FROM group_memberships m JOIN groups g ON g.group_id = m.group_id
     WHERE m.user_id = $1 AND ($2::text IS NULL OR lower(g.group_name) > $2) ORDER BY lower(g.group_name) LIMIT $3`,
    [userId, after, limit],
  );
  return r.rows;
}

/** The {@link GroupStore} part of the store. */
export function createGroupStore(ctx: StoreContext): GroupStore {
  const { find } = ctx;
  const { partition, quotas } = ctx.options;
  const userList = (q: Queryable, where: string, params: unknown[]) => listUsersWhere(q, partition, where, params);

  return {
    createGroup: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreateGroup",
          request: { groupName: input.groupName, path: input.path },
          ...tokenSpec(input),
        },
        async (q) => {
          const groupId = newId("group");
          const r = await q.query<GroupRow>(
            `INSERT INTO groups (group_id, account_id, group_name, path) SELECT $1::text, $2::text, $3::text, $4::text
             WHERE (SELECT count(*) FROM groups WHERE account_id = $2) < $5 RETURNING *`,
            [groupId, accountId, input.groupName, input.path || DEFAULT_PATH, quotas.groupsPerAccount],
          );
          const row = r.rows[0];
          if (row === undefined) {
            throw limitExceeded("too many groups in the account", quotas.groupsPerAccount, "groupName");
          }
          return { value: toGroup(row, partition), events: [await groupState(q, partition, groupId)] };
        },
      ),

    getGroup: (accountId, groupName) =>
      read(ctx, "GetGroup", async (q) => toGroup(await find.group(q, accountId, groupName), partition)),

    listGroups: (accountId, page) =>
      read(ctx, "ListGroups", async (q) => {
        const p = pageQuery(page);
        const r = await q.query<GroupRow>(
          `SELECT * FROM groups WHERE account_id = $1 AND ($2::text IS NULL OR lower(group_name) > $2) AND path LIKE $3
           ORDER BY lower(group_name) LIMIT $4`,
          [accountId, p.after, p.pathLike, p.limit + 1],
        );
        return toPage(
          r.rows.map((g) => toGroup(g, partition)),
          p.limit,
          (g) => g.groupName.toLowerCase(),
        );
      }),

    listGroupsForUser: (accountId, userName, page) =>
      read(ctx, "ListGroupsForUser", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        const user = await find.user(q, accountId, userName);
        const rows = await groupsOfUser(q, user.user_id, p.after, p.limit + 1);
        return toPage(
          rows.map((g) => toGroup(g, partition)),
          p.limit,
          (g) => g.groupName.toLowerCase(),
        );
      }),

    listUsersInGroup: (accountId, groupName, page) =>
      read(ctx, "GetGroup", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        const group = await find.group(q, accountId, groupName);
        const users = await userList(
          q,
          `JOIN group_memberships m ON m.user_id = u.user_id
           WHERE m.group_id = $1 AND ($2::text IS NULL OR lower(u.user_name) > $2) ORDER BY lower(u.user_name) LIMIT $3`,
          [group.group_id, p.after, p.limit + 1],
        );
        return toPage(users, p.limit, (u) => u.userName.toLowerCase());
      }),

    deleteGroup: (accountId, groupName, token) =>
      mutate(ctx, accountId, { operation: "DeleteGroup", request: { groupName }, ...tokenSpec(token) }, async (q) => {
        const group = await find.group(q, accountId, groupName);
        await assertNoDependents(q, { kind: "group", name: groupName, id: group.group_id, field: "groupName" }, [
          {
            label: "members",
            table: "group_memberships",
            column: "group_id",
            named: [{ noun: "member", name: NAME_OF.user }],
          },
          {
            label: "attached policies",
            table: "policy_attachments",
            column: "group_id",
            named: [{ noun: "attached policy", name: NAME_OF.policy }],
          },
          {
            label: "inline policies",
            table: "inline_policies",
            column: "group_id",
            named: [{ noun: "inline policy", name: "d.policy_name" }],
          },
        ]);
        await q.query("DELETE FROM groups WHERE group_id = $1", [group.group_id]);
        return { value: null, events: [await groupState(q, partition, group.group_id)] };
      }),

    updateGroup: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        { operation: "UpdateGroup", request: withoutToken(input), ...tokenSpec(input) },
        async (q) => {
          const group = await find.group(q, accountId, input.groupName);
          const groupName = input.newGroupName ?? group.group_name;
          const path = input.newPath ?? group.path;
          if (groupName === group.group_name && path === group.path) {
            return { value: toGroup(group, partition), events: [] };
          }
          // Checked here (the account lock serializes writers) so the error names the new name's field.
          const taken = await q.query(
            "SELECT 1 FROM groups WHERE account_id = $1 AND lower(group_name) = lower($2) AND group_id <> $3",
            [accountId, groupName, group.group_id],
          );
          if ((taken.rowCount ?? 0) > 0) {
            throw new IamError("EntityAlreadyExists", `group ${JSON.stringify(groupName)} already exists`, {
              field: "newGroupName",
            });
          }
          await q.query("UPDATE groups SET group_name = $2, path = $3 WHERE group_id = $1", [
            group.group_id,
            groupName,
            path,
          ]);
          // Events are keyed by the group's id, which stays: the new state replaces the old one.
          // Group states list no members, but every member's state lists its groups by name, so
          // the members are re-emitted in the same revision.
          const members = await q.query<{ user_id: string }>(
            "SELECT user_id FROM group_memberships WHERE group_id = $1 ORDER BY user_id",
            [group.group_id],
          );
          const events: OutboxEvent[] = [await groupState(q, partition, group.group_id)];
          for (const m of members.rows) events.push(await userState(q, partition, m.user_id));
          return { value: toGroup(await findGroup(q, accountId, groupName), partition), events };
        },
      ),

    addUserToGroup: (accountId, groupName, userName, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "AddUserToGroup", request: { groupName, userName }, ...tokenSpec(token) },
        async (q) => {
          const group = await find.group(q, accountId, groupName);
          const user = await find.user(q, accountId, userName);
          const inserted = await q.query(
            "INSERT INTO group_memberships (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [group.group_id, user.user_id],
          );
          // Already a member: AWS answers success and nothing changes.
          if (inserted.rowCount === 0) return { value: null, events: [] };
          const n = await count(q, "SELECT count(*)::int AS n FROM group_memberships WHERE user_id = $1", [
            user.user_id,
          ]);
          if (n > quotas.groupsPerUser) {
            throw limitExceeded(
              `user ${JSON.stringify(userName)} is already in too many groups`,
              quotas.groupsPerUser,
              "groupName",
            );
          }
          return { value: null, events: [await userState(q, partition, user.user_id)] };
        },
      ),

    removeUserFromGroup: (accountId, groupName, userName, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "RemoveUserFromGroup", request: { groupName, userName }, ...tokenSpec(token) },
        async (q) => {
          const group = await find.group(q, accountId, groupName);
          const user = await find.user(q, accountId, userName);
          const r = await q.query("DELETE FROM group_memberships WHERE group_id = $1 AND user_id = $2", [
            group.group_id,
            user.user_id,
          ]);
          if (r.rowCount === 0) {
            throw new IamError(
              "NoSuchEntity",
              `user ${JSON.stringify(userName)} is not in group ${JSON.stringify(groupName)}`,
              {
                field: "userName",
              },
            );
          }
          return { value: null, events: [await userState(q, partition, user.user_id)] };
        },
      ),
  };
}
