import { read, type StoreContext } from "../../tx.ts";

/**
 * What GetAccountSummary counts in an account. Each count is one index scan by account (see
 * migration 0024); no entity is read.
 */
export interface AccountUsage {
  readonly users: number;
  readonly groups: number;
  readonly roles: number;
  /** Customer managed policies (AWS managed ones belong to no account). */
  readonly policies: number;
  /** Managed-policy attachments to the account's users, groups and roles, AWS managed ones included. */
  readonly policyAttachments: number;
  readonly instanceProfiles: number;
  readonly oidcProviders: number;
  /** Virtual MFA devices, assigned or not. */
  readonly mfaDevices: number;
  /** MFA devices enabled for a user. */
  readonly mfaDevicesInUse: number;
  /** Access keys of the account root. */
  readonly rootAccessKeys: number;
}

/** GetAccountSummary's counts. */
export interface AccountSummaryStore {
  /** The account's entity counts, read in one statement (one snapshot). */
  getAccountUsage(accountId: string): Promise<AccountUsage>;
}

/**
 * Every count of {@link AccountUsage} in one statement, by account id ($1); users come from
 * `accounts.user_count`, which CreateUser/DeleteUser keep for the users quota. Exported for the
 * test that checks each count is an index scan.
 */
export const ACCOUNT_USAGE_SQL = `SELECT
    (SELECT user_count FROM accounts WHERE account_id = $1) AS "users",
    (SELECT count(*)::int FROM groups WHERE account_id = $1) AS "groups",
    (SELECT count(*)::int FROM roles WHERE account_id = $1) AS "roles",
    (SELECT count(*)::int FROM managed_policies WHERE account_id = $1) AS "policies",
    (SELECT count(*)::int FROM policy_attachments WHERE account_id = $1) AS "policyAttachments",
    (SELECT count(*)::int FROM instance_profiles WHERE account_id = $1) AS "instanceProfiles",
    (SELECT count(*)::int FROM oidc_providers WHERE account_id = $1) AS "oidcProviders",
    (SELECT count(*)::int FROM mfa_devices WHERE account_id = $1) AS "mfaDevices",
    (SELECT count(*)::int FROM mfa_devices WHERE account_id = $1 AND user_id IS NOT NULL) AS "mfaDevicesInUse",
    (SELECT count(*)::int FROM access_keys WHERE account_id = $1 AND user_id IS NULL) AS "rootAccessKeys"`;

type UsageRow = { [K in keyof AccountUsage]: number };

/** The {@link AccountSummaryStore} part of the store. */
export function createAccountSummaryStore(ctx: StoreContext): AccountSummaryStore {
  return {
    getAccountUsage: (accountId) =>
      read(ctx, "GetAccountUsage", async (q) => {
        const r = await q.query<UsageRow>(ACCOUNT_USAGE_SQL, [accountId]);
        const row = r.rows[0] as UsageRow;
        return { ...row, users: row.users ?? 0 };
      }),
  };
}
