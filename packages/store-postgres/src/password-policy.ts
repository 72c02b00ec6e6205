import type { PasswordPolicyRecord } from "./records.ts";
import type { Queryable } from "./tx.ts";

/** A `password_policies` row. */
export interface PasswordPolicyRow {
  minimum_password_length: number;
  require_symbols: boolean;
  require_numbers: boolean;
  require_uppercase_characters: boolean;
  require_lowercase_characters: boolean;
  allow_users_to_change_password: boolean;
  max_password_age: number;
  password_reuse_prevention: number;
  hard_expiry: boolean;
}

/** Row → record. */
export function toPasswordPolicy(row: PasswordPolicyRow): PasswordPolicyRecord {
  return {
    minimumPasswordLength: row.minimum_password_length,
    requireSymbols: row.require_symbols,
    requireNumbers: row.require_numbers,
    requireUppercaseCharacters: row.require_uppercase_characters,
    requireLowercaseCharacters: row.require_lowercase_characters,
    allowUsersToChangePassword: row.allow_users_to_change_password,
    maxPasswordAge: row.max_password_age,
    passwordReusePrevention: row.password_reuse_prevention,
    hardExpiry: row.hard_expiry,
  };
}

/** The account's custom password policy, or `undefined`. */
export async function findPasswordPolicy(q: Queryable, accountId: string): Promise<PasswordPolicyRecord | undefined> {
  const r = await q.query<PasswordPolicyRow>("SELECT * FROM password_policies WHERE account_id = $1", [accountId]);
  const row = r.rows[0];
  return row === undefined ? undefined : toPasswordPolicy(row);
}
