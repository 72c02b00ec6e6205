import { createHmac, randomBytes, randomInt } from "node:crypto";
import { createSecretBox } from "@gatehouse/auth";
import { IamError, iamArn, newId } from "@gatehouse/core";
import pg from "pg";
import { type AccountSettingsStore, createAccountSettingsStore } from "./account-store.ts";
import { AWS_MANAGED_ACCOUNT } from "./builtin-policies.ts";
import { createGuardrailStore, type GuardrailStore } from "./guardrail-store.ts";
import { createInstanceProfileStore, type InstanceProfileStore } from "./instance-profile-store.ts";
import { createLoginProfileStore, type LoginProfileStore } from "./login-profile-store.ts";
import {
  ACCESS_KEY_SELECT,
  type AccessKeyRow,
  assertNoDependents,
  checkTagQuota,
  findAccessKey,
  findGroup,
  findPolicyByArn,
  findPrincipalId,
  findRole,
  findUser,
  type GroupRow,
  POLICY_SELECT,
  POLICY_SELECT_IN,
  type PolicyArnParts,
  type PolicyRow,
  pageQuery,
  parsePolicyArn,
  principalColumn,
  REFERENCED_IN_ACCOUNT,
  ROLE_SELECT,
  type RoleRow,
  tagsJson,
  toAccessKey,
  toGroup,
  toPage,
  toPolicy,
  toRole,
  toUser,
  USER_SELECT,
  type UserRow,
} from "./lookups.ts";
import { createMfaStore, type MfaStore } from "./mfa-store.ts";
import { migrate } from "./migrate.ts";
import { createOidcProviderStore, type OidcProviderStore } from "./oidc-provider-store.ts";
import {
  type PostgresStoreOptions,
  type StoreQuotas,
  type ValidPostgresStoreOptions,
  validatePostgresStoreOptions,
} from "./options.ts";
import { assertExportable, createOutboxCompactionStore, type OutboxCompactionStore } from "./outbox-compaction.ts";
import { translatePgError } from "./pg-error.ts";
import type {
  AccessKeyCredential,
  AccessKeyRecord,
  AccessKeyStatus,
  AccountExport,
  AccountRecord,
  AttachedPolicyRecord,
  ExportedEntity,
  GroupRecord,
  InlinePolicyRecord,
  ManagedPolicyRecord,
  Mutation,
  NewAccessKey,
  Page,
  PageInput,
  PolicyVersionRecord,
  PrincipalKind,
  PrincipalRef,
  RequestToken,
  RoleRecord,
  TagRecord,
  UserRecord,
} from "./records.ts";
import { seedBuiltinPolicies } from "./seed-builtin-policies.ts";
import {
  accessKeyState,
  accountState,
  EntityKind,
  groupState,
  instanceProfileState,
  loginProfileState,
  mfaDeviceState,
  oidcProviderState,
  policyState,
  principalState,
  roleState,
  userState,
} from "./state.ts";
import { createTagStore, type TagStore } from "./tag-store.ts";
import {
  callWrite,
  channelFor,
  failInOrder,
  mutate,
  type OutboxEvent,
  pruneClientRequestTokens,
  type Queryable,
  read,
  readSnapshot,
  replayToken,
  requestHash,
  requestTokenOf,
  type StoreContext,
  tokenSpec,
  writeOutbox,
} from "./tx.ts";
import { createWriteBatcher } from "./write-batcher.ts";

/** Input of {@link IamStore.createUser}. */
export interface CreateUserInput extends RequestToken {
  readonly userName: string;
  readonly path?: string | undefined;
  readonly tags?: readonly TagRecord[] | undefined;
  readonly permissionsBoundaryArn?: string | undefined;
}

/** Input of {@link IamStore.createRole}. */
export interface CreateRoleInput extends RequestToken {
  readonly roleName: string;
  readonly path?: string | undefined;
  readonly assumeRolePolicyDocument: string;
  readonly description?: string | undefined;
  readonly maxSessionDuration?: number | undefined;
  readonly tags?: readonly TagRecord[] | undefined;
  readonly permissionsBoundaryArn?: string | undefined;
}

/** Input of {@link IamStore.createPolicy}. */
export interface CreatePolicyInput extends RequestToken {
  readonly policyName: string;
  readonly path?: string | undefined;
  readonly policyDocument: string;
  readonly description?: string | undefined;
}

/** A created account and its root's first access key (the secret appears only here). */
export interface NewAccount {
  readonly account: AccountRecord;
  readonly rootArn: string;
  readonly rootAccessKey: NewAccessKey;
}

/**
 * IAM state in Postgres. Every write is one transaction that bumps the account's revision and
 * writes outbox rows with the changed entities' full new state; every write accepts a client
 * request token. Errors are {@link IamError}s.
 */
