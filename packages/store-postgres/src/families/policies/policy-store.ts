import { IamError, newId } from "@gatehouse/core";
import { assertNoDependents, checkTagQuota, count, limitExceeded, NAME_OF, tagsJson } from "../../checks.ts";
import { pageQuery, toPage } from "../../paging.ts";
import type {
  ManagedPolicyRecord,
  Mutation,
  Page,
  PageInput,
  PolicyVersionRecord,
  RequestToken,
  TagRecord,
} from "../../records.ts";
import { policyState } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec, withoutToken } from "../../write-path.ts";
import { AWS_MANAGED_ACCOUNT } from "./builtin-policies.ts";
import { DEFAULT_PATH } from "./policy-references.ts";
import { POLICY_SELECT_IN, type PolicyRow, toPolicy } from "./policy-rows.ts";

/** Input of {@link PolicyStore.createPolicy}. */
export interface CreatePolicyInput extends RequestToken {
  readonly policyName: string;
  readonly path?: string | undefined;
  readonly policyDocument: string;
  readonly description?: string | undefined;
  /** Tags to create it with (at most the `tagsPerEntity` quota; keys compare exactly, as in AWS). */
  readonly tags?: readonly TagRecord[] | undefined;
}

/** Which managed policies ListPolicies returns, as AWS's `Scope`. */
export type PolicyScope = "All" | "AWS" | "Local";

/**
 * Versions a managed policy may have, as in AWS (the `policy_versions_limit` trigger of migration
 * 0001 holds the same number).
 */
export const VERSIONS_PER_POLICY = 5;

/** A user, group or role that a managed policy is attached to or is the permissions boundary of. */
export interface PolicyEntityRecord {
  readonly kind: "user" | "group" | "role";
  readonly name: string;
  readonly id: string;
}

/** What ListEntitiesForPolicy lists, as AWS's `EntityFilter` and `PolicyUsageFilter` narrow it. */
export interface PolicyEntitiesFilter extends PageInput {
  /** The kinds to list (none: nothing matches, as AWS's `LocalManagedPolicy`/`AWSManagedPolicy` filters). */
  readonly kinds: readonly PolicyEntityRecord["kind"][];
  /** Entities the policy is attached to (`PermissionsPolicy`), those it bounds (`PermissionsBoundary`), or both. */
  readonly usage: "PermissionsPolicy" | "PermissionsBoundary" | "Both";
}

/** The sort order of {@link PolicyStore.listEntitiesForPolicy}: groups, users, roles (AWS's answer order). */
const ENTITY_ORDER = { group: 0, user: 1, role: 2 } as const;

