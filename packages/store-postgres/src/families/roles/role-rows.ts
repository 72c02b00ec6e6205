import { iamArn } from "@gatehouse/core";
import { noSuch } from "../../checks.ts";
import type { RoleRecord, TagRecord } from "../../records.ts";
import type { Queryable } from "../../tx.ts";
import { BOUNDARY_ARN } from "../policies/policy-rows.ts";

/** A `roles` row as {@link ROLE_SELECT} reads it. */
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

/** Roles with their permissions boundary's ARN. */
export const ROLE_SELECT = (partition: string) =>
  `SELECT r.*, ${BOUNDARY_ARN(partition)} AS boundary_arn FROM roles r LEFT JOIN managed_policies bp ON bp.policy_id = r.permissions_boundary_id`;
/** The record a role row answers as. */
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

/** The account's role by name (case-insensitive); NoSuchEntity (field `roleName`) otherwise. */
export async function findRole(q: Queryable, partition: string, accountId: string, roleName: string): Promise<RoleRow> {
  const r = await q.query<RoleRow>(
    `${ROLE_SELECT(partition)} WHERE r.account_id = $1 AND lower(r.role_name) = lower($2)`,
    [accountId, roleName],
  );
  const row = r.rows[0];
  if (row === undefined) throw noSuch("role", roleName, "roleName");
  return row;
}
