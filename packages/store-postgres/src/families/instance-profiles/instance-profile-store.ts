import { IamError, iamArn, newId } from "@gatehouse/core";
import { checkTagQuota, tagsJson } from "../../checks.ts";
import { pageQuery, toPage } from "../../paging.ts";
import type { Mutation, Page, PageInput, RequestToken, RoleRecord, TagRecord } from "../../records.ts";
import { instanceProfileState } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec } from "../../write-path.ts";
import { ROLE_SELECT, type RoleRow, toRole } from "../roles/role-rows.ts";

/** An instance profile: a named container for at most one role, for workloads. */
export interface InstanceProfileRecord {
  readonly accountId: string;
  readonly instanceProfileId: string;
  readonly instanceProfileName: string;
  readonly path: string;
  readonly arn: string;
  readonly createdAtMs: number;
  readonly tags: readonly TagRecord[];
  /** Zero or one role, as AWS lists them. */
  readonly roles: readonly RoleRecord[];
}

/** Input of {@link InstanceProfileStore.createInstanceProfile}. */
export interface CreateInstanceProfileInput extends RequestToken {
  readonly instanceProfileName: string;
  readonly path?: string | undefined;
  readonly tags?: readonly TagRecord[] | undefined;
}

/** Instance profiles and the one role each may hold. */
export interface InstanceProfileStore {
  createInstanceProfile(accountId: string, input: CreateInstanceProfileInput): Promise<Mutation<InstanceProfileRecord>>;
  getInstanceProfile(accountId: string, instanceProfileName: string): Promise<InstanceProfileRecord>;
  listInstanceProfiles(accountId: string, page: PageInput): Promise<Page<InstanceProfileRecord>>;
  /** The profiles holding a role (NoSuchEntity when the role does not exist). */
  listInstanceProfilesForRole(
    accountId: string,
    roleName: string,
    page: PageInput,
  ): Promise<Page<InstanceProfileRecord>>;
  /** DeleteConflict while the profile holds a role. */
  deleteInstanceProfile(accountId: string, instanceProfileName: string, token?: RequestToken): Promise<Mutation<null>>;
  /** LimitExceeded when the profile already holds a role (AWS allows one). */
  addRoleToInstanceProfile(
    accountId: string,
    instanceProfileName: string,
    roleName: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /** NoSuchEntity when the role is not in the profile. */
  removeRoleFromInstanceProfile(
    accountId: string,
    instanceProfileName: string,
    roleName: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
}

/** A row of `instance_profiles`. */
export interface InstanceProfileRow {
  instance_profile_id: string;
  account_id: string;
  instance_profile_name: string;
  path: string;
  role_id: string | null;
  tags: TagRecord[];
  created_at: Date;
}

/** The account's instance profile of this name (case-insensitive); NoSuchEntity when none. */
export async function findInstanceProfile(q: Queryable, accountId: string, name: string): Promise<InstanceProfileRow> {
  const r = await q.query<InstanceProfileRow>(
    "SELECT * FROM instance_profiles WHERE account_id = $1 AND lower(instance_profile_name) = lower($2)",
    [accountId, name],
  );
  const row = r.rows[0];
  if (row === undefined) {
    throw new IamError("NoSuchEntity", `instance profile ${JSON.stringify(name)} does not exist`, {
      field: "instanceProfileName",
    });
  }
  return row;
}

/**
 * Instance profile rows as records, fetching the roles they hold in one query (ListInstanceProfiles*
 * and GetAccountAuthorizationDetails' role details share it).
 */
export async function toInstanceProfileRecords(
  q: Queryable,
  partition: string,
  rows: readonly InstanceProfileRow[],
): Promise<InstanceProfileRecord[]> {
  const roleIds = rows.flatMap((x) => (x.role_id === null ? [] : [x.role_id]));
  const roles = new Map<string, RoleRecord>();
  if (roleIds.length > 0) {
    const r = await q.query<RoleRow>(`${ROLE_SELECT(partition)} WHERE r.role_id = ANY($1::text[])`, [roleIds]);
    for (const x of r.rows) roles.set(x.role_id, toRole(x, partition));
  }
  return rows.map((x) => {
    const role = x.role_id === null ? undefined : roles.get(x.role_id);
    return {
      accountId: x.account_id,
      instanceProfileId: x.instance_profile_id,
      instanceProfileName: x.instance_profile_name,
      path: x.path,
      arn: iamArn(x.account_id, "instance-profile", x.path, x.instance_profile_name, partition),
      createdAtMs: x.created_at.getTime(),
      tags: x.tags,
      roles: role === undefined ? [] : [role],
    };
  });
}

/** The {@link InstanceProfileStore} part of the store. */
export function createInstanceProfileStore(ctx: StoreContext): InstanceProfileStore {
  const partition = ctx.options.partition;
  const quotas = ctx.options.quotas;
  const toRecords = (q: Queryable, rows: readonly InstanceProfileRow[]) => toInstanceProfileRecords(q, partition, rows);

  const one = async (q: Queryable, row: InstanceProfileRow): Promise<InstanceProfileRecord> =>
    (await toRecords(q, [row]))[0] as InstanceProfileRecord;

  return {
    createInstanceProfile: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreateInstanceProfile",
          request: { ...input, clientRequestToken: undefined, callerId: undefined },
          ...tokenSpec(input),
        },
        async (q) => {
          checkTagQuota(input.tags, quotas.tagsPerEntity);
          const id = newId("instanceProfile");
          // The quota check rides on the insert; the account lock makes the count exact.
          const r = await q.query<InstanceProfileRow>(
            `INSERT INTO instance_profiles (instance_profile_id, account_id, instance_profile_name, path, tags)
             SELECT $1::text, $2::text, $3::text, $4::text, $5::jsonb
             WHERE (SELECT count(*) FROM instance_profiles WHERE account_id = $2) < $6 RETURNING *`,
            [
              id,
              accountId,
              input.instanceProfileName,
              input.path || "/",
              tagsJson(input.tags),
              quotas.instanceProfilesPerAccount,
            ],
          );
          const row = r.rows[0];
          if (row === undefined) {
            throw new IamError(
              "LimitExceeded",
              `too many instance profiles in the account (quota ${quotas.instanceProfilesPerAccount})`,
              { field: "instanceProfileName" },
            );
          }
          return { value: await one(q, row), events: [await instanceProfileState(q, partition, id)] };
        },
      ),

    getInstanceProfile: (accountId, name) =>
      read(ctx, "GetInstanceProfile", async (q) => one(q, await findInstanceProfile(q, accountId, name))),

    listInstanceProfiles: (accountId, page) =>
      read(ctx, "ListInstanceProfiles", async (q) => {
        const p = pageQuery(page);
        const r = await q.query<InstanceProfileRow>(
          `SELECT * FROM instance_profiles WHERE account_id = $1
             AND ($2::text IS NULL OR lower(instance_profile_name) > $2) AND path LIKE $3
           ORDER BY lower(instance_profile_name) LIMIT $4`,
          [accountId, p.after, p.pathLike, p.limit + 1],
        );
        return toPage(await toRecords(q, r.rows), p.limit, (x) => x.instanceProfileName.toLowerCase());
      }),

    listInstanceProfilesForRole: (accountId, roleName, page) =>
      read(ctx, "ListInstanceProfilesForRole", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        const role = await ctx.find.role(q, accountId, roleName);
        const r = await q.query<InstanceProfileRow>(
          `SELECT * FROM instance_profiles WHERE role_id = $1
             AND ($2::text IS NULL OR lower(instance_profile_name) > $2)
           ORDER BY lower(instance_profile_name) LIMIT $3`,
          [role.role_id, p.after, p.limit + 1],
        );
        return toPage(await toRecords(q, r.rows), p.limit, (x) => x.instanceProfileName.toLowerCase());
      }),