export interface IamStore
  extends TagStore,
    AccountSettingsStore,
    LoginProfileStore,
    GuardrailStore,
    MfaStore,
    InstanceProfileStore,
    OidcProviderStore,
    OutboxCompactionStore {
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

  createAccount(input: { alias?: string | undefined } & RequestToken): Promise<Mutation<NewAccount>>;
  getAccount(accountId: string): Promise<AccountRecord>;

  createUser(accountId: string, input: CreateUserInput): Promise<Mutation<UserRecord>>;
  getUser(accountId: string, userName: string): Promise<UserRecord>;
  listUsers(accountId: string, page: PageInput): Promise<Page<UserRecord>>;
  deleteUser(accountId: string, userName: string, token?: RequestToken): Promise<Mutation<null>>;

  createGroup(
    accountId: string,
    input: { groupName: string; path?: string | undefined } & RequestToken,
  ): Promise<Mutation<GroupRecord>>;
  getGroup(accountId: string, groupName: string): Promise<GroupRecord>;
  listGroups(accountId: string, page: PageInput): Promise<Page<GroupRecord>>;
  /** One page of the user's groups; the marker is the last group's lower-cased name. `pathPrefix` is ignored. */
  listGroupsForUser(accountId: string, userName: string, page: PageInput): Promise<Page<GroupRecord>>;
  listUsersInGroup(accountId: string, groupName: string): Promise<UserRecord[]>;
  deleteGroup(accountId: string, groupName: string, token?: RequestToken): Promise<Mutation<null>>;
  addUserToGroup(accountId: string, groupName: string, userName: string, token?: RequestToken): Promise<Mutation<null>>;
  removeUserFromGroup(
    accountId: string,
    groupName: string,
    userName: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;

  createRole(accountId: string, input: CreateRoleInput): Promise<Mutation<RoleRecord>>;
  getRole(accountId: string, roleName: string): Promise<RoleRecord>;
  listRoles(accountId: string, page: PageInput): Promise<Page<RoleRecord>>;
  deleteRole(accountId: string, roleName: string, token?: RequestToken): Promise<Mutation<null>>;

  createPolicy(accountId: string, input: CreatePolicyInput): Promise<Mutation<ManagedPolicyRecord>>;
  getPolicy(accountId: string, policyArn: string): Promise<ManagedPolicyRecord>;
  /** The account's own policies (`Local`), the AWS managed ones (`AWS`), or both (`All`, the default). */
  listPolicies(
    accountId: string,
    page: PageInput & { onlyAttached?: boolean; scope?: PolicyScope | undefined },
  ): Promise<Page<ManagedPolicyRecord>>;
  /**
   * Deletes a policy and its default version; DeleteConflict (field `policyArn`) while it is attached,
   * is a permissions boundary, or still has non-default versions (delete those first, as in AWS).
   */
  deletePolicy(accountId: string, policyArn: string, token?: RequestToken): Promise<Mutation<null>>;
  createPolicyVersion(
    accountId: string,
    policyArn: string,
    input: { policyDocument: string; setAsDefault: boolean } & RequestToken,
  ): Promise<Mutation<PolicyVersionRecord>>;
  getPolicyVersion(accountId: string, policyArn: string, versionId: string): Promise<PolicyVersionRecord>;
  /** One page of the policy's versions, newest first; the marker is the last version's number. `pathPrefix` is ignored. */
  listPolicyVersions(accountId: string, policyArn: string, page: PageInput): Promise<Page<PolicyVersionRecord>>;
  setDefaultPolicyVersion(
    accountId: string,
    policyArn: string,
    versionId: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  deletePolicyVersion(
    accountId: string,
    policyArn: string,
    versionId: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;

  attachPolicy(
    accountId: string,
    principal: PrincipalRef,
    policyArn: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  detachPolicy(
    accountId: string,
    principal: PrincipalRef,
    policyArn: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /**
   * One page of the principal's attached policies whose path starts with `page.pathPrefix`; the
   * marker is the last policy's lower-cased name and owning account (a local policy may share its
   * name with an AWS managed one).
   */
  listAttachedPolicies(
    accountId: string,
    principal: PrincipalRef,
    page: PageInput,
  ): Promise<Page<AttachedPolicyRecord>>;

  putInlinePolicy(
    accountId: string,
    principal: PrincipalRef,
    policyName: string,
    policyDocument: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  getInlinePolicy(accountId: string, principal: PrincipalRef, policyName: string): Promise<InlinePolicyRecord>;
  /** One page of the principal's inline policy names; the marker is the last name. `pathPrefix` is ignored. */
  listInlinePolicies(accountId: string, principal: PrincipalRef, page: PageInput): Promise<Page<string>>;
  deleteInlinePolicy(
    accountId: string,
    principal: PrincipalRef,
    policyName: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;

  /** Sets (or with `null` removes) a user's or role's permissions boundary. */
  putPermissionsBoundary(
    accountId: string,
    principal: PrincipalRef,
    policyArn: string | null,
    token?: RequestToken,
  ): Promise<Mutation<null>>;

  /**
   * A new key for a user, or with `null` for the account root; each holds at most
   * `quotas.accessKeysPerUser` (LimitExceeded). The secret is returned here only.
   */
  createAccessKey(accountId: string, userName: string | null, token?: RequestToken): Promise<Mutation<NewAccessKey>>;
  updateAccessKey(
    accountId: string,
    userName: string | null,
    accessKeyId: string,
    status: AccessKeyStatus,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  deleteAccessKey(
    accountId: string,
    userName: string | null,
    accessKeyId: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /** A user's keys, or the root's with `null`. */
  listAccessKeys(accountId: string, userName: string | null): Promise<AccessKeyRecord[]>;
  /** The key with its decrypted secret, for SigV4 verification; `undefined` when unknown. */
  getAccessKeyCredential(accessKeyId: string): Promise<AccessKeyCredential | undefined>;
  /** Stamps "last used" (not replicated, no revision). */
  recordAccessKeyUse(accessKeyId: string, service: string, region: string): Promise<void>;

  /**
   * The account's full state at one revision, on one snapshot: the current revision, or a past
   * `atRevision` rebuilt from the outbox (InvalidInput when the account never had it, or when it is
   * below the account's outbox compaction horizon). Access keys' sealed secrets
   * (`secretCiphertext`) are left out unless `includeSealedSecrets` (for the operator only).
   */
  exportAccount(
    accountId: string,
    atRevision?: number,
    options?: { readonly includeSealedSecrets?: boolean },
  ): Promise<AccountExport>;

  /**
   * Every policy that applies to a user, for authorizing its calls: its inline and attached
   * policies and those of its groups (default versions), and its permissions boundary.
   */
  getUserPolicies(accountId: string, userId: string): Promise<PrincipalPolicies>;
}

/** A policy document with a name for explanations (ARN or `user/alice/inline-name`). */
export interface NamedPolicyDocument {
  readonly id: string;
  readonly document: string;
}

/** The policies of one principal, as the authorizer needs them. */
export interface PrincipalPolicies {
  readonly identityPolicies: NamedPolicyDocument[];
  readonly permissionsBoundary: NamedPolicyDocument | null;
  /** The principal's own tags, for `aws:PrincipalTag/…` (read in the same snapshot as its policies). */
  readonly principalTags: readonly TagRecord[];
}

/** Which managed policies ListPolicies returns, as AWS's `Scope`. */
export type PolicyScope = "All" | "AWS" | "Local";

const DEFAULT_PATH = "/";

/** AWS's aggregate inline-policy size quota for each kind of principal. */
const INLINE_CHARS_QUOTA: Readonly<Record<PrincipalKind, (q: StoreQuotas) => number>> = {
  user: (q) => q.inlinePolicyCharsPerUser,
  group: (q) => q.inlinePolicyCharsPerGroup,
  role: (q) => q.inlinePolicyCharsPerRole,
};

function limitExceeded(what: string, limit: number, field: string): IamError {
  return new IamError("LimitExceeded", `${what} (quota ${limit})`, { field });
}

async function count(q: Queryable, sql: string, params: unknown[]): Promise<number> {
  const r = await q.query<{ n: number }>(sql, params);
  return r.rows[0]?.n ?? 0;
}

// Queries shared by the unpaged and paged lists of a principal's groups and policies: rows strictly
// after the sort key `after` (from a marker; null: from the start), at most `limit` (null: all),
// ordered by that same sort key so markers resume exactly where the last page ended.

async function groupsOfUser(q: Queryable, userId: string, after: string | null, limit: number | null) {
  const r = await q.query<GroupRow>(
    `SELECT g.* FROM group_memberships m JOIN groups g ON g.group_id = m.group_id
     WHERE m.user_id = $1 AND ($2::text IS NULL OR lower(g.group_name) > $2) ORDER BY lower(g.group_name) LIMIT $3`,
    [userId, after, limit],
  );
  return r.rows;
}

async function versionsOf(
  q: Queryable,
  policyId: string,
  before: number | null,
  limit: number | null,
): Promise<PolicyVersionRecord[]> {
  // Version ids are `v<n>` with n growing per policy: newest first is highest n first.
  const r = await q.query<{ version_id: string; document: string; is_default: boolean; created_at: Date }>(
    `SELECT * FROM policy_versions WHERE policy_id = $1 AND ($2::int IS NULL OR substring(version_id FROM 2)::int < $2)
     ORDER BY substring(version_id FROM 2)::int DESC LIMIT $3`,
    [policyId, before, limit],
  );
  return r.rows.map((v) => ({
    versionId: v.version_id,
    document: v.document,
    isDefault: v.is_default,
    createdAtMs: v.created_at.getTime(),
  }));
}

async function attachedTo(
  q: Queryable,
  kind: PrincipalKind,
  principalId: string,
  p: { after: string | null; limit: number | null; pathLike: string },
): Promise<PolicyRow[]> {
  const [afterName = null, afterOwner = ""] = p.after === null ? [] : p.after.split("\n");
  const r = await q.query<PolicyRow>(
    `${POLICY_SELECT} JOIN policy_attachments a ON a.policy_id = p.policy_id
     WHERE a.${principalColumn(kind)} = $1 AND p.path LIKE $2
       AND ($3::text IS NULL OR (lower(p.policy_name), p.account_id) > ($3::text, $4::text))
     ORDER BY lower(p.policy_name), p.account_id LIMIT $5`,
    [principalId, p.pathLike, afterName, afterOwner, p.limit],
  );
  return r.rows;
}

async function inlinePolicyNames(
  q: Queryable,
  kind: PrincipalKind,
  principalId: string,
  after: string | null,
  limit: number | null,
): Promise<string[]> {
  const r = await q.query<{ policy_name: string }>(
    `SELECT policy_name FROM inline_policies WHERE ${principalColumn(kind)} = $1
       AND ($2::text IS NULL OR policy_name > $2) ORDER BY policy_name LIMIT $3`,
    [principalId, after, limit],
  );
  return r.rows.map((x) => x.policy_name);
}

/**
 * The state event of an AWS managed policy an account puts to use (attached, or as a permissions
 * boundary): such policies belong to no account's stream, so the account using one carries it.
 * A policy of the account's own is on its stream already: no event.
 */
async function carriedPolicy(q: Queryable, partition: string, policy: PolicyRow): Promise<OutboxEvent[]> {
  return policy.account_id === AWS_MANAGED_ACCOUNT ? [await policyState(q, partition, policy.policy_id)] : [];
}

/**
 * The counterpart of {@link carriedPolicy}, for a write that dropped references to `policyIds`
 * (detached, a boundary removed or replaced, its user or role deleted): a tombstone on the
 * account's stream for each of them that is AWS managed and no longer referenced anywhere in the
 * account. It means "this account no longer carries the policy", not that the policy is gone.
 * One query, run after the write's own statements.
 */
async function releasedPolicies(
  q: Queryable,
  accountId: string,
  policyIds: readonly (string | null)[],
): Promise<OutboxEvent[]> {
  const ids = policyIds.filter((id) => id !== null);
  if (ids.length === 0) return [];
  const r = await q.query<{ policy_id: string }>(
    `SELECT p.policy_id FROM managed_policies p
     WHERE p.policy_id = ANY($2::text[]) AND p.account_id = '${AWS_MANAGED_ACCOUNT}' AND NOT ${REFERENCED_IN_ACCOUNT}
     ORDER BY p.policy_id`,
    [accountId, ids],
  );
  return r.rows.map((x) => ({ kind: EntityKind.policy, id: x.policy_id, payload: null }));
}

function newSecret(): string {
  // 30 random bytes → 40 base64 characters, the length of AWS secret access keys.
  return randomBytes(30).toString("base64");
}

function newAccountId(): string {
  return String(randomInt(100_000_000_000, 1_000_000_000_000)).padStart(12, "0");
}

const ACCOUNT_ALIAS = /^[a-z0-9](-?[a-z0-9])*$/;

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
    writes: createWriteBatcher(pool, { concurrency: opts.writeConcurrency }),
  };
  const partition = opts.partition;
  const quotas = opts.quotas;

  const sealNewKey = async (
    q: Queryable,
    accountId: string,
    userId: string | null,
  ): Promise<{ accessKeyId: string; secret: string }> => {
    const accessKeyId = newId("accessKey");
    const secret = newSecret();
    await q.query(
      "INSERT INTO access_keys (access_key_id, account_id, user_id, secret_ciphertext) VALUES ($1, $2, $3, $4)",
      [accessKeyId, accountId, userId, box.seal(secret, accessKeyId)],
    );
    return { accessKeyId, secret };
  };

  /**
   * What a replayed create answers for a key: its current metadata and an EMPTY secret. AWS hands
   * a secret out exactly once, and a token is no credential: whoever holds it (a log line, a proxy)
   * must not get the secret again. A client whose first answer was lost learns the key id, so it
   * can delete that key and create another; it can tell a replay by the empty secret.
   */
  const replayedKey = async (q: Queryable, accessKeyId: string): Promise<NewAccessKey> => {
    const row = await findAccessKey(q, accessKeyId);
    if (row === undefined) {
      throw new IamError("NoSuchEntity", `access key ${accessKeyId} no longer exists`, { field: "accessKeyId" });
    }
    return { accessKey: toAccessKey(row), secretAccessKey: "" };
  };

  const userList = async (q: Queryable, where: string, params: unknown[]): Promise<UserRecord[]> =>
    (await q.query<UserRow>(`${USER_SELECT(partition)} ${where}`, params)).rows.map((r) => toUser(r, partition));

  const store: IamStore = {
    ...createTagStore(ctx),
    ...createAccountSettingsStore(ctx),
    ...createLoginProfileStore(ctx),
    ...createGuardrailStore(ctx),
    ...createMfaStore(ctx),
    ...createInstanceProfileStore(ctx),
    ...createOidcProviderStore(ctx),
    ...createOutboxCompactionStore(ctx),
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

    async createAccount(input) {
      const alias = input.alias === undefined || input.alias === "" ? null : input.alias;
      if (alias !== null && (alias.length < 3 || alias.length > 63 || !ACCOUNT_ALIAS.test(alias))) {
        throw new IamError("ValidationError", `accountAlias ${JSON.stringify(alias)} must be 3..63 of a-z, 0-9, -`, {
          field: "accountAlias",
        });
      }
      const token = requestTokenOf({ clientRequestToken: input.clientRequestToken, callerId: "operator" });
      const spec = {
        operation: "CreateAccount",
        request: { alias },
        save: (v: NewAccount) => ({
          account: v.account,
          rootArn: v.rootArn,
          accessKeyId: v.rootAccessKey.accessKey.accessKeyId,
        }),
        // A replay answers without the root's secret: it is returned once (see replayedKey).
        restore: async (q: Queryable, saved: unknown): Promise<NewAccount> => {
          const s = saved as { account: AccountRecord; rootArn: string; accessKeyId: string };
          return { account: s.account, rootArn: s.rootArn, rootAccessKey: await replayedKey(q, s.accessKeyId) };
        },
      };
      const client = await pool.connect().catch((e: unknown) => {
        throw translatePgError(e, "CreateAccount");
      });
      try {
        await client.query("BEGIN");
        if (token !== undefined) {
          await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`gatehouse-token:operator:${token.token}`]);
          const replay = await replayToken<NewAccount>(
            client,
            "operator",
            token,
            spec,
            requestHash(spec.operation, spec.request),
          );
          if (replay !== undefined) {
            await client.query("ROLLBACK");
            return { ...replay, accountId: replay.value.account.accountId };
          }
        }
        let accountId = newAccountId();
        while (
          (await count(client, "SELECT count(*)::int AS n FROM accounts WHERE account_id = $1", [accountId])) > 0
        ) {
          accountId = newAccountId();
        }
        const inserted = await client.query<{ created_at: Date }>(
          "INSERT INTO accounts (account_id, alias, revision) VALUES ($1, $2, 1) RETURNING created_at",
          [accountId, alias],
        );
        const key = await sealNewKey(client, accountId, null);
        const revision = 1;
        await writeOutbox(client, accountId, revision, [
          await accountState(client, accountId),
          await accessKeyState(client, partition, key.accessKeyId),
        ]);
        const account: AccountRecord = {
          accountId,
          alias,
          revision,
          createdAtMs: inserted.rows[0]?.created_at.getTime() ?? opts.clock.now(),
        };
        const value: NewAccount = {
          account,
          rootArn: `arn:${partition}:iam::${accountId}:root`,
          rootAccessKey: {
            accessKey: toAccessKey((await findAccessKey(client, key.accessKeyId)) as AccessKeyRow),
            secretAccessKey: key.secret,
          },
        };
        if (token !== undefined) {
          await client.query(
            `INSERT INTO idempotency_tokens (scope, caller, token, operation, request_hash, response, expires_at)
             VALUES ('operator', $1, $2, $3, $4, $5, now() + gh_token_ttl())`,
            [
              token.caller,
              token.token,
              spec.operation,
              requestHash(spec.operation, spec.request),
              JSON.stringify({ value: spec.save(value), revision }),
            ],
          );
        }
        await client.query("SELECT pg_notify($1, $2)", [ctx.channel, accountId]);
        await client.query("COMMIT");
        return { value, accountId, revision };
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw translatePgError(e, "CreateAccount");
      } finally {
        client.release();
      }
    },

    getAccount: (accountId) =>
      read(ctx, "GetAccount", async (q) => {
        const r = await q.query<{ account_id: string; alias: string | null; revision: string; created_at: Date }>(
          "SELECT * FROM accounts WHERE account_id = $1",
          [accountId],
        );
        const row = r.rows[0];
        if (row === undefined) {
          throw new IamError("NoSuchEntity", `account ${JSON.stringify(accountId)} does not exist`, {
            field: "accountId",
          });
        }
        return {
          accountId: row.account_id,
          alias: row.alias,
          revision: Number(row.revision),
          createdAtMs: row.created_at.getTime(),
        };
      }),

    // ---- users ----
    // One SQL function call each (migration 0013): the busiest writes, in one round trip.
    // Checks made here first fail through failInOrder, in the order mutate() writes check.
    createUser: async (accountId, input) => {
      const spec = {
        operation: "CreateUser",
        request: { ...input, clientRequestToken: undefined, callerId: undefined },
        ...tokenSpec(input),
      };
      const boundaryArn = input.permissionsBoundaryArn || null;
      let boundary: PolicyArnParts | null;
      try {
        boundary =
          boundaryArn === null ? null : parsePolicyArn(partition, accountId, boundaryArn, "permissionsBoundaryArn");
      } catch (e) {
        return failInOrder<UserRecord>(ctx, accountId, spec, e);
      }
      try {
        checkTagQuota(input.tags, quotas.tagsPerEntity);
      } catch (e) {
        // The boundary is looked up before the tags are counted.
        return failInOrder<UserRecord>(ctx, accountId, spec, e, (q) =>
          boundaryArn === null
            ? Promise.resolve()
            : findPolicyByArn(q, partition, accountId, boundaryArn, "permissionsBoundaryArn"),
        );
      }
      return callWrite<UserRecord>(ctx, accountId, spec, "gh_create_user", [
        newId("user"),
        input.userName,
        input.path || DEFAULT_PATH,
        tagsJson(input.tags),
        boundary?.accountId ?? null,
        boundary?.path ?? null,
        boundary?.name ?? null,
        boundaryArn,
        quotas.usersPerAccount,
      ]);
    },

    getUser: (accountId, userName) =>
      read(ctx, "GetUser", async (q) => toUser(await findUser(q, partition, accountId, userName), partition)),

    listUsers: (accountId, page) =>
      read(ctx, "ListUsers", async (q) => {
        const p = pageQuery(page);
        const items = await userList(
          q,
          `WHERE u.account_id = $1 AND ($2::text IS NULL OR lower(u.user_name) > $2) AND u.path LIKE $3
           ORDER BY lower(u.user_name) LIMIT $4`,
          [accountId, p.after, p.pathLike, p.limit + 1],
        );
        return toPage(items, p.limit, (u) => u.userName.toLowerCase());
      }),

    deleteUser: (accountId, userName, token) =>
      mutate(ctx, accountId, { operation: "DeleteUser", request: { userName }, ...tokenSpec(token) }, async (q) => {
        const user = await findUser(q, partition, accountId, userName);
        await assertNoDependents(q, { kind: "user", name: userName, id: user.user_id, field: "userName" }, [
          { label: "access keys", table: "access_keys", column: "user_id" },
          { label: "group memberships", table: "group_memberships", column: "user_id" },
          { label: "attached policies", table: "policy_attachments", column: "user_id" },
          { label: "inline policies", table: "inline_policies", column: "user_id" },
        ]);
        await q.query("DELETE FROM users WHERE user_id = $1", [user.user_id]);
        // The quota's count, kept by its writers under the account lock (migration 0016).
        await q.query("UPDATE accounts SET user_count = user_count - 1 WHERE account_id = $1", [accountId]);
        // AWS deletes a user with its permissions boundary (attachments must be gone already).
        const released = await releasedPolicies(q, accountId, [user.permissions_boundary_id]);
        return { value: null, events: [await userState(q, partition, user.user_id), ...released] };
      }),

    // ---- groups ----
    createGroup: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreateGroup",
          request: { groupName: input.groupName, path: input.path },
          ...tokenSpec(input),
        },
        async (q) => {
          const groupId = newId("group");
          const r = await q.query<GroupRow>(
            `INSERT INTO groups (group_id, account_id, group_name, path) SELECT $1::text, $2::text, $3::text, $4::text
             WHERE (SELECT count(*) FROM groups WHERE account_id = $2) < $5 RETURNING *`,
            [groupId, accountId, input.groupName, input.path || DEFAULT_PATH, quotas.groupsPerAccount],
          );
          const row = r.rows[0];
          if (row === undefined) {
            throw limitExceeded("too many groups in the account", quotas.groupsPerAccount, "groupName");
          }
          return { value: toGroup(row, partition), events: [await groupState(q, partition, groupId)] };
        },
      ),

    getGroup: (accountId, groupName) =>
      read(ctx, "GetGroup", async (q) => toGroup(await findGroup(q, accountId, groupName), partition)),

    listGroups: (accountId, page) =>
      read(ctx, "ListGroups", async (q) => {
        const p = pageQuery(page);
        const r = await q.query<GroupRow>(
          `SELECT * FROM groups WHERE account_id = $1 AND ($2::text IS NULL OR lower(group_name) > $2) AND path LIKE $3
           ORDER BY lower(group_name) LIMIT $4`,
          [accountId, p.after, p.pathLike, p.limit + 1],
        );
        return toPage(
          r.rows.map((g) => toGroup(g, partition)),
          p.limit,
          (g) => g.groupName.toLowerCase(),
        );
      }),

    listGroupsForUser: (accountId, userName, page) =>
      read(ctx, "ListGroupsForUser", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        const user = await findUser(q, partition, accountId, userName);
        const rows = await groupsOfUser(q, user.user_id, p.after, p.limit + 1);
        return toPage(
          rows.map((g) => toGroup(g, partition)),
          p.limit,
          (g) => g.groupName.toLowerCase(),
        );
      }),

    listUsersInGroup: (accountId, groupName) =>
      read(ctx, "GetGroup", async (q) => {
        const group = await findGroup(q, accountId, groupName);
        return userList(
          q,
          "JOIN group_memberships m ON m.user_id = u.user_id WHERE m.group_id = $1 ORDER BY lower(u.user_name)",
          [group.group_id],
        );
      }),

    deleteGroup: (accountId, groupName, token) =>
      mutate(ctx, accountId, { operation: "DeleteGroup", request: { groupName }, ...tokenSpec(token) }, async (q) => {
        const group = await findGroup(q, accountId, groupName);
        await assertNoDependents(q, { kind: "group", name: groupName, id: group.group_id, field: "groupName" }, [
          { label: "members", table: "group_memberships", column: "group_id" },
          { label: "attached policies", table: "policy_attachments", column: "group_id" },
          { label: "inline policies", table: "inline_policies", column: "group_id" },
        ]);
        await q.query("DELETE FROM groups WHERE group_id = $1", [group.group_id]);
        return { value: null, events: [await groupState(q, partition, group.group_id)] };
      }),

    addUserToGroup: (accountId, groupName, userName, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "AddUserToGroup", request: { groupName, userName }, ...tokenSpec(token) },
        async (q) => {
          const group = await findGroup(q, accountId, groupName);
          const user = await findUser(q, partition, accountId, userName);
          const inserted = await q.query(
            "INSERT INTO group_memberships (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [group.group_id, user.user_id],
          );
          // Already a member: AWS answers success and nothing changes.
          if (inserted.rowCount === 0) return { value: null, events: [] };
          const n = await count(q, "SELECT count(*)::int AS n FROM group_memberships WHERE user_id = $1", [
            user.user_id,
          ]);
          if (n > quotas.groupsPerUser) {
            throw limitExceeded(
              `user ${JSON.stringify(userName)} is already in too many groups`,
              quotas.groupsPerUser,
              "groupName",
            );
          }
          return { value: null, events: [await userState(q, partition, user.user_id)] };
        },
      ),

    removeUserFromGroup: (accountId, groupName, userName, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "RemoveUserFromGroup", request: { groupName, userName }, ...tokenSpec(token) },
        async (q) => {
          const group = await findGroup(q, accountId, groupName);
          const user = await findUser(q, partition, accountId, userName);
          const r = await q.query("DELETE FROM group_memberships WHERE group_id = $1 AND user_id = $2", [
            group.group_id,
            user.user_id,
          ]);
          if (r.rowCount === 0) {
            throw new IamError(
              "NoSuchEntity",
              `user ${JSON.stringify(userName)} is not in group ${JSON.stringify(groupName)}`,
              {
                field: "userName",
              },
            );
          }
          return { value: null, events: [await userState(q, partition, user.user_id)] };
        },
      ),

    // ---- roles ----
    createRole: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreateRole",
          request: { ...input, clientRequestToken: undefined, callerId: undefined },
          ...tokenSpec(input),
        },
        async (q) => {
          const boundary =
            input.permissionsBoundaryArn === undefined || input.permissionsBoundaryArn === ""
              ? null
              : await findPolicyByArn(q, partition, accountId, input.permissionsBoundaryArn, "permissionsBoundaryArn");
          checkTagQuota(input.tags, quotas.tagsPerEntity);
          const roleId = newId("role");
          const inserted = await q.query(
            `INSERT INTO roles (role_id, account_id, role_name, path, trust_policy, description, max_session_duration, tags,
               permissions_boundary_id)
             SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::int, $8::jsonb, $9::text
             WHERE (SELECT count(*) FROM roles WHERE account_id = $2) < $10`,
            [
              roleId,
              accountId,
              input.roleName,
              input.path || DEFAULT_PATH,
              input.assumeRolePolicyDocument,
              input.description ?? "",
              input.maxSessionDuration || 3600,
              tagsJson(input.tags),
              boundary?.policy_id ?? null,
              quotas.rolesPerAccount,
            ],
          );
          if (inserted.rowCount === 0)
            throw limitExceeded("too many roles in the account", quotas.rolesPerAccount, "roleName");
          const event = await roleState(q, partition, roleId);
          const {
            attachedPolicies: _a,
            inlinePolicies: _i,
            ...role
          } = event.payload as RoleRecord & {
            attachedPolicies: unknown;
            inlinePolicies: unknown;
          };
          const carried = boundary === null ? [] : await carriedPolicy(q, partition, boundary);
          return { value: role, events: [event, ...carried] };
        },
      ),

    getRole: (accountId, roleName) =>
      read(ctx, "GetRole", async (q) => toRole(await findRole(q, partition, accountId, roleName), partition)),

    listRoles: (accountId, page) =>
      read(ctx, "ListRoles", async (q) => {
        const p = pageQuery(page);
        const r = await q.query<RoleRow>(
          `${ROLE_SELECT(partition)} WHERE r.account_id = $1 AND ($2::text IS NULL OR lower(r.role_name) > $2)
           AND r.path LIKE $3 ORDER BY lower(r.role_name) LIMIT $4`,
          [accountId, p.after, p.pathLike, p.limit + 1],
        );
        return toPage(
          r.rows.map((x) => toRole(x, partition)),
          p.limit,
          (x) => x.roleName.toLowerCase(),
        );
      }),

    deleteRole: (accountId, roleName, token) =>
      mutate(ctx, accountId, { operation: "DeleteRole", request: { roleName }, ...tokenSpec(token) }, async (q) => {
        const role = await findRole(q, partition, accountId, roleName);
        await assertNoDependents(q, { kind: "role", name: roleName, id: role.role_id, field: "roleName" }, [
          { label: "attached policies", table: "policy_attachments", column: "role_id" },
          { label: "inline policies", table: "inline_policies", column: "role_id" },
          { label: "instance profiles", table: "instance_profiles", column: "role_id" },
        ]);
        await q.query("DELETE FROM roles WHERE role_id = $1", [role.role_id]);
        // As for users: the role's permissions boundary goes with it.
        const released = await releasedPolicies(q, accountId, [role.permissions_boundary_id]);
        return { value: null, events: [await roleState(q, partition, role.role_id), ...released] };
      }),

    // ---- managed policies ----
    createPolicy: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreatePolicy",
          request: { ...input, clientRequestToken: undefined, callerId: undefined },
          ...tokenSpec(input),
        },
        async (q) => {
          const policyId = newId("managedPolicy");
          const inserted = await q.query(
            `WITH p AS (
               INSERT INTO managed_policies (policy_id, account_id, policy_name, path, description)
               SELECT $1::text, $2::text, $3::text, $4::text, $5::text
               WHERE (SELECT count(*) FROM managed_policies WHERE account_id = $2) < $7 RETURNING policy_id)
             INSERT INTO policy_versions (policy_id, version_id, document, is_default) SELECT policy_id, 'v1', $6, true FROM p`,
            [
              policyId,
              accountId,
              input.policyName,
              input.path || DEFAULT_PATH,
              input.description ?? "",
              input.policyDocument,
              quotas.managedPoliciesPerAccount,
            ],
          );
          if (inserted.rowCount === 0) {
            throw limitExceeded(
              "too many managed policies in the account",
              quotas.managedPoliciesPerAccount,
              "policyName",
            );
          }
          const event = await policyState(q, partition, policyId);
          const { versions: _v, ...policy } = event.payload as Omit<
            ManagedPolicyRecord,
            "attachmentCount" | "permissionsBoundaryUsageCount"
          > & { versions: unknown };
          return { value: { ...policy, attachmentCount: 0, permissionsBoundaryUsageCount: 0 }, events: [event] };
        },
      ),

    getPolicy: (accountId, policyArn) =>
      read(ctx, "GetPolicy", async (q) =>
        toPolicy(await findPolicyByArn(q, partition, accountId, policyArn), partition),
      ),

    listPolicies: (accountId, page) =>
      read(ctx, "ListPolicies", async (q) => {
        const p = pageQuery(page);
        const scope = page.scope ?? "All";
        const owners =
          scope === "AWS" ? [AWS_MANAGED_ACCOUNT] : scope === "Local" ? [accountId] : [accountId, AWS_MANAGED_ACCOUNT];
        // A local policy may share a name with an AWS one: the marker is name and owner.
        const [afterName = null, afterOwner = ""] = p.after === null ? [] : p.after.split("\n");
        const r = await q.query<PolicyRow>(
          `SELECT * FROM (${POLICY_SELECT_IN("$1")} WHERE p.account_id = ANY($6::text[])) p
           WHERE ($2::text IS NULL OR (lower(p.policy_name), p.account_id) > ($2::text, $7::text)) AND p.path LIKE $3
             AND (NOT $5 OR p.attachment_count > 0)
           ORDER BY lower(p.policy_name), p.account_id LIMIT $4`,
          [accountId, afterName, p.pathLike, p.limit + 1, page.onlyAttached === true, owners, afterOwner],
        );
        return toPage(
          r.rows.map((x) => toPolicy(x, partition)),
          p.limit,
          (x) => `${x.policyName.toLowerCase()}\n${x.accountId}`,
        );
      }),

    deletePolicy: (accountId, policyArn, token) =>
      mutate(ctx, accountId, { operation: "DeletePolicy", request: { policyArn }, ...tokenSpec(token) }, async (q) => {
        const policy = await findPolicyByArn(q, partition, accountId, policyArn, "policyArn", "write");
        // As in AWS: detach it everywhere, stop using it as a boundary and delete its non-default
        // versions (DeletePolicyVersion) first; only the default version goes with the policy.
        await assertNoDependents(q, { kind: "policy", name: policyArn, id: policy.policy_id, field: "policyArn" }, [
          { label: "attachments", table: "policy_attachments", column: "policy_id" },
          { label: "users with it as permissions boundary", table: "users", column: "permissions_boundary_id" },
          { label: "roles with it as permissions boundary", table: "roles", column: "permissions_boundary_id" },
          { label: "non-default versions", table: "policy_versions", column: "policy_id", where: "NOT is_default" },
        ]);
        await q.query("DELETE FROM managed_policies WHERE policy_id = $1", [policy.policy_id]);
        return { value: null, events: [await policyState(q, partition, policy.policy_id)] };
      }),

    createPolicyVersion: (accountId, policyArn, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreatePolicyVersion",
          request: { policyArn, policyDocument: input.policyDocument, setAsDefault: input.setAsDefault },
          ...tokenSpec(input),
        },
        async (q) => {
          const policy = await findPolicyByArn(q, partition, accountId, policyArn, "policyArn", "write");
          const n = await count(q, "SELECT count(*)::int AS n FROM policy_versions WHERE policy_id = $1", [
            policy.policy_id,
          ]);
          if (n >= 5) {
            throw new IamError(
              "LimitExceeded",
              `policy ${policyArn} already has 5 versions; delete a non-default version first`,
              { field: "policyArn" },
            );
          }
          const versionId = `v${policy.next_version}`;
          if (input.setAsDefault) {
            await q.query("UPDATE policy_versions SET is_default = false WHERE policy_id = $1 AND is_default", [
              policy.policy_id,
            ]);
          }
          const v = await q.query<{ created_at: Date }>(
            "INSERT INTO policy_versions (policy_id, version_id, document, is_default) VALUES ($1, $2, $3, $4) RETURNING created_at",
            [policy.policy_id, versionId, input.policyDocument, input.setAsDefault],
          );
          await q.query(
            `UPDATE managed_policies SET next_version = next_version + 1, updated_at = now(),
               default_version_id = CASE WHEN $2 THEN $3 ELSE default_version_id END WHERE policy_id = $1`,
            [policy.policy_id, input.setAsDefault, versionId],
          );
          return {
            value: {
              versionId,
              document: input.policyDocument,
              isDefault: input.setAsDefault,
              createdAtMs: v.rows[0]?.created_at.getTime() ?? 0,
            },
            events: [await policyState(q, partition, policy.policy_id)],
          };
        },
      ),

    getPolicyVersion: (accountId, policyArn, versionId) =>
      read(ctx, "GetPolicyVersion", async (q) => {
        const policy = await findPolicyByArn(q, partition, accountId, policyArn);
        const r = await q.query<{ version_id: string; document: string; is_default: boolean; created_at: Date }>(
          "SELECT * FROM policy_versions WHERE policy_id = $1 AND version_id = $2",
          [policy.policy_id, versionId],
        );
        const v = r.rows[0];
        if (v === undefined) {
          throw new IamError("NoSuchEntity", `policy ${policyArn} has no version ${JSON.stringify(versionId)}`, {
            field: "versionId",
          });
        }
        return {
          versionId: v.version_id,
          document: v.document,
          isDefault: v.is_default,
          createdAtMs: v.created_at.getTime(),
        };
      }),

    listPolicyVersions: (accountId, policyArn, page) =>
      read(ctx, "ListPolicyVersions", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        // The marker is a version number; anything else was not made by us.
        if (p.after !== null && !/^[0-9]{1,9}$/.test(p.after)) {
          throw new IamError("InvalidInput", `marker ${JSON.stringify(page.marker)} is not valid`, { field: "marker" });
        }
        const policy = await findPolicyByArn(q, partition, accountId, policyArn);
        const versions = await versionsOf(q, policy.policy_id, p.after === null ? null : Number(p.after), p.limit + 1);
        return toPage(versions, p.limit, (v) => v.versionId.slice(1));
      }),

    setDefaultPolicyVersion: (accountId, policyArn, versionId, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "SetDefaultPolicyVersion", request: { policyArn, versionId }, ...tokenSpec(token) },
        async (q) => {
          const policy = await findPolicyByArn(q, partition, accountId, policyArn, "policyArn", "write");
          if (policy.default_version_id === versionId) return { value: null, events: [] };
          await q.query("UPDATE policy_versions SET is_default = false WHERE policy_id = $1 AND is_default", [
            policy.policy_id,
          ]);
          const r = await q.query(
            "UPDATE policy_versions SET is_default = true WHERE policy_id = $1 AND version_id = $2",
            [policy.policy_id, versionId],
          );
          if (r.rowCount === 0) {
            throw new IamError("NoSuchEntity", `policy ${policyArn} has no version ${JSON.stringify(versionId)}`, {
              field: "versionId",
            });
          }
          await q.query(
            "UPDATE managed_policies SET default_version_id = $2, updated_at = now() WHERE policy_id = $1",
            [policy.policy_id, versionId],
          );
          return { value: null, events: [await policyState(q, partition, policy.policy_id)] };
        },
      ),

    deletePolicyVersion: (accountId, policyArn, versionId, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeletePolicyVersion", request: { policyArn, versionId }, ...tokenSpec(token) },
        async (q) => {
          const policy = await findPolicyByArn(q, partition, accountId, policyArn, "policyArn", "write");
          if (policy.default_version_id === versionId) {
            throw new IamError("DeleteConflict", `version ${versionId} is the default version of ${policyArn}`, {
              field: "versionId",
            });
          }
          const r = await q.query("DELETE FROM policy_versions WHERE policy_id = $1 AND version_id = $2", [
            policy.policy_id,
            versionId,
          ]);
          if (r.rowCount === 0) {
            throw new IamError("NoSuchEntity", `policy ${policyArn} has no version ${JSON.stringify(versionId)}`, {
              field: "versionId",
            });
          }
          return { value: null, events: [await policyState(q, partition, policy.policy_id)] };
        },
      ),

    // ---- attachments ----
    attachPolicy: async (accountId, principal, policyArn, token) => {
      const spec = { operation: "AttachPolicy", request: { principal, policyArn }, ...tokenSpec(token) };
      let policy: PolicyArnParts;
      try {
        policy = parsePolicyArn(partition, accountId, policyArn);
      } catch (e) {
        // The principal is looked up before the policy, as DetachPolicy does.
        return failInOrder<null>(ctx, accountId, spec, e, (q) => findPrincipalId(q, partition, accountId, principal));
      }
      return callWrite<null>(ctx, accountId, spec, "gh_attach_policy", [
        principal.kind,
        principal.name,
        policy.accountId,
        policy.path,
        policy.name,
        policyArn,
        quotas.attachedPoliciesPerEntity,
      ]);
    },

    detachPolicy: (accountId, principal, policyArn, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DetachPolicy", request: { principal, policyArn }, ...tokenSpec(token) },
        async (q) => {
          const id = await findPrincipalId(q, partition, accountId, principal);
          const policy = await findPolicyByArn(q, partition, accountId, policyArn);
          const col = principalColumn(principal.kind);
          const r = await q.query(`DELETE FROM policy_attachments WHERE ${col} = $1 AND policy_id = $2`, [
            id,
            policy.policy_id,
          ]);
          if (r.rowCount === 0) {
            throw new IamError(
              "NoSuchEntity",
              `policy ${policyArn} is not attached to ${principal.kind} ${JSON.stringify(principal.name)}`,
              { field: "policyArn" },
            );
          }
          // Only an AWS managed policy can leave the account's state by being detached.
          const released =
            policy.account_id === AWS_MANAGED_ACCOUNT ? await releasedPolicies(q, accountId, [policy.policy_id]) : [];
          return { value: null, events: [await principalState(q, partition, principal.kind, id), ...released] };
        },
      ),

    listAttachedPolicies: (accountId, principal, page) =>
      read(ctx, "ListAttachedPolicies", async (q) => {
        const p = pageQuery(page);
        const id = await findPrincipalId(q, partition, accountId, principal);
        const rows = await attachedTo(q, principal.kind, id, { ...p, limit: p.limit + 1 });
        const cut = toPage(rows, p.limit, (x) => `${x.policy_name.toLowerCase()}\n${x.account_id}`);
        return {
          ...cut,
          items: cut.items.map((x) => ({ policyArn: toPolicy(x, partition).arn, policyName: x.policy_name })),
        };
      }),

    // ---- inline policies ----
    putInlinePolicy: (accountId, principal, policyName, policyDocument, token) =>
      callWrite<null>(
        ctx,
        accountId,
        {
          operation: "PutInlinePolicy",
          request: { principal, policyName, policyDocument },
          ...tokenSpec(token),
        },
        "gh_put_inline_policy",
        [
          principal.kind,
          principal.name,
          policyName,
          policyDocument,
          quotas.inlinePoliciesPerEntity,
          INLINE_CHARS_QUOTA[principal.kind](quotas),
        ],
      ),

    getInlinePolicy: (accountId, principal, policyName) =>
      read(ctx, "GetInlinePolicy", async (q) => {
        const id = await findPrincipalId(q, partition, accountId, principal);
        const r = await q.query<{ document: string }>(
          `SELECT document FROM inline_policies WHERE ${principalColumn(principal.kind)} = $1 AND policy_name = $2`,
          [id, policyName],
        );
        const row = r.rows[0];
        if (row === undefined) {
          throw new IamError(
            "NoSuchEntity",
            `${principal.kind} ${JSON.stringify(principal.name)} has no inline policy ${JSON.stringify(policyName)}`,
            { field: "policyName" },
          );
        }
        return { principal, policyName, document: row.document };
      }),

    listInlinePolicies: (accountId, principal, page) =>
      read(ctx, "ListInlinePolicies", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        const id = await findPrincipalId(q, partition, accountId, principal);
        return toPage(await inlinePolicyNames(q, principal.kind, id, p.after, p.limit + 1), p.limit, (name) => name);
      }),

    deleteInlinePolicy: (accountId, principal, policyName, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteInlinePolicy", request: { principal, policyName }, ...tokenSpec(token) },
        async (q) => {
          const id = await findPrincipalId(q, partition, accountId, principal);
          const r = await q.query(
            `DELETE FROM inline_policies WHERE ${principalColumn(principal.kind)} = $1 AND policy_name = $2`,
            [id, policyName],
          );
          if (r.rowCount === 0) {
            throw new IamError(
              "NoSuchEntity",
              `${principal.kind} ${JSON.stringify(principal.name)} has no inline policy ${JSON.stringify(policyName)}`,
              { field: "policyName" },
            );
          }
          return { value: null, events: [await principalState(q, partition, principal.kind, id)] };
        },
      ),

    // ---- permissions boundaries ----
    putPermissionsBoundary: (accountId, principal, policyArn, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "PutPermissionsBoundary", request: { principal, policyArn }, ...tokenSpec(token) },
        async (q) => {
          if (principal.kind === "group") {
            throw new IamError("InvalidInput", "permissions boundaries apply to users and roles, not groups", {
              field: "entityType",
            });
          }
          // Read under the account lock: its boundary is the one this write replaces.
          const row =
            principal.kind === "user"
              ? await findUser(q, partition, accountId, principal.name)
              : await findRole(q, partition, accountId, principal.name);
          const id = "user_id" in row ? row.user_id : row.role_id;
          const policy =
            policyArn === null
              ? null
              : await findPolicyByArn(q, partition, accountId, policyArn, "permissionsBoundaryArn");
          const table = principal.kind === "user" ? "users" : "roles";
          const col = principalColumn(principal.kind);
          const r = await q.query(
            `UPDATE ${table} SET permissions_boundary_id = $2 WHERE ${col} = $1 AND permissions_boundary_id IS DISTINCT FROM $2`,
            [id, policy?.policy_id ?? null],
          );
          if (r.rowCount === 0) {
            if (policy === null) {
              throw new IamError(
                "NoSuchEntity",
                `${principal.kind} ${JSON.stringify(principal.name)} has no permissions boundary`,
                {
                  field: "entityName",
                },
              );
            }
            return { value: null, events: [] };
          }
          const carried = policy === null ? [] : await carriedPolicy(q, partition, policy);
          const released = await releasedPolicies(q, accountId, [row.permissions_boundary_id]);
          return {
            value: null,
            events: [await principalState(q, partition, principal.kind, id), ...carried, ...released],
          };
        },
      ),

    // ---- access keys ----
    createAccessKey: (accountId, userName, token) =>
      mutate<NewAccessKey>(
        ctx,
        accountId,
        {
          operation: "CreateAccessKey",
          request: { userName },
          ...tokenSpec(token),
          // The secret is neither kept with the token nor re-opened: a replay returns the key's
          // metadata with an empty secret (AWS returns a secret once; see replayedKey).
          save: (v) => ({ accessKeyId: v.accessKey.accessKeyId }),
          restore: (q, saved) => replayedKey(q, (saved as { accessKeyId: string }).accessKeyId),
        },
        async (q) => {
          const userId = userName === null ? null : (await findUser(q, partition, accountId, userName)).user_id;
          // The root's keys are the account's keys without a user; AWS allows the root two as well.
          const n = await count(
            q,
            "SELECT count(*)::int AS n FROM access_keys WHERE account_id = $1 AND user_id IS NOT DISTINCT FROM $2",
            [accountId, userId],
          );
          if (n >= quotas.accessKeysPerUser) {
            throw limitExceeded(
              `${userName === null ? "the account root" : `user ${JSON.stringify(userName)}`} already has the maximum of access keys`,
              quotas.accessKeysPerUser,
              "userName",
            );
          }
          const key = await sealNewKey(q, accountId, userId);
          return {
            value: {
              accessKey: toAccessKey((await findAccessKey(q, key.accessKeyId)) as AccessKeyRow),
              secretAccessKey: key.secret,
            },
            events: [await accessKeyState(q, partition, key.accessKeyId)],
          };
        },
      ),

    updateAccessKey: (accountId, userName, accessKeyId, status, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "UpdateAccessKey",
          request: { userName, accessKeyId, status },
          ...tokenSpec(token),
        },
        async (q) => {
          const row = await ownedKey(q, accountId, userName, accessKeyId);
          if (row.status === status) return { value: null, events: [] };
          await q.query("UPDATE access_keys SET status = $2 WHERE access_key_id = $1", [accessKeyId, status]);
          return { value: null, events: [await accessKeyState(q, partition, accessKeyId)] };
        },
      ),

    deleteAccessKey: (accountId, userName, accessKeyId, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteAccessKey", request: { userName, accessKeyId }, ...tokenSpec(token) },
        async (q) => {
          await ownedKey(q, accountId, userName, accessKeyId);
          await q.query("DELETE FROM access_keys WHERE access_key_id = $1", [accessKeyId]);
          return { value: null, events: [await accessKeyState(q, partition, accessKeyId)] };
        },
      ),

    listAccessKeys: (accountId, userName) =>
      read(ctx, "ListAccessKeys", async (q) => {
        if (userName === null) {
          const r = await q.query<AccessKeyRow>(
            `${ACCESS_KEY_SELECT} WHERE k.account_id = $1 AND k.user_id IS NULL ORDER BY k.created_at`,
            [accountId],
          );
          return r.rows.map(toAccessKey);
        }
        const user = await findUser(q, partition, accountId, userName);
        const r = await q.query<AccessKeyRow>(`${ACCESS_KEY_SELECT} WHERE k.user_id = $1 ORDER BY k.created_at`, [
          user.user_id,
        ]);
        return r.rows.map(toAccessKey);
      }),

    getAccessKeyCredential: (accessKeyId) =>
      read(ctx, "GetAccessKeyCredential", async (q) => {
        const row = await findAccessKey(q, accessKeyId);
        if (row === undefined) return undefined;
        return {
          ...toAccessKey(row),
          secretAccessKey: box.open(row.secret_ciphertext, accessKeyId),
          principalArn:
            row.user_name === null || row.user_path === null
              ? `arn:${partition}:iam::${row.account_id}:root`
              : iamArn(row.account_id, "user", row.user_path, row.user_name, partition),
        };
      }),

    recordAccessKeyUse: (accessKeyId, service, region) =>
      read(ctx, "RecordAccessKeyUse", async (q) => {
        await q.query(
          "UPDATE access_keys SET last_used_at = now(), last_used_service = $2, last_used_region = $3 WHERE access_key_id = $1",
          [accessKeyId, service, region],
        );
      }),

    getUserPolicies: (accountId, userId) =>
      readSnapshot(ctx, "GetUserPolicies", async (q) => {
        const policyArn = `'arn:${partition}:iam::' || p.account_id || ':policy' || p.path || p.policy_name`;
        const r = await q.query<{ id: string; document: string; boundary: boolean }>(
          `SELECT 'inline:' || u.user_name || '/' || i.policy_name AS id, i.document, false AS boundary
             FROM inline_policies i JOIN users u ON u.user_id = i.user_id WHERE i.user_id = $2
           UNION ALL
           SELECT 'inline:' || g.group_name || '/' || i.policy_name, i.document, false
             FROM group_memberships m JOIN groups g ON g.group_id = m.group_id
             JOIN inline_policies i ON i.group_id = m.group_id WHERE m.user_id = $2
           UNION ALL
           SELECT ${policyArn}, v.document, false
             FROM policy_attachments a JOIN managed_policies p ON p.policy_id = a.policy_id
             JOIN policy_versions v ON v.policy_id = p.policy_id AND v.is_default
            WHERE a.user_id = $2 OR a.group_id IN (SELECT group_id FROM group_memberships WHERE user_id = $2)
           UNION ALL
           SELECT ${policyArn}, v.document, true
             FROM users u JOIN managed_policies p ON p.policy_id = u.permissions_boundary_id
             JOIN policy_versions v ON v.policy_id = p.policy_id AND v.is_default
            WHERE u.user_id = $2 AND u.account_id = $1`,
          [accountId, userId],
        );
        const boundary = r.rows.find((x) => x.boundary);
        const tags = await q.query<{ tags: TagRecord[] }>(
          "SELECT tags FROM users WHERE user_id = $2 AND account_id = $1",
          [accountId, userId],
        );
        return {
          identityPolicies: r.rows.filter((x) => !x.boundary).map((x) => ({ id: x.id, document: x.document })),
          permissionsBoundary: boundary === undefined ? null : { id: boundary.id, document: boundary.document },
          principalTags: tags.rows[0]?.tags ?? [],
        };
      }),

    exportAccount: async (accountId, atRevision, options) => {
      const exported = await exportAll(accountId, atRevision);
      return options?.includeSealedSecrets === true
        ? exported
        : { ...exported, entities: exported.entities.map(unsealed) };
    },
  };

  /** An exported entity without sealed material: an access key's state loses `secretCiphertext`. */
  function unsealed(e: ExportedEntity): ExportedEntity {
    if (e.kind !== EntityKind.accessKey || e.state === null || typeof e.state !== "object") return e;
    const { secretCiphertext: _, ...rest } = e.state as Record<string, unknown>;
    return { ...e, state: rest };
  }

  function exportAll(accountId: string, atRevision: number | undefined): Promise<AccountExport> {
    return readSnapshot(ctx, "ExportAccount", async (q) => {
      const account = await q.query<{ revision: string }>("SELECT revision FROM accounts WHERE account_id = $1", [
        accountId,
      ]);
      const row = account.rows[0];
      if (row === undefined) {
        throw new IamError("NoSuchEntity", `account ${JSON.stringify(accountId)} does not exist`, {
          field: "accountId",
        });
      }
      const current = Number(row.revision);
      if (atRevision !== undefined && atRevision !== current) {
        if (!Number.isSafeInteger(atRevision) || atRevision < 1 || atRevision > current) {
          throw new IamError(
            "InvalidInput",
            `atRevision ${atRevision} is not a revision of account ${accountId} (1..${current})`,
            { field: "atRevision" },
          );
        }
        await assertExportable(q, accountId, atRevision);
        return { accountId, revision: atRevision, entities: await entitiesAtRevision(q, accountId, atRevision) };
      }
      const ids = async (sql: string) => (await q.query<{ id: string }>(sql, [accountId])).rows.map((r) => r.id);
      const events: OutboxEvent[] = [await accountState(q, accountId)];
      // Its own policies, and the AWS managed ones it references (which its stream carries).
      for (const id of await ids(
        `SELECT policy_id AS id FROM managed_policies WHERE account_id = $1
           UNION ALL SELECT p.policy_id FROM managed_policies p
             WHERE p.account_id = '${AWS_MANAGED_ACCOUNT}' AND ${REFERENCED_IN_ACCOUNT}
           ORDER BY id`,
      )) {
        events.push(await policyState(q, partition, id));
      }
      for (const id of await ids("SELECT group_id AS id FROM groups WHERE account_id = $1 ORDER BY group_id")) {
        events.push(await groupState(q, partition, id));
      }
      for (const id of await ids("SELECT user_id AS id FROM users WHERE account_id = $1 ORDER BY user_id")) {
        events.push(await userState(q, partition, id));
      }
      for (const id of await ids("SELECT role_id AS id FROM roles WHERE account_id = $1 ORDER BY role_id")) {
        events.push(await roleState(q, partition, id));
      }
      for (const id of await ids(
        "SELECT access_key_id AS id FROM access_keys WHERE account_id = $1 ORDER BY access_key_id",
      )) {
        events.push(await accessKeyState(q, partition, id));
      }
      for (const id of await ids("SELECT user_id AS id FROM login_profiles WHERE account_id = $1 ORDER BY user_id")) {
        events.push(await loginProfileState(q, id));
      }
      for (const id of await ids(
        "SELECT serial_number AS id FROM mfa_devices WHERE account_id = $1 ORDER BY serial_number",
      )) {
        events.push(await mfaDeviceState(q, id));
      }
      for (const id of await ids(
        "SELECT instance_profile_id AS id FROM instance_profiles WHERE account_id = $1 ORDER BY instance_profile_id",
      )) {
        events.push(await instanceProfileState(q, partition, id));
      }
      for (const id of await ids("SELECT arn AS id FROM oidc_providers WHERE account_id = $1 ORDER BY arn")) {
        events.push(await oidcProviderState(q, id));
      }
      const entities: ExportedEntity[] = events.map((e) => ({ kind: e.kind, id: e.id, state: e.payload }));
      return { accountId, revision: Number(row.revision), entities };
    });
  }

  /**
   * An account's entities as they stood at a past revision, rebuilt from the outbox: every row
   * carries its entity's full state (or a tombstone), so the newest row per entity at or below the
   * revision is that entity's state then. Compaction keeps that newest row for every revision at or
   * above the account's horizon, which the caller checked.
   */
  async function entitiesAtRevision(q: Queryable, accountId: string, revision: number): Promise<ExportedEntity[]> {
    const r = await q.query<{ entity_kind: string; entity_id: string; payload: unknown }>(
      `SELECT * FROM (
         SELECT DISTINCT ON (entity_kind, entity_id) entity_kind, entity_id, payload
         FROM outbox WHERE account_id = $1 AND revision <= $2
         ORDER BY entity_kind, entity_id, revision DESC, id DESC) latest
       WHERE payload IS NOT NULL ORDER BY entity_kind, entity_id`,
      [accountId, revision],
    );
    return r.rows.map((x) => ({ kind: x.entity_kind, id: x.entity_id, state: x.payload }));
  }

  async function ownedKey(
    q: Queryable,
    accountId: string,
    userName: string | null,
    accessKeyId: string,
  ): Promise<AccessKeyRow> {
    const row = await findAccessKey(q, accessKeyId);
    const owner = userName === null ? null : (await findUser(q, partition, accountId, userName)).user_id;
    if (row === undefined || row.account_id !== accountId || row.user_id !== owner) {
      throw new IamError("NoSuchEntity", `access key ${JSON.stringify(accessKeyId)} does not exist for this user`, {
        field: "accessKeyId",
      });
    }
    return row;
  }

  return store;
}
