import { IamError, newId } from "@gatehouse/core";
import { assertNoDependents, checkTagQuota, NAME_OF, tagsJson } from "../../checks.ts";
import { pageQuery, toPage } from "../../paging.ts";
import type { Mutation, Page, PageInput, RequestToken, TagRecord, UserRecord } from "../../records.ts";
import { accessKeyState, loginProfileState, mfaDeviceState, userState } from "../../state.ts";
import { type OutboxEvent, type Queryable, read, readSnapshot, type StoreContext } from "../../tx.ts";
import { callWrite, failInOrder, mutate, tokenSpec, withoutToken } from "../../write-path.ts";
import { DEFAULT_PATH, releasedPolicies } from "../policies/policy-references.ts";
import type { PolicyArnParts } from "../policies/policy-rows.ts";
import { findUser, toUser, USER_SELECT, type UserRow } from "./user-rows.ts";

/** Input of {@link UserStore.createUser}. */
export interface CreateUserInput extends RequestToken {
  readonly userName: string;
  readonly path?: string | undefined;
  readonly tags?: readonly TagRecord[] | undefined;
  readonly permissionsBoundaryArn?: string | undefined;
}

/** Input of {@link UserStore.updateUser}: absent fields keep the user's current name or path. */
export interface UpdateUserInput extends RequestToken {
  readonly userName: string;
  readonly newUserName?: string | undefined;
  readonly newPath?: string | undefined;
}

/** A renamed or moved user, with its access keys (whose cached credentials carry the old ARN). */
export interface UpdatedUser {
  readonly user: UserRecord;
  readonly accessKeyIds: readonly string[];
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
   * Renames and/or moves a user (AWS's UpdateUser): its id stays, and so does everything keyed by
   * it (memberships, policies, boundary, tags, access keys, login profile, MFA devices). The new
   * name is unique case-insensitively (EntityAlreadyExists, field `newUserName`); a user may
   * change the case of its own name. Nothing changed: no events and no new revision.
   */
  updateUser(accountId: string, input: UpdateUserInput): Promise<Mutation<UpdatedUser>>;

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

/** What gh_create_user answers: the users row's fields, without the console password's use. */
type CreatedUser = Omit<UserRecord, "passwordLastUsedMs">;

/** The {@link UserStore} part of the store. */
export function createUserStore(ctx: StoreContext): UserStore {
  const { find } = ctx;
  const { partition, quotas } = ctx.options;
  const userList = (q: Queryable, where: string, params: unknown[]) => listUsersWhere(q, partition, where, params);

  // One SQL function call (migration 0013): the busiest write, in one round trip. Checks made
  // here first fail through failInOrder, in the order mutate() writes check.
  const createUserAnswer = async (accountId: string, input: CreateUserInput): Promise<Mutation<CreatedUser>> => {
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
      return failInOrder<CreatedUser>(ctx, accountId, spec, e);
    }
    try {
      checkTagQuota(input.tags, quotas.tagsPerEntity);
    } catch (e) {
      // The boundary is looked up before the tags are counted.
      return failInOrder<CreatedUser>(ctx, accountId, spec, e, (q) =>
        boundaryArn === null ? Promise.resolve() : find.policy(q, accountId, boundaryArn, "permissionsBoundaryArn"),
      );
    }
    return callWrite<CreatedUser>(ctx, accountId, spec, "gh_create_user", [
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
  };

  return {
    createUser: async (accountId, input) => {
      const created = await createUserAnswer(accountId, input);
      // gh_create_user answers the users row's fields (also when a request token replays its
      // answer); a user just created has no console password, so none was ever used.
      return { ...created, value: { ...created.value, passwordLastUsedMs: null } };
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

    updateUser: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        { operation: "UpdateUser", request: withoutToken(input), ...tokenSpec(input) },
        async (q) => {
          const user = await find.user(q, accountId, input.userName);
          const userName = input.newUserName ?? user.user_name;
          const path = input.newPath ?? user.path;
          const keys = await q.query<{ access_key_id: string }>(
            "SELECT access_key_id FROM access_keys WHERE user_id = $1 ORDER BY access_key_id",
            [user.user_id],
          );
          const accessKeyIds = keys.rows.map((k) => k.access_key_id);
          if (userName === user.user_name && path === user.path) {
            return { value: { user: toUser(user, partition), accessKeyIds }, events: [] };
          }
          // Checked here (the account lock serializes writers) so the error names the new name's field.
          const taken = await q.query(
            "SELECT 1 FROM users WHERE account_id = $1 AND lower(user_name) = lower($2) AND user_id <> $3",
            [accountId, userName, user.user_id],
          );
          if ((taken.rowCount ?? 0) > 0) {
            throw new IamError("EntityAlreadyExists", `user ${JSON.stringify(userName)} already exists`, {
              field: "newUserName",
            });
          }
          await q.query("UPDATE users SET user_name = $2, path = $3 WHERE user_id = $1", [
            user.user_id,
            userName,
            path,
          ]);
          const renamed = await findUser(q, partition, accountId, userName);
          // Events are keyed by the user's id, which a rename keeps: the new state replaces the old
          // one under the same key (a tombstone there would delete the user). Every other state
          // that embeds the user's name or ARN is re-emitted in the same revision.
          const profile = await q.query("SELECT 1 FROM login_profiles WHERE user_id = $1", [user.user_id]);
          const devices = await q.query<{ serial_number: string }>(
            "SELECT serial_number FROM mfa_devices WHERE user_id = $1 ORDER BY serial_number",
            [user.user_id],
          );
          const events: OutboxEvent[] = [await userState(q, partition, user.user_id)];
          for (const id of accessKeyIds) events.push(await accessKeyState(q, partition, id));
          if ((profile.rowCount ?? 0) > 0) events.push(await loginProfileState(q, user.user_id));
          for (const d of devices.rows) events.push(await mfaDeviceState(q, d.serial_number));
          return { value: { user: toUser(renamed, partition), accessKeyIds }, events };
        },
      ),

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