    deleteInstanceProfile: (accountId, name, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteInstanceProfile", request: { name }, ...tokenSpec(token) },
        async (q) => {
          const row = await findInstanceProfile(q, accountId, name);
          if (row.role_id !== null) {
            throw new IamError(
              "DeleteConflict",
              `instance profile ${JSON.stringify(name)} still holds a role; remove it first`,
              { field: "instanceProfileName" },
            );
          }
          await q.query("DELETE FROM instance_profiles WHERE instance_profile_id = $1", [row.instance_profile_id]);
          return { value: null, events: [await instanceProfileState(q, partition, row.instance_profile_id)] };
        },
      ),

    addRoleToInstanceProfile: (accountId, name, roleName, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "AddRoleToInstanceProfile", request: { name, roleName }, ...tokenSpec(token) },
        async (q) => {
          const row = await findInstanceProfile(q, accountId, name);
          const role = await ctx.find.role(q, accountId, roleName);
          if (row.role_id !== null) {
            throw new IamError(
              "LimitExceeded",
              `instance profile ${JSON.stringify(name)} already holds a role (quota InstanceSessionsPerInstanceProfile: 1)`,
              { field: "roleName" },
            );
          }
          await q.query("UPDATE instance_profiles SET role_id = $2 WHERE instance_profile_id = $1", [
            row.instance_profile_id,
            role.role_id,
          ]);
          return { value: null, events: [await instanceProfileState(q, partition, row.instance_profile_id)] };
        },
      ),

    removeRoleFromInstanceProfile: (accountId, name, roleName, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "RemoveRoleFromInstanceProfile",
          request: { name, roleName },
          ...tokenSpec(token),
        },
        async (q) => {
          const row = await findInstanceProfile(q, accountId, name);
          const role = await ctx.find.role(q, accountId, roleName);
          if (row.role_id !== role.role_id) {
            throw new IamError(
              "NoSuchEntity",
              `role ${JSON.stringify(roleName)} is not in instance profile ${JSON.stringify(name)}`,
              { field: "roleName" },
            );
          }
          await q.query("UPDATE instance_profiles SET role_id = NULL WHERE instance_profile_id = $1", [
            row.instance_profile_id,
          ]);
          return { value: null, events: [await instanceProfileState(q, partition, row.instance_profile_id)] };
        },
      ),
  };
}
