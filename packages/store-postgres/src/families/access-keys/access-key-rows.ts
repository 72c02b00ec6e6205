import type { AccessKeyRecord } from "../../records.ts";
import type { Queryable } from "../../tx.ts";

/** An `access_keys` row as {@link ACCESS_KEY_SELECT} reads it, with its user's name and path. */
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

/** Access keys with their user's name and path (both null for the account root's keys). */
export const ACCESS_KEY_SELECT = `SELECT k.*, u.user_name, u.path AS user_path FROM access_keys k LEFT JOIN users u ON u.user_id = k.user_id`;

/** The record an access key row answers as (never with its secret). */
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

/** A key by id in any account, or `undefined`. */
export async function findAccessKey(q: Queryable, accessKeyId: string): Promise<AccessKeyRow | undefined> {
  const r = await q.query<AccessKeyRow>(`${ACCESS_KEY_SELECT} WHERE k.access_key_id = $1`, [accessKeyId]);
  return r.rows[0];
}