/** Managed policies and their versions. */
export interface PolicyStore {
  createPolicy(accountId: string, input: CreatePolicyInput): Promise<Mutation<ManagedPolicyRecord>>;
  getPolicy(accountId: string, policyArn: string): Promise<ManagedPolicyRecord>;
  /** The account's own policies (`Local`), the AWS managed ones (`AWS`), or both (`All`, the default). */
  listPolicies(
    accountId: string,
    page: PageInput & { onlyAttached?: boolean; scope?: PolicyScope | undefined },
  ): Promise<Page<ManagedPolicyRecord>>;
  /**
   * Deletes a policy and its default version; DeleteConflict (field `policyArn`) while it is attached,
   * is a permissions boundary, or still has non-default versions (delete those first, as in AWS).
   */
  deletePolicy(accountId: string, policyArn: string, token?: RequestToken): Promise<Mutation<null>>;
  /**
   * The account's users, groups and roles the policy (its own, or an AWS managed one) is attached
   * to or bounds, groups then users then roles, each by case-insensitive name; an entity both
   * attached and bounded is listed once. `pathPrefix` filters the entities' paths.
   */
  listEntitiesForPolicy(
    accountId: string,
    policyArn: string,
    filter: PolicyEntitiesFilter,
  ): Promise<Page<PolicyEntityRecord>>;
  createPolicyVersion(
    accountId: string,
    policyArn: string,
    input: { policyDocument: string; setAsDefault: boolean } & RequestToken,
  ): Promise<Mutation<PolicyVersionRecord>>;
  getPolicyVersion(accountId: string, policyArn: string, versionId: string): Promise<PolicyVersionRecord>;
  /** One page of the policy's versions, newest first; the marker is the last version's number. `pathPrefix` is ignored. */
  listPolicyVersions(accountId: string, policyArn: string, page: PageInput): Promise<Page<PolicyVersionRecord>>;
  setDefaultPolicyVersion(
    accountId: string,
    policyArn: string,
    versionId: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  deletePolicyVersion(
    accountId: string,
    policyArn: string,
    versionId: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
}

async function versionsOf(
  q: Queryable,
  policyId: string,
  before: number | null,
  limit: number | null,
): Promise<PolicyVersionRecord[]> {
  // Version ids are `v<n>` with n growing per policy: newest first is highest n first.
  const r = await q.query<{ version_id: string; document: string; is_default: boolean; created_at: Date }>(
    `SELECT * FROM policy_versions WHERE policy_id = $1 AND ($2::int IS NULL OR substring(version_id FROM 2)::int < $2)
     ORDER BY substring(version_id FROM 2)::int DESC LIMIT $3`,
    [policyId, before, limit],
  );
  return r.rows.map((v) => ({
    versionId: v.version_id,
    document: v.document,
    isDefault: v.is_default,
    createdAtMs: v.created_at.getTime(),
  }));
}

/** The {@link PolicyStore} part of the store. */
export function createPolicyStore(ctx: StoreContext): PolicyStore {
  const { find } = ctx;
  const { partition, quotas } = ctx.options;

  return {
    createPolicy: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreatePolicy",
          request: withoutToken(input),
          ...tokenSpec(input),
        },
        async (q) => {
          checkTagQuota(input.tags, quotas.tagsPerEntity);
          const policyId = newId("managedPolicy");
          const inserted = await q.query(
            `WITH p AS (
               INSERT INTO managed_policies (policy_id, account_id, policy_name, path, description, tags)
               SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $8::jsonb
               WHERE (SELECT count(*) FROM managed_policies WHERE account_id = $2) < $7 RETURNING policy_id)
             INSERT INTO policy_versions (policy_id, version_id, document, is_default) SELECT policy_id, 'v1', $6, true FROM p`,
            [
              policyId,
              accountId,
              input.policyName,
              input.path || DEFAULT_PATH,
              input.description ?? "",
              input.policyDocument,
              quotas.managedPoliciesPerAccount,
              tagsJson(input.tags),
            ],
          );
          if (inserted.rowCount === 0) {
            throw limitExceeded(
              "too many managed policies in the account",
              quotas.managedPoliciesPerAccount,
              "policyName",
            );
          }
          const event = await policyState(q, partition, policyId);
          const { versions: _v, ...policy } = event.payload as Omit<
            ManagedPolicyRecord,
            "attachmentCount" | "permissionsBoundaryUsageCount"
          > & { versions: unknown };
          return { value: { ...policy, attachmentCount: 0, permissionsBoundaryUsageCount: 0 }, events: [event] };
        },
      ),

    getPolicy: (accountId, policyArn) =>
      read(ctx, "GetPolicy", async (q) => toPolicy(await find.policy(q, accountId, policyArn), partition)),

    listPolicies: (accountId, page) =>
      read(ctx, "ListPolicies", async (q) => {
        const p = pageQuery(page);
        const scope = page.scope ?? "All";
        const owners =
          scope === "AWS" ? [AWS_MANAGED_ACCOUNT] : scope === "Local" ? [accountId] : [accountId, AWS_MANAGED_ACCOUNT];
        // A local policy may share a name with an AWS one: the marker is name and owner.
        const [afterName = null, afterOwner = ""] = p.after === null ? [] : p.after.split("\n");
        const r = await q.query<PolicyRow>(
          `SELECT * FROM (${POLICY_SELECT_IN("$1")} WHERE p.account_id = ANY($6::text[])) p
           WHERE ($2::text IS NULL OR (lower(p.policy_name), p.account_id) > ($2::text, $7::text)) AND p.path LIKE $3
             AND (NOT $5 OR p.attachment_count > 0)
           ORDER BY lower(p.policy_name), p.account_id LIMIT $4`,
          [accountId, afterName, p.pathLike, p.limit + 1, page.onlyAttached === true, owners, afterOwner],
        );
        return toPage(
          r.rows.map((x) => toPolicy(x, partition)),
          p.limit,
          (x) => `${x.policyName.toLowerCase()}\n${x.accountId}`,
        );
      }),

    deletePolicy: (accountId, policyArn, token) =>
      mutate(ctx, accountId, { operation: "DeletePolicy", request: { policyArn }, ...tokenSpec(token) }, async (q) => {
        const policy = await find.policy(q, accountId, policyArn, "policyArn", "write");
        // As in AWS: detach it everywhere, stop using it as a boundary and delete its non-default
        // versions (DeletePolicyVersion) first; only the default version goes with the policy.
        await assertNoDependents(q, { kind: "policy", name: policyArn, id: policy.policy_id, field: "policyArn" }, [
          {
            label: "attachments",
            table: "policy_attachments",
            column: "policy_id",
            named: [
              { phrase: "attached to", noun: "user", name: NAME_OF.user, when: "d.user_id IS NOT NULL" },
              { phrase: "attached to", noun: "group", name: NAME_OF.group, when: "d.group_id IS NOT NULL" },
              { phrase: "attached to", noun: "role", name: NAME_OF.role, when: "d.role_id IS NOT NULL" },
            ],
          },
          {
            label: "users with it as permissions boundary",
            table: "users",
            column: "permissions_boundary_id",
            named: [{ phrase: "boundary of", noun: "user", name: "d.user_name" }],
          },
          {
            label: "roles with it as permissions boundary",
            table: "roles",
            column: "permissions_boundary_id",
            named: [{ phrase: "boundary of", noun: "role", name: "d.role_name" }],
          },
          {
            label: "non-default versions",
            table: "policy_versions",
            column: "policy_id",
            where: "NOT is_default",
            named: [{ noun: "non-default version", name: "d.version_id" }],
          },
        ]);
        await q.query("DELETE FROM managed_policies WHERE policy_id = $1", [policy.policy_id]);
        return { value: null, events: [await policyState(q, partition, policy.policy_id)] };
      }),

    listEntitiesForPolicy: (accountId, policyArn, filter) =>
      read(ctx, "ListEntitiesForPolicy", async (q) => {
        const p = pageQuery(filter);
        // The marker is the last entity's kind order and lower-cased name.
        const [afterOrder = null, afterName = ""] = p.after === null ? [] : p.after.split("\n");
        if (afterOrder !== null && !/^[012]$/.test(afterOrder)) {
          throw new IamError("InvalidInput", `marker ${JSON.stringify(filter.marker)} is not valid`, {
            field: "marker",
          });
        }
        const policy = await find.policy(q, accountId, policyArn);
        const attached = filter.usage !== "PermissionsBoundary";
        const bounded = filter.usage !== "PermissionsPolicy";
        // Driven by the attachment and boundary indexes (migration 0014): the account's other
        // entities are never read. An AWS managed policy's uses in other accounts are not ours.
        const r = await q.query<{ ord: number; kind: PolicyEntityRecord["kind"]; name: string; id: string }>(
          `SELECT * FROM (
             SELECT 0 AS ord, 'group' AS kind, g.group_name AS name, g.group_id AS id, g.path FROM groups g
              WHERE $3 AND g.group_id IN (SELECT a.group_id FROM policy_attachments a WHERE a.policy_id = $2 AND a.account_id = $1)
             UNION ALL
             SELECT 1, 'user', u.user_name, u.user_id, u.path FROM users u
              WHERE u.user_id IN (SELECT a.user_id FROM policy_attachments a WHERE $3 AND a.policy_id = $2 AND a.account_id = $1
                                  UNION SELECT x.user_id FROM users x WHERE $4 AND x.permissions_boundary_id = $2 AND x.account_id = $1)
             UNION ALL
             SELECT 2, 'role', r.role_name, r.role_id, r.path FROM roles r
              WHERE r.role_id IN (SELECT a.role_id FROM policy_attachments a WHERE $3 AND a.policy_id = $2 AND a.account_id = $1
                                  UNION SELECT x.role_id FROM roles x WHERE $4 AND x.permissions_boundary_id = $2 AND x.account_id = $1)
           ) e
           WHERE e.kind = ANY($5::text[]) AND e.path LIKE $6
             AND ($7::int IS NULL OR (e.ord, lower(e.name)) > ($7::int, $8::text))
           ORDER BY e.ord, lower(e.name) LIMIT $9`,
          [
            accountId,
            policy.policy_id,
            attached,
            bounded,
            filter.kinds,
            p.pathLike,
            afterOrder === null ? null : Number(afterOrder),
            afterName,
            p.limit + 1,
          ],
        );
        return toPage(
          r.rows.map(({ kind, name, id }) => ({ kind, name, id })),
          p.limit,
          (e) => `${ENTITY_ORDER[e.kind]}\n${e.name.toLowerCase()}`,
        );
      }),

    createPolicyVersion: (accountId, policyArn, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreatePolicyVersion",
          request: { policyArn, policyDocument: input.policyDocument, setAsDefault: input.setAsDefault },
          ...tokenSpec(input),
        },
        async (q) => {
          const policy = await find.policy(q, accountId, policyArn, "policyArn", "write");
          const n = await count(q, "SELECT count(*)::int AS n FROM policy_versions WHERE policy_id = $1", [
            policy.policy_id,
          ]);
          if (n >= VERSIONS_PER_POLICY) {
            throw new IamError(
              "LimitExceeded",
              `policy ${policyArn} already has ${VERSIONS_PER_POLICY} versions; delete a non-default version first`,
              { field: "policyArn" },
            );
          }
          const versionId = `v${policy.next_version}`;
          if (input.setAsDefault) {
            await q.query("UPDATE policy_versions SET is_default = false WHERE policy_id = $1 AND is_default", [
              policy.policy_id,
            ]);
          }
          const v = await q.query<{ created_at: Date }>(
            "INSERT INTO policy_versions (policy_id, version_id, document, is_default) VALUES ($1, $2, $3, $4) RETURNING created_at",
            [policy.policy_id, versionId, input.policyDocument, input.setAsDefault],
          );
          await q.query(
            `UPDATE managed_policies SET next_version = next_version + 1, updated_at = now(),
               default_version_id = CASE WHEN $2 THEN $3 ELSE default_version_id END WHERE policy_id = $1`,
            [policy.policy_id, input.setAsDefault, versionId],
          );
          return {
            value: {
              versionId,
              document: input.policyDocument,
              isDefault: input.setAsDefault,
              createdAtMs: v.rows[0]?.created_at.getTime() ?? 0,
            },
            events: [await policyState(q, partition, policy.policy_id)],
          };
        },
      ),

