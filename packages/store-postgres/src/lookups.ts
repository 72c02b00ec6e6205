import { checkArnPartition, IamError, iamArn, tryParseArn } from "@gatehouse/core";
import { AWS_MANAGED_ACCOUNT } from "./builtin-policies.ts";
import type {
  AccessKeyRecord,
  GroupRecord,
  ManagedPolicyRecord,
  Page,
  PageInput,
  PrincipalKind,
  PrincipalRef,
  RoleRecord,
  TagRecord,
  UserRecord,
} from "./records.ts";
import type { Queryable } from "./tx.ts";

// Row shapes straight from SQL (snake_case), mapped to records below.
export interface UserRow {
  user_id: string;
  account_id: string;
  user_name: string;
  path: string;
  tags: TagRecord[];
  permissions_boundary_id: string | null;
  boundary_arn: string | null;
  created_at: Date;
}
export interface GroupRow {
  group_id: string;
  account_id: string;
  group_name: string;
  path: string;
  created_at: Date;
}
export interface RoleRow {
  role_id: string;
  account_id: string;
  role_name: string;
  path: string;
  trust_policy: string;
  description: string;
  max_session_duration: number;
  tags: TagRecord[];
  permissions_boundary_id: string | null;
  boundary_arn: string | null;
  created_at: Date;
}
export interface PolicyRow {
  policy_id: string;
  account_id: string;
  policy_name: string;
  path: string;
  description: string;
  default_version_id: string;
  next_version: number;
  attachment_count: number;
  boundary_count: number;
  created_at: Date;
  updated_at: Date;
}
export interface AccessKeyRow {
  access_key_id: string;
  account_id: string;
  user_id: string | null;
  user_name: string | null;
  user_path: string | null;
  status: "Active" | "Inactive";
  secret_ciphertext: Buffer;
  created_at: Date;
  last_used_at: Date | null;
  last_used_service: string | null;
  last_used_region: string | null;
}

/** SQL that renders a managed policy's ARN from a `managed_policies` row aliased `bp`. */
const BOUNDARY_ARN = (partition: string) =>
  `CASE WHEN bp.policy_id IS NULL THEN NULL ELSE 'arn:${partition}:iam::' || bp.account_id || ':policy' || bp.path || bp.policy_name END`;

export const USER_SELECT = (partition: string) =>
  `SELECT u.*, ${BOUNDARY_ARN(partition)} AS boundary_arn FROM users u LEFT JOIN managed_policies bp ON bp.policy_id = u.permissions_boundary_id`;
export const ROLE_SELECT = (partition: string) =>
  `SELECT r.*, ${BOUNDARY_ARN(partition)} AS boundary_arn FROM roles r LEFT JOIN managed_policies bp ON bp.policy_id = r.permissions_boundary_id`;
export const POLICY_SELECT = `SELECT p.*,
  (SELECT count(*)::int FROM policy_attachments a WHERE a.policy_id = p.policy_id) AS attachment_count,
  ((SELECT count(*) FROM users x WHERE x.permissions_boundary_id = p.policy_id)
   + (SELECT count(*) FROM roles x WHERE x.permissions_boundary_id = p.policy_id))::int AS boundary_count
  FROM managed_policies p`;
/**
 * Like {@link POLICY_SELECT}, but counting only attachments and boundary uses inside the account
 * in SQL parameter `accountParam`: AWS managed policies are shared, their use elsewhere is not ours.
 */
export const POLICY_SELECT_IN = (accountParam: string) => `SELECT p.*,
  (SELECT count(*)::int FROM policy_attachments a WHERE a.policy_id = p.policy_id AND a.account_id = ${accountParam}) AS attachment_count,
  ((SELECT count(*) FROM users x WHERE x.permissions_boundary_id = p.policy_id AND x.account_id = ${accountParam})
   + (SELECT count(*) FROM roles x WHERE x.permissions_boundary_id = p.policy_id AND x.account_id = ${accountParam}))::int AS boundary_count
  FROM managed_policies p`;
export const ACCESS_KEY_SELECT = `SELECT k.*, u.user_name, u.path AS user_path FROM access_keys k LEFT JOIN users u ON u.user_id = k.user_id`;

