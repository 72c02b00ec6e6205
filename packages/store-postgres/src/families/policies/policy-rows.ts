import { checkArnPartition, IamError, iamArn, tryParseArn } from "@gatehouse/core";
import { noSuch } from "../../checks.ts";
import type { ManagedPolicyRecord, TagRecord } from "../../records.ts";
import type { Queryable } from "../../tx.ts";
import { AWS_MANAGED_ACCOUNT } from "./builtin-policies.ts";

/** A `managed_policies` row as {@link POLICY_SELECT} reads it. */
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
  tags: TagRecord[];
  created_at: Date;
  updated_at: Date;
}

/** SQL that renders a managed policy's ARN from a `managed_policies` row aliased `bp`. */
export const BOUNDARY_ARN = (partition: string) =>
  `CASE WHEN bp.policy_id IS NULL THEN NULL ELSE 'arn:${partition}:iam::' || bp.account_id || ':policy' || bp.path || bp.policy_name END`;

/** Managed policies with how often they are attached and used as a permissions boundary. */
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

/** The record a managed policy row answers as. */
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
    tags: row.tags,
  };
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