    getPolicyVersion: (accountId, policyArn, versionId) =>
      read(ctx, "GetPolicyVersion", async (q) => {
        const policy = await find.policy(q, accountId, policyArn);
        const r = await q.query<{ version_id: string; document: string; is_default: boolean; created_at: Date }>(
          "SELECT * FROM policy_versions WHERE policy_id = $1 AND version_id = $2",
          [policy.policy_id, versionId],
        );
        const v = r.rows[0];
        if (v === undefined) {
          throw new IamError("NoSuchEntity", `policy ${policyArn} has no version ${JSON.stringify(versionId)}`, {
            field: "versionId",
          });
        }
        return {
          versionId: v.version_id,
          document: v.document,
          isDefault: v.is_default,
          createdAtMs: v.created_at.getTime(),
        };
      }),

    listPolicyVersions: (accountId, policyArn, page) =>
      read(ctx, "ListPolicyVersions", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        // The marker is a version number; anything else was not made by us.
        if (p.after !== null && !/^[0-9]{1,9}$/.test(p.after)) {
          throw new IamError("InvalidInput", `marker ${JSON.stringify(page.marker)} is not valid`, { field: "marker" });
        }
        const policy = await find.policy(q, accountId, policyArn);
        const versions = await versionsOf(q, policy.policy_id, p.after === null ? null : Number(p.after), p.limit + 1);
        return toPage(versions, p.limit, (v) => v.versionId.slice(1));
      }),

    setDefaultPolicyVersion: (accountId, policyArn, versionId, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "SetDefaultPolicyVersion", request: { policyArn, versionId }, ...tokenSpec(token) },
        async (q) => {
          const policy = await find.policy(q, accountId, policyArn, "policyArn", "write");
          if (policy.default_version_id === versionId) return { value: null, events: [] };
          await q.query("UPDATE policy_versions SET is_default = false WHERE policy_id = $1 AND is_default", [
            policy.policy_id,
          ]);
          const r = await q.query(
            "UPDATE policy_versions SET is_default = true WHERE policy_id = $1 AND version_id = $2",
            [policy.policy_id, versionId],
          );
          if (r.rowCount === 0) {
            throw new IamError("NoSuchEntity", `policy ${policyArn} has no version ${JSON.stringify(versionId)}`, {
              field: "versionId",
            });
          }
          await q.query(
            "UPDATE managed_policies SET default_version_id = $2, updated_at = now() WHERE policy_id = $1",
            [policy.policy_id, versionId],
          );
          return { value: null, events: [await policyState(q, partition, policy.policy_id)] };
        },
      ),

    deletePolicyVersion: (accountId, policyArn, versionId, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeletePolicyVersion", request: { policyArn, versionId }, ...tokenSpec(token) },
        async (q) => {
          const policy = await find.policy(q, accountId, policyArn, "policyArn", "write");
          if (policy.default_version_id === versionId) {
            throw new IamError("DeleteConflict", `version ${versionId} is the default version of ${policyArn}`, {
              field: "versionId",
            });
          }
          const r = await q.query("DELETE FROM policy_versions WHERE policy_id = $1 AND version_id = $2", [
            policy.policy_id,
            versionId,
          ]);
          if (r.rowCount === 0) {
            throw new IamError("NoSuchEntity", `policy ${policyArn} has no version ${JSON.stringify(versionId)}`, {
              field: "versionId",
            });
          }
          return { value: null, events: [await policyState(q, partition, policy.policy_id)] };
        },
      ),
  };
}
