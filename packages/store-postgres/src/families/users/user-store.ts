import { newId } from "@gatehouse/core";
import { assertNoDependents, checkTagQuota, NAME_OF, tagsJson } from "../../checks.ts";
import { pageQuery, toPage } from "../../paging.ts";
import type { Mutation, Page, PageInput, RequestToken, TagRecord, UserRecord } from "../../records.ts";
import { userState } from "../../state.ts";
import { type Queryable, read, readSnapshot, type StoreContext } from "../../tx.ts";
import { callWrite, failInOrder, mutate, tokenSpec, withoutToken } from "../../write-path.ts";
import { DEFAULT_PATH, releasedPolicies } from "../policies/policy-references.ts";
import type { PolicyArnParts } from "../policies/policy-rows.ts";
import { toUser, USER_SELECT, type UserRow } from "./user-rows.ts";

/** Input of {@link UserStore.createUser}. */
export interface CreateUserInput extends RequestToken {
  readonly userName: string;
  readonly path?: string | undefined;
  readonly tags?: readonly TagRecord[] | undefined;
  readonly permissionsBoundaryArn?: string | undefined;
}

/** A policy document with a name for explanations (ARN or `user/alice/inline-name`). */
export interface NamedPolicyDocument {
  readonly id: string;
  readonly document: string;
}

/** The policies of one principal, as the authorizer needs them. */
export interface PrincipalPolicies {
  readonly identityPolicies: NamedPolicyDocument[];
  readonly permissionsBoundary: NamedPolicyDocument | null;
  /** The principal's own tags, for `aws:PrincipalTag/…` (read in the same snapshot as its policies). */
  readonly principalTags: readonly TagRecord[];
}

/** Users, and the policies that apply to one when it calls. */
export interface UserStore {
  createUser(accountId: string, input: CreateUserInput): Promise<Mutation<UserRecord>>;
  getUser(accountId: string, userName: string): Promise<UserRecord>;
  listUsers(accountId: string, page: PageInput): Promise<Page<UserRecord>>;
  deleteUser(accountId: string, userName: string, token?: RequestToken): Promise<Mutation<null>>;

  /**
   * Every policy that applies to a user, for authorizing its calls: its inline and attached
   * policies and those of its groups (default versions), and its permissions boundary.
   */
  getUserPolicies(accountId: string, userId: string): Promise<PrincipalPolicies>;
}

/** The users matching `where` (SQL after {@link USER_SELECT}), as records. */
export async function listUsersWhere(
  q: Queryable,
  partition: string,
  where: string,
  params: unknown[],
): Promise<UserRecord[]> {
  return (await q.query<UserRow>(`${USER_SELECT(partition)} ${where}`, params)).rows.map((r) => toUser(r, partition));
}

