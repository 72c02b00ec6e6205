import { IamError } from "@gatehouse/core";
import type { Mutation, PasswordPolicyRecord, RequestToken } from "../../records.ts";
import { accountState } from "../../state.ts";
import { read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec } from "../../write-path.ts";
import { findPasswordPolicy } from "./password-policy.ts";

/** The account alias and the account password policy. */
export interface AccountSettingsStore {
  /** Sets the account's alias (an account has at most one: a new one replaces it). Globally unique. */
  createAccountAlias(accountId: string, alias: string, token?: RequestToken): Promise<Mutation<null>>;
  deleteAccountAlias(accountId: string, alias: string, token?: RequestToken): Promise<Mutation<null>>;
  listAccountAliases(accountId: string): Promise<string[]>;
  updatePasswordPolicy(
    accountId: string,
    policy: PasswordPolicyRecord,
    token?: RequestToken,
  ): Promise<Mutation<PasswordPolicyRecord>>;
  /** NoSuchEntity when the account has no custom policy. */
  getPasswordPolicy(accountId: string): Promise<PasswordPolicyRecord>;
  deletePasswordPolicy(accountId: string, token?: RequestToken): Promise<Mutation<null>>;
}

/** The {@link AccountSettingsStore} part of the store. */
export function createAccountSettingsStore(ctx: StoreContext): AccountSettingsStore {
  return {
    createAccountAlias: (accountId, alias, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "CreateAccountAlias", request: { alias }, ...tokenSpec(token) },
        async (q) => {
          const r = await q.query(
            "UPDATE accounts SET alias = $2 WHERE account_id = $1 AND alias IS DISTINCT FROM $2",
            [accountId, alias],
          );
          if (r.rowCount === 0) return { value: null, events: [] };
          return { value: null, events: [await accountState(q, accountId)] };
        },
      ),

    deleteAccountAlias: (accountId, alias, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteAccountAlias", request: { alias }, ...tokenSpec(token) },
        async (q) => {
          const r = await q.query("UPDATE accounts SET alias = NULL WHERE account_id = $1 AND alias = $2", [
            accountId,
            alias,
          ]);
          if (r.rowCount === 0) {
            throw new IamError("NoSuchEntity", `the account has no alias ${JSON.stringify(alias)}`, {
              field: "accountAlias",
            });
          }
          return { value: null, events: [await accountState(q, accountId)] };
        },
      ),

    listAccountAliases: (accountId) =>
      read(ctx, "ListAccountAliases", async (q) => {
        const r = await q.query<{ alias: string | null }>("SELECT alias FROM accounts WHERE account_id = $1", [
          accountId,
        ]);
        const alias = r.rows[0]?.alias;
        return alias === null || alias === undefined ? [] : [alias];
      }),

    updatePasswordPolicy: (accountId, p, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "UpdateAccountPasswordPolicy", request: p, ...tokenSpec(token) },
        async (q) => {
          await q.query(
            `INSERT INTO password_policies (account_id, minimum_password_length, require_symbols, require_numbers,
               require_uppercase_characters, require_lowercase_characters, allow_users_to_change_password,
               max_password_age, password_reuse_prevention, hard_expiry)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (account_id) DO UPDATE SET minimum_password_length = EXCLUDED.minimum_password_length,
               require_symbols = EXCLUDED.require_symbols, require_numbers = EXCLUDED.require_numbers,
               require_uppercase_characters = EXCLUDED.require_uppercase_characters,
               require_lowercase_characters = EXCLUDED.require_lowercase_characters,
               allow_users_to_change_password = EXCLUDED.allow_users_to_change_password,
               max_password_age = EXCLUDED.max_password_age, password_reuse_prevention = EXCLUDED.password_reuse_prevention,
               hard_expiry = EXCLUDED.hard_expiry, updated_at = now()`,
            [
              accountId,
              p.minimumPasswordLength,
              p.requireSymbols,
              p.requireNumbers,
              p.requireUppercaseCharacters,
              p.requireLowercaseCharacters,
              p.allowUsersToChangePassword,
              p.maxPasswordAge,
              p.passwordReusePrevention,
              p.hardExpiry,
            ],
          );
          return { value: p, events: [await accountState(q, accountId)] };
        },
      ),

    getPasswordPolicy: (accountId) =>
      read(ctx, "GetAccountPasswordPolicy", async (q) => {
        const policy = await findPasswordPolicy(q, accountId);
        if (policy === undefined) {
          throw new IamError("NoSuchEntity", "the account has no password policy", { field: "accountId" });
        }
        return policy;
      }),

    deletePasswordPolicy: (accountId, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteAccountPasswordPolicy", request: {}, ...tokenSpec(token) },
        async (q) => {
          const r = await q.query("DELETE FROM password_policies WHERE account_id = $1", [accountId]);
          if (r.rowCount === 0) {
            throw new IamError("NoSuchEntity", "the account has no password policy", { field: "accountId" });
          }
          return { value: null, events: [await accountState(q, accountId)] };
        },
      ),
  };
}
