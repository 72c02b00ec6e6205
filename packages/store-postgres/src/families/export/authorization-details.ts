import { IamError } from "@gatehouse/core";
import type { GroupState, PolicyState, RoleState, UserState } from "@gatehouse/events";
import { pageQuery, toPage } from "../../paging.ts";
import type { Page, PageInput } from "../../records.ts";
import type { Queryable } from "../../tx.ts";
import {
  type InstanceProfileRecord,
  type InstanceProfileRow,
  toInstanceProfileRecords,
} from "../instance-profiles/instance-profile-store.ts";
import { AWS_MANAGED_ACCOUNT } from "../policies/builtin-policies.ts";
import { POLICY_SELECT_IN, type PolicyRow, REFERENCED_IN_ACCOUNT } from "../policies/policy-rows.ts";

// GetAccountAuthorizationDetails, assembled from the state documents the outbox and ExportAccount
// carry (`gh_user_state`, `gh_group_state`, `gh_role_state`, `gh_policy_state`): they already hold
// each principal's groups, attached policies, inline policies, boundary and tags, and each policy's
// versions. What they leave out (roles' instance profiles, policies' attachment counts) is read
// here with the queries their own families use.

/** AWS's entity types for GetAccountAuthorizationDetails' `Filter`, in AWS's spelling. */
export const AUTHORIZATION_DETAILS_ENTITY_TYPES = Object.freeze([
  "User",
  "Role",
  "Group",
  "LocalManagedPolicy",
  "AWSManagedPolicy",
] as const);

/** One of {@link AUTHORIZATION_DETAILS_ENTITY_TYPES}. */
export type AuthorizationDetailsEntityType = (typeof AUTHORIZATION_DETAILS_ENTITY_TYPES)[number];

/** Input of {@link readAuthorizationDetails}: the entity types (none = all) and the page. */
export interface AuthorizationDetailsInput extends Pick<PageInput, "marker" | "maxItems"> {
  readonly filter: readonly AuthorizationDetailsEntityType[];
}

/** A role's details: its state document and the instance profiles holding it. */
export interface RoleDetailRecord {
  readonly role: RoleState;
  readonly instanceProfiles: readonly InstanceProfileRecord[];
}

/**
 * A managed policy's details: its state document (versions newest first) and how often the
 * calling account attaches it and uses it as a permissions boundary.
 */
export interface ManagedPolicyDetailRecord {
  readonly policy: PolicyState;
  readonly attachmentCount: number;
  readonly permissionsBoundaryUsageCount: number;
}

/**
 * One page of an account's authorization details. The page runs over the four lists in turn
 * (users, groups, roles, policies); its size counts the items of all four.
 */
export interface AuthorizationDetails extends Omit<Page<never>, "items"> {
  readonly users: readonly UserState[];
  readonly groups: readonly GroupState[];
  readonly roles: readonly RoleDetailRecord[];
  readonly policies: readonly ManagedPolicyDetailRecord[];
}

// The lists in the order the marker walks them. Local and AWS managed policies share the last
// list, ordered as ListPolicies orders them (name, then owner: a local policy may share an AWS
// managed policy's name).
const USERS = 0;
const GROUPS = 1;
const ROLES = 2;
const POLICIES = 3;

/** An item of the combined, ordered list: its list, sort key (name, owner) and id. */
interface ItemRow {
  section: number;
  k1: string;
  k2: string;
  id: string;
}

/** The marker's position: the last item returned, as (list, lower-case name, owner). */
function positionOf(after: string | null): [number, string, string] | [null, null, null] {
  if (after === null) return [null, null, null];
  const parts = after.split("\n");
  const [section, k1, k2] = parts;
  if (parts.length !== 3 || section === undefined || !/^[0-3]$/.test(section) || k1 === undefined || k2 === undefined) {
    throw new IamError("InvalidInput", "marker is not a GetAccountAuthorizationDetails marker", { field: "marker" });
  }
  return [Number(section), k1, k2];
}

/**
 * One page of the account's users, groups, roles and managed policies with their relationships,
 * read on `q` (a snapshot, so the lists and their details agree). AWS managed policies are those
 * the account uses (attached, or a permissions boundary): the ones its state and export hold.
 * The marker names the last item's list and sort key, so entities created or deleted between
 * pages neither repeat nor hide the others.
 */