/** The {@link UserStore} part of the store. */
export function createUserStore(ctx: StoreContext): UserStore {
  const { find } = ctx;
  const { partition, quotas } = ctx.options;
  const userList = (q: Queryable, where: string, params: unknown[]) => listUsersWhere(q, partition, where, params);

  return {
    // One SQL function call each (migration 0013): the busiest writes, in one round trip.
    // Checks made here first fail through failInOrder, in the order mutate() writes check.
    createUser: async (accountId, input) => {
      const spec = {
        operation: "CreateUser",
        request: withoutToken(input),
        ...tokenSpec(input),
      };
      const boundaryArn = input.permissionsBoundaryArn || null;
      let boundary: PolicyArnParts | null;
      try {
        boundary = boundaryArn === null ? null : find.policyArn(accountId, boundaryArn, "permissionsBoundaryArn");
      } catch (e) {
        return failInOrder<UserRecord>(ctx, accountId, spec, e);
      }
      try {
        checkTagQuota(input.tags, quotas.tagsPerEntity);
      } catch (e) {
        // The boundary is looked up before the tags are counted.
        return failInOrder<UserRecord>(ctx, accountId, spec, e, (q) =>
          boundaryArn === null ? Promise.resolve() : find.policy(q, accountId, boundaryArn, "permissionsBoundaryArn"),
        );
      }
      return callWrite<UserRecord>(ctx, accountId, spec, "gh_create_user", [
        newId("user"),
        input.userName,
        input.path || DEFAULT_PATH,
        tagsJson(input.tags),
        boundary?.accountId ?? null,
        boundary?.path ?? null,
        boundary?.name ?? null,
        boundaryArn,
        quotas.usersPerAccount,
      ]);
    },

    getUser: (accountId, userName) =>
      read(ctx, "GetUser", async (q) => toUser(await find.user(q, accountId, userName), partition)),

    listUsers: (accountId, page) =>
      read(ctx, "ListUsers", async (q) => {
        const p = pageQuery(page);
        const items = await userList(
          q,
          `WHERE u.account_id = $1 AND ($2::text IS NULL OR lower(u.user_name) > $2) AND u.path LIKE $3
           ORDER BY lower(u.user_name) LIMIT $4`,
          [accountId, p.after, p.pathLike, p.limit + 1],
        );
        return toPage(items, p.limit, (u) => u.userName.toLowerCase());
      }),

    deleteUser: (accountId, userName, token) =>
      mutate(ctx, accountId, { operation: "DeleteUser", request: { userName }, ...tokenSpec(token) }, async (q) => {
        const user = await find.user(q, accountId, userName);
        await assertNoDependents(q, { kind: "user", name: userName, id: user.user_id, field: "userName" }, [
          {
            label: "access keys",
            table: "access_keys",
            column: "user_id",
            named: [{ noun: "access key", name: "d.access_key_id" }],
          },
          {
            label: "group memberships",
            table: "group_memberships",
            column: "user_id",
            named: [{ phrase: "member of", noun: "group", name: NAME_OF.group }],
          },
          {
            label: "attached policies",
            table: "policy_attachments",
            column: "user_id",
            named: [{ noun: "attached policy", name: NAME_OF.policy }],
          },
          {
            label: "inline policies",
            table: "inline_policies",
            column: "user_id",
            named: [{ noun: "inline policy", name: "d.policy_name" }],
          },
          // Without these two the foreign keys refused the delete with no word of what was left.
          { label: "login profile", table: "login_profiles", column: "user_id" },
          {
            label: "MFA devices",
            table: "mfa_devices",
            column: "user_id",
            named: [{ noun: "MFA device", name: "d.serial_number" }],
          },
        ]);
        await q.query("DELETE FROM users WHERE user_id = $1", [user.user_id]);
        // The quota's count, kept by its writers under the account lock (migration 0016).
        await q.query("UPDATE accounts SET user_count = user_count - 1 WHERE account_id = $1", [accountId]);
        // AWS deletes a user with its permissions boundary (attachments must be gone already).
        const released = await releasedPolicies(q, accountId, [user.permissions_boundary_id]);
        return { value: null, events: [await userState(q, partition, user.user_id), ...released] };
      }),

    getUserPolicies: (accountId, userId) =>
      readSnapshot(ctx, "GetUserPolicies", async (q) => {
        const policyArn = `'arn:${partition}:iam::' || p.account_id || ':policy' || p.path || p.policy_name`;
        const r = await q.query<{ id: string; document: string; boundary: boolean }>(
          `SELECT 'inline:' || u.user_name || '/' || i.policy_name AS id, i.document, false AS boundary
             FROM inline_policies i JOIN users u ON u.user_id = i.user_id WHERE i.user_id = $2
           UNION ALL
           SELECT 'inline:' || g.group_name || '/' || i.policy_name, i.document, false
             FROM group_memberships m JOIN groups g ON g.group_id = m.group_id
             JOIN inline_policies i ON i.group_id = m.group_id WHERE m.user_id = $2
           UNION ALL
           SELECT ${policyArn}, v.document, false
             FROM policy_attachments a JOIN managed_policies p ON p.policy_id = a.policy_id
             JOIN policy_versions v ON v.policy_id = p.policy_id AND v.is_default
            WHERE a.user_id = $2 OR a.group_id IN (SELECT group_id FROM group_memberships WHERE user_id = $2)
           UNION ALL
           SELECT ${policyArn}, v.document, true
             FROM users u JOIN managed_policies p ON p.policy_id = u.permissions_boundary_id
             JOIN policy_versions v ON v.policy_id = p.policy_id AND v.is_default
            WHERE u.user_id = $2 AND u.account_id = $1`,
          [accountId, userId],
        );
        const boundary = r.rows.find((x) => x.boundary);
        const tags = await q.query<{ tags: TagRecord[] }>(
          "SELECT tags FROM users WHERE user_id = $2 AND account_id = $1",
          [accountId, userId],
        );
        return {
          identityPolicies: r.rows.filter((x) => !x.boundary).map((x) => ({ id: x.id, document: x.document })),
          permissionsBoundary: boundary === undefined ? null : { id: boundary.id, document: boundary.document },
          principalTags: tags.rows[0]?.tags ?? [],
        };
      }),
  };
}
