import { IamError } from "@gatehouse/core";
import type { PasswordPolicyRecord } from "../../records.ts";
import type { Queryable } from "../../tx.ts";

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

/** The rules applied when the account has no custom policy (AWS's default password policy). */
const DEFAULT_MINIMUM_LENGTH = 8;

/**
 * Checks a new password against the account's policy, or AWS's default rules without one
 * (at least 8 characters, three of: upper case, lower case, digits, symbols; not the user name).
 * Throws `PasswordPolicyViolation` naming the rule; the password itself never appears.
 */
export function checkPasswordAgainstPolicy(
  policy: PasswordPolicyRecord | undefined,
  password: string,
  userName: string,
): void {
  const violation = (rule: string, message: string) =>
    new IamError("PasswordPolicyViolation", `the password does not meet the account password policy: ${message}`, {
      field: rule,
    });
  const classes = {
    upper: /\p{Lu}/u.test(password),
    lower: /\p{Ll}/u.test(password),
    number: /\p{N}/u.test(password),
    symbol: /[^\p{L}\p{N}]/u.test(password),
  };
  if (password.length > 128) throw violation("MaximumPasswordLength", "at most 128 characters");
  if (policy === undefined) {
    if (password.length < DEFAULT_MINIMUM_LENGTH) {
      throw violation("MinimumPasswordLength", `at least ${DEFAULT_MINIMUM_LENGTH} characters`);
    }
    if (Object.values(classes).filter(Boolean).length < 3) {
      throw violation(
        "CharacterTypes",
        "at least three of upper-case letters, lower-case letters, numbers and symbols",
      );
    }
    if (password.toLowerCase() === userName.toLowerCase()) throw violation("UserName", "must not be the user name");
    return;
  }
  if (password.length < policy.minimumPasswordLength) {
    throw violation("MinimumPasswordLength", `at least ${policy.minimumPasswordLength} characters`);
  }
  if (policy.requireUppercaseCharacters && !classes.upper) {
    throw violation("RequireUppercaseCharacters", "at least one upper-case letter");
  }
  if (policy.requireLowercaseCharacters && !classes.lower) {
    throw violation("RequireLowercaseCharacters", "at least one lower-case letter");
  }
  if (policy.requireNumbers && !classes.number) throw violation("RequireNumbers", "at least one number");
  if (policy.requireSymbols && !classes.symbol) throw violation("RequireSymbols", "at least one symbol");
}
