import { iamArn } from "@gatehouse/core";
import { EntityKind, type EntityStateOf } from "@gatehouse/events";
import { ACCESS_KEY_SELECT, type AccessKeyRow } from "./families/access-keys/access-key-rows.ts";
import { type PasswordPolicyRow, toPasswordPolicy } from "./families/accounts/password-policy.ts";
import type { OidcProviderRecord } from "./families/oidc-providers/oidc-provider-store.ts";
import type { PrincipalKind, TagRecord } from "./records.ts";
import type { OutboxEvent, Queryable } from "./tx.ts";

/**
 * Entity state documents: what the outbox and exports carry for each entity kind, complete enough
 * for a region to evaluate requests without asking the control plane anything. Users, groups and
 * roles embed their attached policy ARNs and inline policies; users list their groups; policies
 * carry every version; access keys carry their sealed secret (never the clear text).
 *
 * Their types are `@gatehouse/events`' (one strict schema per kind, which consumers decode with):
 * the documents built here are checked against them by the compiler, the ones the SQL functions
 * build (`gh_*_state`) by the store's integration test, which decodes every kind's outbox payload.
 */
export { EntityKind };

/** An outbox event of entity kind `K`, whose payload is that kind's state document or a tombstone. */
export interface StateEvent<K extends EntityKind> extends OutboxEvent {
  readonly kind: K;
  readonly payload: EntityStateOf<K> | null;
}

/**
 * One state document built by its SQL function (migration 0013), which the single-call writes use
 * too, so every writer emits the same document. `null` (a tombstone) when the entity is gone.
 */
async function stateOf<K extends "user" | "group" | "role" | "policy">(
  q: Queryable,
  fn: `gh_${K}_state`,
  kind: K,
  id: string,
  partition: string,
): Promise<StateEvent<K>> {
  const r = await q.query<{ state: EntityStateOf<K> | null }>(`SELECT ${fn}($1, $2) AS state`, [id, partition]);
  return { kind, id, payload: r.rows[0]?.state ?? null };
}

/** A user with its groups, attached policy ARNs and inline policies. */
export function userState(q: Queryable, partition: string, userId: string): Promise<StateEvent<"user">> {
  return stateOf(q, "gh_user_state", EntityKind.user, userId, partition);
}

/** A group with its attached policy ARNs and inline policies. */
export function groupState(q: Queryable, partition: string, groupId: string): Promise<StateEvent<"group">> {
  return stateOf(q, "gh_group_state", EntityKind.group, groupId, partition);
}

/** A role with its trust policy, attached policy ARNs and inline policies. */
export function roleState(q: Queryable, partition: string, roleId: string): Promise<StateEvent<"role">> {
  return stateOf(q, "gh_role_state", EntityKind.role, roleId, partition);
}

export async function principalState(
  q: Queryable,
  partition: string,
  kind: PrincipalKind,
  id: string,
): Promise<StateEvent<PrincipalKind>> {
  return kind === "user"
    ? userState(q, partition, id)
    : kind === "group"
      ? groupState(q, partition, id)
      : roleState(q, partition, id);
}

/** A managed policy with every version; attachment counts change with every attach, so left out. */
export function policyState(q: Queryable, partition: string, policyId: string): Promise<StateEvent<"policy">> {
  return stateOf(q, "gh_policy_state", EntityKind.policy, policyId, partition);
}

/**
 * The states of many managed policies in one query (the system stream carries all 1,594 AWS
 * managed policies at once), in the order of `policyIds`; a policy gone is a tombstone.
 */
export async function policyStates(
  q: Queryable,
  partition: string,
  policyIds: readonly string[],
): Promise<StateEvent<"policy">[]> {
  if (policyIds.length === 0) return [];
  const r = await q.query<{ id: string; state: EntityStateOf<"policy"> | null }>(
    "SELECT id, gh_policy_state(id, $2) AS state FROM unnest($1::text[]) WITH ORDINALITY AS x(id, n) ORDER BY n",
    [policyIds, partition],
  );
  return r.rows.map((row) => ({ kind: EntityKind.policy, id: row.id, payload: row.state }));
}

export async function accessKeyState(
  q: Queryable,
  partition: string,
  accessKeyId: string,
): Promise<StateEvent<"access-key">> {
  const r = await q.query<AccessKeyRow>(`${ACCESS_KEY_SELECT} WHERE k.access_key_id = $1`, [accessKeyId]);
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.accessKey, id: accessKeyId, payload: null };
  return {
    kind: EntityKind.accessKey,
    id: accessKeyId,
    payload: {
      accessKeyId: row.access_key_id,
      accountId: row.account_id,
      userId: row.user_id,
      userName: row.user_name,
      principalArn:
        row.user_name === null || row.user_path === null
          ? `arn:${partition}:iam::${row.account_id}:root`
          : iamArn(row.account_id, "user", row.user_path, row.user_name, partition),
      status: row.status,
      createdAtMs: row.created_at.getTime(),
      // Sealed with AES-256-GCM (AAD = access key id); regions holding the key can verify SigV4.
      secretCiphertext: row.secret_ciphertext.toString("base64"),
    },
  };
}

export async function accountState(q: Queryable, accountId: string): Promise<StateEvent<"account">> {
  const r = await q.query<{
    account_id: string;
    alias: string | null;
    created_at: Date;
    policy: PasswordPolicyRow | null;
    guardrails: { policyArn: string; document: string }[];
  }>(
    `SELECT a.account_id, a.alias, a.created_at, to_json(pp) AS policy,
       COALESCE((SELECT json_agg(json_build_object('policyArn', g.policy_arn, 'document', g.document) ORDER BY g.policy_arn)
         FROM account_guardrails g WHERE g.account_id = a.account_id), '[]') AS guardrails
     FROM accounts a LEFT JOIN password_policies pp ON pp.account_id = a.account_id WHERE a.account_id = $1`,
    [accountId],
  );
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.account, id: accountId, payload: null };
  return {
    kind: EntityKind.account,
    id: accountId,
    payload: {
      accountId: row.account_id,
      alias: row.alias,
      createdAtMs: row.created_at.getTime(),
      passwordPolicy: row.policy === null ? null : toPasswordPolicy(row.policy),
      guardrails: row.guardrails,
    },
  };
}

