import { iamArn } from "@gatehouse/core";
import { noSuch } from "../../checks.ts";
import type { TagRecord, UserRecord } from "../../records.ts";
import type { Queryable } from "../../tx.ts";
import { BOUNDARY_ARN } from "../policies/policy-rows.ts";

/** A `users` row as {@link USER_SELECT} reads it. */
export interface UserRow {
  user_id: string;
  account_id: string;
  user_name: string;
  path: string;
  tags: TagRecord[];
  permissions_boundary_id: string | null;
  boundary_arn: string | null;
  created_at: Date;
  /** login_profiles.password_last_used_at (migration 0036): null without a profile or a sign-in. */
  password_last_used_at: Date | null;
}

/** Users with their permissions boundary's ARN and their console password's last use. */
export const USER_SELECT = (partition: string) =>
  `SELECT u.*, ${BOUNDARY_ARN(partition)} AS boundary_arn, lp.password_last_used_at FROM users u LEFT JOIN managed_policies bp ON bp.policy_id = u.permissions_boundary_id LEFT JOIN login_profiles lp ON lp.user_id = u.user_id`;
/** The record a user row answers as. */
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
    passwordLastUsedMs: row.password_last_used_at?.getTime() ?? null,
  };
}

/** The account's user by name (case-insensitive, as AWS); NoSuchEntity (field `userName`) otherwise. */
export async function findUser(q: Queryable, partition: string, accountId: string, userName: string): Promise<UserRow> {
  const r = await q.query<UserRow>(
    `${USER_SELECT(partition)} WHERE u.account_id = $1 AND lower(u.user_name) = lower($2)`,
    [accountId, userName],
  );
  const row = r.rows[0];
  if (row === undefined) throw noSuch("user", userName, "userName");
  return row;
}
