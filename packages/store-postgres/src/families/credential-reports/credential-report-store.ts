import { IamError, iamArn } from "@gatehouse/core";
import { read, type StoreContext } from "../../tx.ts";

/** One access key as the credential report shows it. */
export interface CredentialReportKey {
  readonly active: boolean;
  /** When the key was created (AWS's "last rotated"). */
  readonly createdAtMs: number;
  /** Its last use, or null if never used. */
  readonly lastUsed: { readonly atMs: number; readonly service: string; readonly region: string } | null;
}

/** An IAM user (or the account root) with what the credential report says of its credentials. */
export interface CredentialReportPrincipal {
  readonly userName: string;
  readonly arn: string;
  readonly createdAtMs: number;
  /**
   * The console password: when it was last set and last signed in with (null: never), or null
   * without a login profile.
   */
  readonly password: { readonly changedAtMs: number; readonly lastUsedAtMs: number | null } | null;
  readonly mfaActive: boolean;
  /** Keys oldest first (AWS's access_key_1 is the older). */
  readonly accessKeys: readonly CredentialReportKey[];
}

/** The account's credentials, read in one snapshot for a report. */
export interface CredentialReportState {
  readonly accountId: string;
  /** The account root: `createdAtMs` is the account's creation; no password, no MFA here. */
  readonly root: CredentialReportPrincipal;
  /** Every IAM user, by name. */
  readonly users: readonly CredentialReportPrincipal[];
  /** The password policy's MaxPasswordAge in days; 0: passwords do not expire. */
  readonly maxPasswordAgeDays: number;
}

/** A generated credential report. */
export interface StoredCredentialReport {
  readonly generatedAtMs: number;
  readonly content: Buffer;
}

/** AWS's credential report: the state it is made from, and the account's latest report. */
export interface CredentialReportStore {
  /** The account's users, keys, passwords and MFA as one consistent read; NoSuchEntity if no such account. */
  credentialReportState(accountId: string): Promise<CredentialReportState>;
  /** Keeps `content` as the account's report (replacing the previous one). */
  putCredentialReport(accountId: string, report: StoredCredentialReport): Promise<void>;
  /** The account's latest report, or undefined if none was generated. */
  getCredentialReport(accountId: string): Promise<StoredCredentialReport | undefined>;
}

interface KeyJson {
  active: boolean;
  created_ms: number;
  used_ms: number | null;
  service: string | null;
  region: string | null;
}

interface PrincipalRow {
  user_name: string | null;
  path: string | null;
  created_ms: string;
  password_changed_ms: string | null;
  password_used_ms: string | null;
  mfa_active: boolean;
  keys: KeyJson[];
}

const keysOf = (keys: KeyJson[]): CredentialReportKey[] =>
  keys.map((k) => ({
    active: k.active,
    createdAtMs: Number(k.created_ms),
    lastUsed: k.used_ms === null ? null : { atMs: Number(k.used_ms), service: k.service ?? "", region: k.region ?? "" },
  }));

const KEYS = `COALESCE((SELECT jsonb_agg(jsonb_build_object('active', k.status = 'Active',
    'created_ms', (extract(epoch FROM k.created_at) * 1000)::bigint,
    'used_ms', (extract(epoch FROM k.last_used_at) * 1000)::bigint,
    'service', k.last_used_service, 'region', k.last_used_region) ORDER BY k.created_at, k.access_key_id)
  FROM access_keys k WHERE k.account_id = $1 AND k.user_id IS NOT DISTINCT FROM`;

/** Creates the credential-report family over the store's pool. */
export function createCredentialReportStore(ctx: StoreContext): CredentialReportStore {
  const partition = ctx.options.partition;
  return {
    credentialReportState: (accountId) =>
      read(ctx, "GenerateCredentialReport", async (q) => {
        // One statement, so users, keys and passwords are of one snapshot.
        const r = await q.query<PrincipalRow & { max_age: number | null }>(
          `SELECT NULL AS user_name, NULL AS path, (extract(epoch FROM a.created_at) * 1000)::bigint AS created_ms,
                  NULL::bigint AS password_changed_ms, NULL::bigint AS password_used_ms, false AS mfa_active,
                  ${KEYS} NULL), '[]') AS keys,
                  (SELECT max_password_age FROM password_policies WHERE account_id = $1) AS max_age
             FROM accounts a WHERE a.account_id = $1
           UNION ALL
           SELECT * FROM (
             SELECT u.user_name, u.path, (extract(epoch FROM u.created_at) * 1000)::bigint,
                    (SELECT (extract(epoch FROM l.password_changed_at) * 1000)::bigint FROM login_profiles l
                      WHERE l.user_id = u.user_id),
                    (SELECT (extract(epoch FROM l.password_last_used_at) * 1000)::bigint FROM login_profiles l
                      WHERE l.user_id = u.user_id),
                    EXISTS (SELECT 1 FROM mfa_devices m WHERE m.user_id = u.user_id),
                    ${KEYS} u.user_id), '[]'),
                    NULL::integer
               FROM users u WHERE u.account_id = $1 ORDER BY lower(u.user_name)) users`,
          [accountId],
        );
        const [root, ...users] = r.rows;
        if (root === undefined || root.user_name !== null) {
          throw new IamError("NoSuchEntity", `account ${accountId} does not exist`, { field: "accountId" });
        }
        const principal = (row: PrincipalRow, userName: string, arn: string): CredentialReportPrincipal => ({
          userName,
          arn,
          createdAtMs: Number(row.created_ms),
          password:
            row.password_changed_ms === null
              ? null
              : {
                  changedAtMs: Number(row.password_changed_ms),
                  lastUsedAtMs: row.password_used_ms === null ? null : Number(row.password_used_ms),
                },
          mfaActive: row.mfa_active,
          accessKeys: keysOf(row.keys),
        });
        return {
          accountId,
          root: principal(root, "<root_account>", `arn:${partition}:iam::${accountId}:root`),
          users: users.map((u) =>
            principal(
              u,
              u.user_name as string,
              iamArn(accountId, "user", u.path ?? "/", u.user_name as string, partition),
            ),
          ),
          maxPasswordAgeDays: root.max_age ?? 0,
        };
      }),

    putCredentialReport: (accountId, report) =>
      read(ctx, "GenerateCredentialReport", async (q) => {
        await q.query(
          `INSERT INTO credential_reports (account_id, generated_at, content)
           VALUES ($1, to_timestamp($2::double precision / 1000), $3)
           ON CONFLICT (account_id) DO UPDATE SET generated_at = EXCLUDED.generated_at, content = EXCLUDED.content`,
          [accountId, report.generatedAtMs, report.content],
        );
      }),

    getCredentialReport: (accountId) =>
      read(ctx, "GetCredentialReport", async (q) => {
        const r = await q.query<{ generated_ms: string; content: Buffer }>(
          `SELECT (extract(epoch FROM generated_at) * 1000)::bigint AS generated_ms, content
             FROM credential_reports WHERE account_id = $1`,
          [accountId],
        );
        const row = r.rows[0];
        return row === undefined ? undefined : { generatedAtMs: Number(row.generated_ms), content: row.content };
      }),
  };
}
