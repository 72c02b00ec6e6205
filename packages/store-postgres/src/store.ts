import { createHmac } from "node:crypto";
import { createSecretBox } from "@gatehouse/auth";
import pg from "pg";
import { type AccessKeyStore, createAccessKeyStore } from "./families/access-keys/access-key-store.ts";
import { type AccountSettingsStore, createAccountSettingsStore } from "./families/accounts/account-settings-store.ts";
import { type AccountStore, createAccountStore } from "./families/accounts/account-store.ts";
import { type AccountSummaryStore, createAccountSummaryStore } from "./families/accounts/account-summary-store.ts";
import { createGuardrailStore, type GuardrailStore } from "./families/accounts/guardrail-store.ts";
import { type AttachmentStore, createAttachmentStore } from "./families/attachments/attachment-store.ts";
import { type AuditStore, createAuditStore } from "./families/audit/audit-store.ts";
import { type BoundaryStore, createBoundaryStore } from "./families/boundaries/boundary-store.ts";
import {
  type CredentialReportStore,
  createCredentialReportStore,
} from "./families/credential-reports/credential-report-store.ts";
import { createExportStore, type ExportStore } from "./families/export/export-store.ts";
import { createGroupStore, type GroupStore } from "./families/groups/group-store.ts";
import { createInlinePolicyStore, type InlinePolicyStore } from "./families/inline-policies/inline-policy-store.ts";
import {
  createInstanceProfileStore,
  type InstanceProfileStore,
} from "./families/instance-profiles/instance-profile-store.ts";
import { type ConsoleSignInStore, createConsoleSignInStore } from "./families/login-profiles/console-sign-in-store.ts";
import { createLoginProfileStore, type LoginProfileStore } from "./families/login-profiles/login-profile-store.ts";
import { createMfaStore, type MfaStore } from "./families/mfa/mfa-store.ts";
import { createOidcProviderStore, type OidcProviderStore } from "./families/oidc-providers/oidc-provider-store.ts";
import { createOutboxCompactionStore, type OutboxCompactionStore } from "./families/outbox/outbox-compaction.ts";
import { createPolicyStore, type PolicyStore } from "./families/policies/policy-store.ts";
import { seedBuiltinPolicies } from "./families/policies/seed-builtin-policies.ts";
import {
  createResourcePolicyStore,
  type ResourcePolicyStore,
} from "./families/resource-policies/resource-policy-store.ts";
import { createRoleStore, type RoleStore } from "./families/roles/role-store.ts";
import { createStsKeyStore, type StsKeyStore } from "./families/sts-keys/sts-key-store.ts";
import { createTagStore, type TagStore } from "./families/tags/tag-store.ts";
import { createUserStore, type UserStore } from "./families/users/user-store.ts";
import { createLookups } from "./lookups.ts";
import { migrate } from "./migrate.ts";
import { type PostgresStoreOptions, type ValidPostgresStoreOptions, validatePostgresStoreOptions } from "./options.ts";
import { translatePgError } from "./pg-error.ts";
import { channelFor, type StoreContext } from "./tx.ts";
import { createWriteBatcher } from "./write-batcher.ts";
import { pruneClientRequestTokens } from "./write-path.ts";

/**
 * IAM state in Postgres. Every write is one transaction that bumps the account's revision and
 * writes outbox rows with the changed entities' full new state; every write accepts a client
 * request token. Errors are {@link IamError}s.
 */
export interface IamStore
  extends AccountStore,
    AccountSettingsStore,
    AccountSummaryStore,
    GuardrailStore,
    UserStore,
    GroupStore,
    RoleStore,
    PolicyStore,
    AttachmentStore,
    InlinePolicyStore,
    BoundaryStore,
    AccessKeyStore,
    LoginProfileStore,
    ConsoleSignInStore,
    MfaStore,
    InstanceProfileStore,
    OidcProviderStore,
    ResourcePolicyStore,
    StsKeyStore,
    TagStore,
    ExportStore,
    OutboxCompactionStore,
    AuditStore,
    CredentialReportStore {
  readonly options: ValidPostgresStoreOptions;
  /** The pool, for the outbox relay and health checks (same schema search_path). */
  readonly pool: pg.Pool;
  /** The NOTIFY channel writes signal on. */
  readonly channel: string;
  /**
   * Runs pending migrations, then seeds the AWS managed policies: what a new Gatehouse adds or
   * changes is written and carried to the streams of the accounts that use it (see
   * `seedBuiltinPolicies`). Returns the migrations applied.
   */
  migrate(): Promise<number[]>;
  /**
   * Deletes expired client request tokens (`clientTokenTtlSeconds` after their call), up to
   * `batchSize` rows per statement; returns how many. Expired tokens never replay even before this.
   */
  pruneClientRequestTokens(batchSize: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Opens a pool on `options.schema` and returns the store. Call `migrate()` before first use.
 *
 * @example
 * const store = createPostgresStore({ connectionString, schema: "gatehouse", secretKey });
 * await store.migrate();
 * const { value: user, revision } = await store.createUser(accountId, { userName: "alice" });
 */
export function createPostgresStore(options: PostgresStoreOptions): IamStore {
  const opts = validatePostgresStoreOptions(options);
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.poolSize,
    // The token lifetime travels as a session setting so the SQL write functions see it too.
    options: `-c search_path=${opts.schema} -c gatehouse.client_token_ttl=${opts.clientTokenTtlSeconds}`,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  const box = createSecretBox(opts.secretKey, opts.previousSecretKeys);
  const digestKey = createHmac("sha256", opts.secretKey).update("gatehouse client request digest v1").digest();
  const ctx: StoreContext = {
    pool,
    options: opts,
    box,
    secretDigest: (secret) => createHmac("sha256", digestKey).update(secret, "utf8").digest("base64"),
    channel: channelFor(opts.schema),
    find: createLookups(opts.partition),
    writes: createWriteBatcher(pool, { concurrency: opts.writeConcurrency }),
    traceContext: opts.traceContext,
  };

  // Each family is a set of methods over the same context; together they are the store.
  return {
    ...createAccountStore(ctx),
    ...createAccountSettingsStore(ctx),
    ...createAccountSummaryStore(ctx),
    ...createGuardrailStore(ctx),
    ...createUserStore(ctx),
    ...createGroupStore(ctx),
    ...createRoleStore(ctx),
    ...createPolicyStore(ctx),
    ...createAttachmentStore(ctx),
    ...createInlinePolicyStore(ctx),
    ...createBoundaryStore(ctx),
    ...createAccessKeyStore(ctx),
    ...createLoginProfileStore(ctx),
    ...createConsoleSignInStore(ctx),
    ...createMfaStore(ctx),
    ...createInstanceProfileStore(ctx),
    ...createOidcProviderStore(ctx),
    ...createResourcePolicyStore(ctx),
    ...createStsKeyStore(ctx),
    ...createTagStore(ctx),
    ...createExportStore(ctx),
    ...createOutboxCompactionStore(ctx),
    ...createAuditStore(ctx),
    ...createCredentialReportStore(ctx),
    options: opts,
    pool,
    channel: ctx.channel,
    pruneClientRequestTokens: (batchSize) => pruneClientRequestTokens(ctx, batchSize),
    async migrate() {
      const applied = (await migrate(pool, { schema: opts.schema })).applied;
      await seedBuiltinPolicies(ctx).catch((e: unknown) => {
        throw translatePgError(e, "seeding AWS managed policies");
      });
      return applied;
    },
    async close() {
      await pool.end();
    },
  };
}