/** A user's login profile (id = user id): never the hash, which only the control plane needs. */
export async function loginProfileState(q: Queryable, userId: string): Promise<StateEvent<"login-profile">> {
  const r = await q.query<{
    account_id: string;
    user_name: string;
    password_reset_required: boolean;
    password_changed_at: Date;
    created_at: Date;
  }>(
    `SELECT l.account_id, u.user_name, l.password_reset_required, l.password_changed_at, l.created_at
     FROM login_profiles l JOIN users u ON u.user_id = l.user_id WHERE l.user_id = $1`,
    [userId],
  );
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.loginProfile, id: userId, payload: null };
  return {
    kind: EntityKind.loginProfile,
    id: userId,
    payload: {
      accountId: row.account_id,
      userId,
      userName: row.user_name,
      passwordResetRequired: row.password_reset_required,
      passwordChangedAtMs: row.password_changed_at.getTime(),
      createdAtMs: row.created_at.getTime(),
    },
  };
}

/** A virtual MFA device (id = serial number) with its seed sealed, never in clear. */
export async function mfaDeviceState(q: Queryable, serialNumber: string): Promise<StateEvent<"mfa-device">> {
  const r = await q.query<{
    account_id: string;
    path: string;
    device_name: string;
    user_id: string | null;
    user_name: string | null;
    enabled_at: Date | null;
    tags: TagRecord[];
    created_at: Date;
    seed_ciphertext: Buffer;
  }>(
    `SELECT d.account_id, d.path, d.device_name, d.user_id, u.user_name, d.enabled_at, d.tags, d.created_at,
            d.seed_ciphertext
     FROM mfa_devices d LEFT JOIN users u ON u.user_id = d.user_id WHERE d.serial_number = $1`,
    [serialNumber],
  );
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.mfaDevice, id: serialNumber, payload: null };
  return {
    kind: EntityKind.mfaDevice,
    id: serialNumber,
    payload: {
      serialNumber,
      accountId: row.account_id,
      path: row.path,
      deviceName: row.device_name,
      userId: row.user_id,
      userName: row.user_name,
      enabledAtMs: row.enabled_at?.getTime() ?? null,
      tags: row.tags,
      createdAtMs: row.created_at.getTime(),
      // Sealed (AAD = the serial number): regions check GetSessionToken's MFA codes with it.
      seedCiphertext: row.seed_ciphertext.toString("base64"),
    },
  };
}

/** An instance profile with the id, name and ARN of the role it holds (if any). */
export async function instanceProfileState(
  q: Queryable,
  partition: string,
  instanceProfileId: string,
): Promise<StateEvent<"instance-profile">> {
  const r = await q.query<{
    account_id: string;
    instance_profile_name: string;
    path: string;
    tags: { key: string; value: string }[];
    created_at: Date;
    role_id: string | null;
    role_name: string | null;
    role_path: string | null;
  }>(
    `SELECT p.account_id, p.instance_profile_name, p.path, p.tags, p.created_at, p.role_id, r.role_name, r.path AS role_path
     FROM instance_profiles p LEFT JOIN roles r ON r.role_id = p.role_id WHERE p.instance_profile_id = $1`,
    [instanceProfileId],
  );
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.instanceProfile, id: instanceProfileId, payload: null };
  return {
    kind: EntityKind.instanceProfile,
    id: instanceProfileId,
    payload: {
      instanceProfileId,
      accountId: row.account_id,
      instanceProfileName: row.instance_profile_name,
      path: row.path,
      arn: iamArn(row.account_id, "instance-profile", row.path, row.instance_profile_name, partition),
      tags: row.tags,
      createdAtMs: row.created_at.getTime(),
      roles:
        row.role_id === null || row.role_name === null || row.role_path === null
          ? []
          : [
              {
                roleId: row.role_id,
                roleName: row.role_name,
                arn: iamArn(row.account_id, "role", row.role_path, row.role_name, partition),
              },
            ],
    },
  };
}

/**
 * An OpenID Connect provider (id = ARN): the issuer, audiences, thumbprints and the JWKS document
 * regions verify AssumeRoleWithWebIdentity tokens with.
 */
export async function oidcProviderState(q: Queryable, arn: string): Promise<StateEvent<"oidc-provider">> {
  const r = await q.query<OidcProviderRow>("SELECT * FROM oidc_providers WHERE arn = $1", [arn]);
  const row = r.rows[0];
  return { kind: EntityKind.oidcProvider, id: arn, payload: row === undefined ? null : toOidcProvider(row) };
}

/** A row of `oidc_providers`. */
export interface OidcProviderRow {
  arn: string;
  account_id: string;
  url: string;
  client_ids: string[];
  thumbprints: string[];
  jwks: string | null;
  tags: TagRecord[];
  created_at: Date;
}

/** A provider's full state: what its events carry and what GetOpenIDConnectProvider returns. */
export function toOidcProvider(row: OidcProviderRow): OidcProviderRecord {
  return {
    arn: row.arn,
    accountId: row.account_id,
    url: row.url,
    clientIds: row.client_ids,
    thumbprints: row.thumbprints,
    jwks: row.jwks,
    tags: row.tags,
    createdAtMs: row.created_at.getTime(),
  };
}
