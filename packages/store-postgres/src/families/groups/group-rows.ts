import { iamArn } from "@gatehouse/core";
import { noSuch } from "../../checks.ts";
import type { GroupRecord } from "../../records.ts";
import type { Queryable } from "../../tx.ts";

/** A `groups` row. */
export interface GroupRow {
  group_id: string;
  account_id: string;
  group_name: string;
  path: string;
  created_at: Date;
}

/** The record a group row answers as. */
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

/** The account's group by name (case-insensitive); NoSuchEntity (field `groupName`) otherwise. */
export async function findGroup(q: Queryable, accountId: string, groupName: string): Promise<GroupRow> {
  const r = await q.query<GroupRow>("SELECT * FROM groups WHERE account_id = $1 AND lower(group_name) = lower($2)", [
    accountId,
    groupName,
  ]);
  const row = r.rows[0];
  if (row === undefined) throw noSuch("group", groupName, "groupName");
  return row;
}