/**
 * SQL condition: the managed policy `p` is referenced in the account `account` (an SQL expression:
 * a parameter, or a column of an outer query whose alias is none of `a`, `u`, `r`), i.e. attached
 * to one of its users, groups or roles, or the permissions boundary of one of its users or roles.
 * An account's state (its live export, its stream, hence its export rebuilt from the stream) holds
 * an AWS managed policy exactly while this is true: the live export selects by it, the write that
 * drops the last reference tombstones by it, and seeding finds the accounts a changed AWS managed
 * policy must reach by it.
 */
export const policyReferencedIn = (account: string): string =>
  `(EXISTS (SELECT 1 FROM policy_attachments a WHERE a.policy_id = p.policy_id AND a.account_id = ${account})
  OR EXISTS (SELECT 1 FROM users u WHERE u.permissions_boundary_id = p.policy_id AND u.account_id = ${account})
  OR EXISTS (SELECT 1 FROM roles r WHERE r.permissions_boundary_id = p.policy_id AND r.account_id = ${account}))`;

/** {@link policyReferencedIn} the account in SQL parameter `$1`. */
export const REFERENCED_IN_ACCOUNT = policyReferencedIn("$1");

export function toUser(row: UserRow, partition: string): UserRecord {
  return {
    accountId: row.account_id,
    userId: row.user_id,
    userName: row.user_name,
    path: row.path,
    arn: iamArn(row.account_id, "user", row.path, row.user_name, partition),
    createdAtMs: row.created_at.getTime(),
    tags: row.tags,
    permissionsBoundaryArn: row.boundary_arn,
  };
}

export function toGroup(row: GroupRow, partition: string): GroupRecord {
  return {
    accountId: row.account_id,
    groupId: row.group_id,
    groupName: row.group_name,
    path: row.path,
    arn: iamArn(row.account_id, "group", row.path, row.group_name, partition),
    createdAtMs: row.created_at.getTime(),
  };
}

export function toRole(row: RoleRow, partition: string): RoleRecord {
  return {
    accountId: row.account_id,
    roleId: row.role_id,
    roleName: row.role_name,
    path: row.path,
    arn: iamArn(row.account_id, "role", row.path, row.role_name, partition),
    createdAtMs: row.created_at.getTime(),
    assumeRolePolicyDocument: row.trust_policy,
    description: row.description,
    maxSessionDuration: row.max_session_duration,
    tags: row.tags,
    permissionsBoundaryArn: row.boundary_arn,
  };
}

export function toPolicy(row: PolicyRow, partition: string): ManagedPolicyRecord {
  return {
    accountId: row.account_id,
    policyId: row.policy_id,
    policyName: row.policy_name,
    path: row.path,
    arn: iamArn(row.account_id, "policy", row.path, row.policy_name, partition),
    description: row.description,
    defaultVersionId: row.default_version_id,
    attachmentCount: row.attachment_count,
    permissionsBoundaryUsageCount: row.boundary_count,
    createdAtMs: row.created_at.getTime(),
    updatedAtMs: row.updated_at.getTime(),
  };
}

export function toAccessKey(row: AccessKeyRow): AccessKeyRecord {
  return {
    accountId: row.account_id,
    accessKeyId: row.access_key_id,
    userName: row.user_name,
    userId: row.user_id,
    status: row.status,
    createdAtMs: row.created_at.getTime(),
    lastUsed:
      row.last_used_at === null
        ? null
        : {
            atMs: row.last_used_at.getTime(),
            service: row.last_used_service ?? "",
            region: row.last_used_region ?? "",
          },
  };
}

function noSuch(what: string, name: string, field: string): IamError {
  return new IamError("NoSuchEntity", `${what} ${JSON.stringify(name)} does not exist`, { field });
}

export async function findUser(q: Queryable, partition: string, accountId: string, userName: string): Promise<UserRow> {
  const r = await q.query<UserRow>(
    `${USER_SELECT(partition)} WHERE u.account_id = $1 AND lower(u.user_name) = lower($2)`,
    [accountId, userName],
  );
  const row = r.rows[0];
  if (row === undefined) throw noSuch("user", userName, "userName");
  return row;
}

export async function findGroup(q: Queryable, accountId: string, groupName: string): Promise<GroupRow> {
  const r = await q.query<GroupRow>("SELECT * FROM groups WHERE account_id = $1 AND lower(group_name) = lower($2)", [
    accountId,
    groupName,
  ]);
  const row = r.rows[0];
  if (row === undefined) throw noSuch("group", groupName, "groupName");
  return row;
}