export async function readAuthorizationDetails(
  q: Queryable,
  partition: string,
  accountId: string,
  input: AuthorizationDetailsInput,
): Promise<AuthorizationDetails> {
  const p = pageQuery({ marker: input.marker, maxItems: input.maxItems });
  const wanted = new Set<AuthorizationDetailsEntityType>(
    input.filter.length === 0 ? AUTHORIZATION_DETAILS_ENTITY_TYPES : input.filter,
  );
  const [section, k1, k2] = positionOf(p.after);
  // Row comparison and ORDER BY use the same expressions, so the marker's order is the listing's.
  const r = await q.query<ItemRow>(
    `SELECT * FROM (
       SELECT ${USERS} AS section, lower(user_name) AS k1, ''::text AS k2, user_id AS id
         FROM users WHERE account_id = $1 AND $2
       UNION ALL SELECT ${GROUPS}, lower(group_name), '', group_id FROM groups WHERE account_id = $1 AND $3
       UNION ALL SELECT ${ROLES}, lower(role_name), '', role_id FROM roles WHERE account_id = $1 AND $4
       UNION ALL SELECT ${POLICIES}, lower(p.policy_name), p.account_id, p.policy_id FROM managed_policies p
         WHERE (p.account_id = $1 AND $5)
            OR (p.account_id = '${AWS_MANAGED_ACCOUNT}' AND $6 AND ${REFERENCED_IN_ACCOUNT})
     ) items
     WHERE $7::int IS NULL OR (section, k1, k2) > ($7::int, $8::text, $9::text)
     ORDER BY section, k1, k2 LIMIT $10`,
    [
      accountId,
      wanted.has("User"),
      wanted.has("Group"),
      wanted.has("Role"),
      wanted.has("LocalManagedPolicy"),
      wanted.has("AWSManagedPolicy"),
      section,
      k1,
      k2,
      p.limit + 1,
    ],
  );
  const page = toPage(r.rows, p.limit, (x) => `${x.section}\n${x.k1}\n${x.k2}`);
  const ids = (s: number) => page.items.filter((x) => x.section === s).map((x) => x.id);
  // One after the other: the queries share the snapshot's one connection.
  const users = await states<UserState>(q, "gh_user_state", ids(USERS), partition);
  const groups = await states<GroupState>(q, "gh_group_state", ids(GROUPS), partition);
  const roles = await roleDetails(q, partition, ids(ROLES));
  const policies = await policyDetails(q, partition, accountId, ids(POLICIES));
  return { users, groups, roles, policies, isTruncated: page.isTruncated, marker: page.marker };
}

/** The state documents of `ids` by their SQL builder, in the order of `ids`. */
async function states<S>(q: Queryable, fn: string, ids: readonly string[], partition: string): Promise<S[]> {
  if (ids.length === 0) return [];
  const r = await q.query<{ state: S }>(
    `SELECT ${fn}(i.id, $2) AS state FROM unnest($1::text[]) WITH ORDINALITY AS i(id, n) ORDER BY i.n`,
    [ids, partition],
  );
  return r.rows.map((x) => x.state);
}

/** Roles' state documents with the instance profiles holding each. */
async function roleDetails(q: Queryable, partition: string, ids: readonly string[]): Promise<RoleDetailRecord[]> {
  if (ids.length === 0) return [];
  const roles = await states<RoleState>(q, "gh_role_state", ids, partition);
  const profileRows = await q.query<InstanceProfileRow>(
    "SELECT * FROM instance_profiles WHERE role_id = ANY($1::text[]) ORDER BY lower(instance_profile_name)",
    [ids],
  );
  const profiles = await toInstanceProfileRecords(q, partition, profileRows.rows);
  return roles.map((role) => ({
    role,
    instanceProfiles: profiles.filter((x) => x.roles.some((held) => held.roleId === role.roleId)),
  }));
}

/** Policies' state documents (versions newest first) with their use in the account. */
async function policyDetails(
  q: Queryable,
  partition: string,
  accountId: string,
  ids: readonly string[],
): Promise<ManagedPolicyDetailRecord[]> {
  if (ids.length === 0) return [];
  const policies = await states<PolicyState>(q, "gh_policy_state", ids, partition);
  const counts = await q.query<PolicyRow>(`${POLICY_SELECT_IN("$1")} WHERE p.policy_id = ANY($2::text[])`, [
    accountId,
    ids,
  ]);
  const countOf = new Map(counts.rows.map((x) => [x.policy_id, x]));
  const versionNumber = (id: string) => Number(id.slice(1));
  return policies.map((policy) => ({
    policy: {
      ...policy,
      // ListPolicyVersions' order; the state document keeps creation order.
      versions: [...policy.versions].sort((a, b) => versionNumber(b.versionId) - versionNumber(a.versionId)),
    },
    attachmentCount: countOf.get(policy.policyId)?.attachment_count ?? 0,
    permissionsBoundaryUsageCount: countOf.get(policy.policyId)?.boundary_count ?? 0,
  }));
}
