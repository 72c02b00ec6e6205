import { newId } from "@gatehouse/core";
import { assertNoDependents, checkTagQuota, limitExceeded, NAME_OF, tagsJson } from "../../checks.ts";
import { pageQuery, toPage } from "../../paging.ts";
import type { Mutation, Page, PageInput, RequestToken, RoleRecord, TagRecord } from "../../records.ts";
import { roleState } from "../../state.ts";
import { read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec, withoutToken } from "../../write-path.ts";
import { carriedPolicy, DEFAULT_PATH, releasedPolicies } from "../policies/policy-references.ts";
import { ROLE_SELECT, type RoleRow, toRole } from "./role-rows.ts";

/** Input of {@link RoleStore.createRole}. */
export interface CreateRoleInput extends RequestToken {
  readonly roleName: string;
  readonly path?: string | undefined;
  readonly assumeRolePolicyDocument: string;
  readonly description?: string | undefined;
  readonly maxSessionDuration?: number | undefined;
  readonly tags?: readonly TagRecord[] | undefined;
  readonly permissionsBoundaryArn?: string | undefined;
}

/** Input of {@link RoleStore.updateRole}: absent fields keep their value, as AWS's UpdateRole. */
export interface UpdateRoleInput extends RequestToken {
  readonly description?: string | undefined;
  readonly maxSessionDuration?: number | undefined;
}

/** Roles: create, read, update in place (description, session duration, trust policy), delete. */
export interface RoleStore {
  createRole(accountId: string, input: CreateRoleInput): Promise<Mutation<RoleRecord>>;
  getRole(accountId: string, roleName: string): Promise<RoleRecord>;
  listRoles(accountId: string, page: PageInput): Promise<Page<RoleRecord>>;
  deleteRole(accountId: string, roleName: string, token?: RequestToken): Promise<Mutation<null>>;
  updateRole(accountId: string, roleName: string, input: UpdateRoleInput): Promise<Mutation<null>>;
  updateAssumeRolePolicy(
    accountId: string,
    roleName: string,
    document: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
}

/** The {@link RoleStore} part of the store. */
export function createRoleStore(ctx: StoreContext): RoleStore {
  const { find } = ctx;
  const { partition, quotas } = ctx.options;

  return {
    createRole: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreateRole",
          request: withoutToken(input),
          ...tokenSpec(input),
        },
        async (q) => {
          const boundary =
            input.permissionsBoundaryArn === undefined || input.permissionsBoundaryArn === ""
              ? null
              : await find.policy(q, accountId, input.permissionsBoundaryArn, "permissionsBoundaryArn");
          checkTagQuota(input.tags, quotas.tagsPerEntity);
          const roleId = newId("role");
          const inserted = await q.query(
            `INSERT INTO roles (role_id, account_id, role_name, path, trust_policy, description, max_session_duration, tags,
               permissions_boundary_id)
             SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::int, $8::jsonb, $9::text
             WHERE (SELECT count(*) FROM roles WHERE account_id = $2) < $10`,
            [
              roleId,
              accountId,
              input.roleName,
              input.path || DEFAULT_PATH,
              input.assumeRolePolicyDocument,
              input.description ?? "",
              input.maxSessionDuration || 3600,
              tagsJson(input.tags),
              boundary?.policy_id ?? null,
              quotas.rolesPerAccount,
            ],
          );
          if (inserted.rowCount === 0)
            throw limitExceeded("too many roles in the account", quotas.rolesPerAccount, "roleName");
          const event = await roleState(q, partition, roleId);
          const {
            attachedPolicies: _a,
            inlinePolicies: _i,
            ...role
          } = event.payload as RoleRecord & {
            attachedPolicies: unknown;
            inlinePolicies: unknown;
          };
          const carried = boundary === null ? [] : await carriedPolicy(q, partition, boundary);
          return { value: role, events: [event, ...carried] };
        },
      ),

    getRole: (accountId, roleName) =>
      read(ctx, "GetRole", async (q) => toRole(await find.role(q, accountId, roleName), partition)),

    listRoles: (accountId, page) =>
      read(ctx, "ListRoles", async (q) => {
        const p = pageQuery(page);
        const r = await q.query<RoleRow>(
          `${ROLE_SELECT(partition)} WHERE r.account_id = $1 AND ($2::text IS NULL OR lower(r.role_name) > $2)
           AND r.path LIKE $3 ORDER BY lower(r.role_name) LIMIT $4`,
          [accountId, p.after, p.pathLike, p.limit + 1],
        );
        return toPage(
          r.rows.map((x) => toRole(x, partition)),
          p.limit,
          (x) => x.roleName.toLowerCase(),
        );
      }),

    deleteRole: (accountId, roleName, token) =>
      mutate(ctx, accountId, { operation: "DeleteRole", request: { roleName }, ...tokenSpec(token) }, async (q) => {
        const role = await find.role(q, accountId, roleName);
        await assertNoDependents(q, { kind: "role", name: roleName, id: role.role_id, field: "roleName" }, [
          {
            label: "attached policies",
            table: "policy_attachments",
            column: "role_id",
            named: [{ noun: "attached policy", name: NAME_OF.policy }],
          },
          {
            label: "inline policies",
            table: "inline_policies",
            column: "role_id",
            named: [{ noun: "inline policy", name: "d.policy_name" }],
          },
          {
            label: "instance profiles",
            table: "instance_profiles",
            column: "role_id",
            named: [{ noun: "instance profile", name: "d.instance_profile_name" }],
          },
        ]);
        await q.query("DELETE FROM roles WHERE role_id = $1", [role.role_id]);
        // As for users: the role's permissions boundary goes with it.
        const released = await releasedPolicies(q, accountId, [role.permissions_boundary_id]);
        return { value: null, events: [await roleState(q, partition, role.role_id), ...released] };
      }),

    updateRole: (accountId, roleName, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "UpdateRole",
          request: { roleName, description: input.description, maxSessionDuration: input.maxSessionDuration },
          ...tokenSpec(input),
        },
        async (q) => {
          const role = await find.role(q, accountId, roleName);
          const r = await q.query(
            `UPDATE roles SET description = COALESCE($2, description), max_session_duration = COALESCE($3, max_session_duration)
             WHERE role_id = $1 AND (description, max_session_duration)
               IS DISTINCT FROM (COALESCE($2, description), COALESCE($3, max_session_duration))`,
            [role.role_id, input.description ?? null, input.maxSessionDuration ?? null],
          );
          if (r.rowCount === 0) return { value: null, events: [] };
          return { value: null, events: [await roleState(q, partition, role.role_id)] };
        },
      ),

    updateAssumeRolePolicy: (accountId, roleName, document, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "UpdateAssumeRolePolicy",
          request: { roleName, document },
          ...tokenSpec(token),
        },
        async (q) => {
          const role = await find.role(q, accountId, roleName);
          if (role.trust_policy === document) return { value: null, events: [] };
          await q.query("UPDATE roles SET trust_policy = $2 WHERE role_id = $1", [role.role_id, document]);
          return { value: null, events: [await roleState(q, partition, role.role_id)] };
        },
      ),
  };
}