export async function findRole(q: Queryable, partition: string, accountId: string, roleName: string): Promise<RoleRow> {
  const r = await q.query<RoleRow>(
    `${ROLE_SELECT(partition)} WHERE r.account_id = $1 AND lower(r.role_name) = lower($2)`,
    [accountId, roleName],
  );
  const row = r.rows[0];
  if (row === undefined) throw noSuch("role", roleName, "roleName");
  return row;
}

/** The unique id of a named user, group or role; NoSuchEntity names the right field. */
export async function findPrincipalId(
  q: Queryable,
  partition: string,
  accountId: string,
  ref: PrincipalRef,
): Promise<string> {
  switch (ref.kind) {
    case "user":
      return (await findUser(q, partition, accountId, ref.name)).user_id;
    case "group":
      return (await findGroup(q, accountId, ref.name)).group_id;
    case "role":
      return (await findRole(q, partition, accountId, ref.name)).role_id;
  }
}

/** Column holding a principal's id in attachment and inline-policy tables. */
export function principalColumn(kind: PrincipalKind): "user_id" | "group_id" | "role_id" {
  return kind === "user" ? "user_id" : kind === "group" ? "group_id" : "role_id";
}

/** A managed policy ARN's owner (an account id, or `aws`), path and name. */
export interface PolicyArnParts {
  readonly accountId: string;
  readonly path: string;
  readonly name: string;
}

/**
 * The checks of {@link findPolicyByArn} that need no database: the ARN is a managed policy's in
 * the store's `partition`, an AWS managed one is only read, and one of another account is reported
 * as missing.
 */
export function parsePolicyArn(
  partition: string,
  accountId: string,
  policyArn: string,
  field = "policyArn",
  access: "read" | "write" = "read",
): PolicyArnParts {
  const arn = tryParseArn(policyArn);
  if (arn === undefined || arn.service !== "iam" || !arn.resource.startsWith("policy/")) {
    throw new IamError("InvalidInput", `${field} ${JSON.stringify(policyArn)} is not a managed policy ARN`, { field });
  }
  checkArnPartition(arn, partition, field);
  // IAM is global: an ARN naming a region names no IAM policy, and ignoring the region would let a
  // request reach a policy under an ARN that policies denying it do not match.
  if (arn.region !== "") {
    throw new IamError("InvalidInput", `${field} ${JSON.stringify(policyArn)} names a region; IAM ARNs have none`, {
      field,
    });
  }
  const resource = arn.resource.slice("policy".length);
  const slash = resource.lastIndexOf("/");
  const path = resource.slice(0, slash + 1);
  const name = resource.slice(slash + 1);
  const awsManaged = arn.accountId === AWS_MANAGED_ACCOUNT;
  if (awsManaged && access === "write") {
    throw new IamError("AccessDenied", `${policyArn} is an AWS managed policy; it cannot be changed or deleted`, {
      field,
    });
  }
  if ((!awsManaged && arn.accountId !== accountId) || name === "") throw noSuch("policy", policyArn, field);
  return { accountId: arn.accountId, path, name };
}

/**
 * Resolves a managed policy ARN in the caller's account, or an AWS managed policy
 * (`arn:aws:iam::aws:policy/…`) for `"read"` access (get, attach, use as boundary). AWS managed
 * policies cannot be changed or deleted by accounts: `"write"` access to one is AccessDenied. The
 * ARN must be in the store's `partition` (InvalidInput otherwise) and its path must match; a
 * policy of another account is reported as missing, not revealed.
 */
export async function findPolicyByArn(
  q: Queryable,
  partition: string,
  accountId: string,
  policyArn: string,
  field = "policyArn",
  access: "read" | "write" = "read",
): Promise<PolicyRow> {
  const { path, name, ...arn } = parsePolicyArn(partition, accountId, policyArn, field, access);
  const r = await q.query<PolicyRow>(
    `${POLICY_SELECT_IN("$1")} WHERE p.account_id = $2 AND lower(p.policy_name) = lower($3)`,
    [accountId, arn.accountId, name],
  );
  const row = r.rows[0];
  if (row === undefined || row.path !== path) throw noSuch("policy", policyArn, field);
  return row;
}

export async function findAccessKey(q: Queryable, accessKeyId: string): Promise<AccessKeyRow | undefined> {
  const r = await q.query<AccessKeyRow>(`${ACCESS_KEY_SELECT} WHERE k.access_key_id = $1`, [accessKeyId]);
  return r.rows[0];
}

const MAX_ITEMS_DEFAULT = 100;

/** Parsed pagination input: sort-key marker, limit and LIKE pattern for the path prefix. */
export interface PageQuery {
  readonly after: string | null;
  readonly limit: number;
  readonly pathLike: string;
}

/** Validates marker, maxItems and pathPrefix. */
export function pageQuery(page: PageInput): PageQuery {
  const limit = page.maxItems === undefined || page.maxItems === 0 ? MAX_ITEMS_DEFAULT : page.maxItems;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new IamError("InvalidInput", `maxItems must be 1..1000, got ${page.maxItems}`, { field: "maxItems" });
  }
  let after: string | null = null;
  if (page.marker !== undefined && page.marker !== "") {
    after = Buffer.from(page.marker, "base64url").toString("utf8");
    if (!after.startsWith("m:")) {
      throw new IamError("InvalidInput", `marker ${JSON.stringify(page.marker)} is not valid`, { field: "marker" });
    }
    after = after.slice(2);
  }
  const prefix = page.pathPrefix === undefined || page.pathPrefix === "" ? "/" : page.pathPrefix;
  if (!prefix.startsWith("/") || prefix.length > 512) {
    throw new IamError("InvalidInput", `pathPrefix ${JSON.stringify(prefix)} must start with "/"`, {
      field: "pathPrefix",
    });
  }
  return { after, limit, pathLike: `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
}

/** Cuts one extra fetched row into a page with its marker. */
export function toPage<T>(rows: T[], limit: number, sortKey: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, isTruncated: false, marker: "" };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const marker = last === undefined ? "" : Buffer.from(`m:${sortKey(last)}`, "utf8").toString("base64url");
  return { items, isTruncated: true, marker };
}

/** A table that may still reference an entity, and how a DeleteConflict names what it holds. */
export interface Dependent {
  /** Plural noun for the message, e.g. `"attached policies"`. */
  readonly label: string;
  /** Table and column referencing the entity's id (constants from code, never request data). */
  readonly table: string;
  readonly column: string;
  /** Narrows the rows that count (SQL over `table`'s columns, a constant from code): `NOT is_default`. */
  readonly where?: string;
}

/**
 * Fails with `DeleteConflict`, naming every kind of dependent still there and how many, when any of
 * `dependents` references the entity: as AWS, an entity is deleted only once it is emptied.
 */
export async function assertNoDependents(
  q: Queryable,
  entity: { readonly kind: string; readonly name: string; readonly id: string; readonly field: string },
  dependents: readonly Dependent[],
): Promise<void> {
  const sql = dependents
    .map(
      (d, i) =>
        `SELECT ${i} AS i, count(*)::int AS n FROM ${d.table} WHERE ${d.column} = $1${d.where === undefined ? "" : ` AND (${d.where})`}`,
    )
    .join(" UNION ALL ");
  const uses = await q.query<{ i: number; n: number }>(`${sql} ORDER BY i`, [entity.id]);
  const blocking = uses.rows.filter((r) => r.n > 0).map((r) => `${r.n} ${dependents[r.i]?.label}`);
  if (blocking.length > 0) {
    throw new IamError(
      "DeleteConflict",
      `${entity.kind} ${JSON.stringify(entity.name)} still has ${blocking.join(", ")}`,
      {
        field: entity.field,
      },
    );
  }
}

/** Tags as stored in an entity's `tags` jsonb column: `[{key, value}]`, nothing else kept. */
export function tagsJson(input: readonly TagRecord[] | undefined): string {
  return JSON.stringify((input ?? []).map((t) => ({ key: t.key, value: t.value })));
}

/** Fails with `LimitExceeded` (field `tags`) when an entity would carry more tags than `quota`. */
export function checkTagQuota(input: readonly unknown[] | undefined, quota: number): void {
  const n = input?.length ?? 0;
  if (n > quota) throw new IamError("LimitExceeded", `tags has ${n} entries (quota ${quota})`, { field: "tags" });
}
