import { randomBytes } from "node:crypto";
import { secretKeyId } from "@gatehouse/auth";
import { IamError } from "@gatehouse/core";
import { EntityKind, STS_KEY_SET_ID, SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import type { Mutation, TagRecord } from "../../records.ts";
import type { StateEvent } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { mutate } from "../../write-path.ts";
import type { PrincipalPolicies } from "../users/user-store.ts";

/**
 * The longest a session may live (GetSessionToken of an IAM user: 36 h, AWS's bound) plus five
 * minutes of clock skew: a key rotated out keeps opening tokens this long, then leaves the set.
 */
export const STS_KEY_RETENTION_MS = 36 * 3_600_000 + 5 * 60_000;

/** One key of the set as the operator sees it (never the key). */
export interface StsKeyRecord {
  readonly keyId: string;
  readonly createdAtMs: number;
  readonly activatesAtMs: number;
  readonly retiredAtMs: number | null;
}

/** Input of {@link StsKeyStore.rotateStsKeys}. */
export interface RotateStsKeysInput {
  /** Milliseconds before the new key seals (every region learns it first); 0 = at once. */
  readonly activationDelayMs: number;
}

/** The regions' STS key set: created, rotated and published (sealed) by the control plane only. */
export interface StsKeyStore {
  /**
   * Adds a new key, which seals once its activation delay has passed; the keys it replaces are
   * retired (they still open tokens) and keys retired longer than {@link STS_KEY_RETENTION_MS}
   * ago leave the set. Publishes the whole set, sealed, on the system account's stream.
   */
  rotateStsKeys(input: RotateStsKeysInput): Promise<Mutation<StsKeyRecord[]>>;
  /** Creates the first key when the set is empty (at start-up); otherwise changes nothing. */
  ensureStsKey(): Promise<Mutation<StsKeyRecord[]>>;
  /**
   * The keys unsealed, oldest first: only for the control plane's verification of session tokens
   * (as `getAccessKeyCredential` unseals an access key's secret only to check a signature).
   */
  getStsKeys(): Promise<(StsKeyRecord & { readonly key: Buffer })[]>;
  /**
   * What a role session's calls are authorized with: the role's inline and attached policies
   * (default versions), its boundary and tags; undefined when the account has no role with that id.
   */
  getRolePolicies(accountId: string, roleId: string): Promise<PrincipalPolicies | undefined>;
  /** The default version's document of each managed policy ARN that exists (others are left out). */
  getPolicyDocuments(policyArns: readonly string[]): Promise<Map<string, string>>;
}

interface StsKeyRow {
  key_id: string;
  sealed_key: Buffer;
  created_at: Date;
  activates_at: Date;
  retired_at: Date | null;
}

function toRecord(r: StsKeyRow): StsKeyRecord {
  return {
    keyId: r.key_id,
    createdAtMs: r.created_at.getTime(),
    activatesAtMs: r.activates_at.getTime(),
    retiredAtMs: r.retired_at?.getTime() ?? null,
  };
}

/** The AAD an STS key is sealed under. */
export function stsKeyAad(keyId: string): string {
  return `sts-key:${keyId}`;
}

/** The set as it travels (`sts-key-set`, id `sts`, under the system account): every key sealed. */
export async function stsKeySetState(q: Queryable): Promise<StateEvent<"sts-key-set">> {
  const r = await q.query<StsKeyRow>("SELECT * FROM sts_keys ORDER BY created_at, key_id");
  return {
    kind: EntityKind.stsKeySet,
    id: STS_KEY_SET_ID,
    payload: {
      keys: r.rows.map((row) => ({
        ...toRecord(row),
        sealedKey: row.sealed_key.toString("base64"),
      })),
    },
  };
}

/** The {@link StsKeyStore} part of the store. */
export function createStsKeyStore(ctx: StoreContext): StsKeyStore {
  const { partition } = ctx.options;
  const now = () => ctx.options.clock.now();
  const list = async (q: Queryable) =>
    (await q.query<StsKeyRow>("SELECT * FROM sts_keys ORDER BY created_at, key_id")).rows.map(toRecord);

  const addKey = async (q: Queryable, activationDelayMs: number) => {
    const key = randomBytes(32);
    const keyId = secretKeyId(key);
    const at = now();
    await q.query("UPDATE sts_keys SET retired_at = to_timestamp($1 / 1000.0) WHERE retired_at IS NULL", [
      at + activationDelayMs,
    ]);
    await q.query("DELETE FROM sts_keys WHERE retired_at < to_timestamp($1 / 1000.0)", [at - STS_KEY_RETENTION_MS]);
    await q.query(
      `INSERT INTO sts_keys (key_id, sealed_key, created_at, activates_at)
       VALUES ($1, $2, to_timestamp($3 / 1000.0), to_timestamp($4 / 1000.0))`,
      [keyId, ctx.box.seal(key.toString("base64"), stsKeyAad(keyId)), at, at + activationDelayMs],
    );
    key.fill(0);
  };

  return {
    rotateStsKeys: (input) => {
      if (
        !Number.isSafeInteger(input.activationDelayMs) ||
        input.activationDelayMs < 0 ||
        input.activationDelayMs > 86_400_000
      ) {
        throw new IamError(
          "InvalidInput",
          `activationDelaySeconds must be 0..86400, got ${input.activationDelayMs / 1000}`,
          {
            field: "activationDelaySeconds",
          },
        );
      }
      return mutate(ctx, SYSTEM_ACCOUNT_ID, { operation: "RotateStsKeys", request: input }, async (q) => {
        await addKey(q, input.activationDelayMs);
        return { value: await list(q), events: [await stsKeySetState(q)] };
      });
    },
    ensureStsKey: () =>
      mutate(ctx, SYSTEM_ACCOUNT_ID, { operation: "EnsureStsKey", request: {} }, async (q) => {
        // The system account's row lock (taken by mutate) serializes concurrent starters.
        const existing = await list(q);
        if (existing.length > 0) return { value: existing, events: [] };
        await addKey(q, 0);
        return { value: await list(q), events: [await stsKeySetState(q)] };
      }),
    getStsKeys: () =>
      read(ctx, "GetStsKeys", async (q) => {
        const r = await q.query<StsKeyRow>("SELECT * FROM sts_keys ORDER BY created_at, key_id");
        return r.rows.map((row) => ({
          ...toRecord(row),
          key: Buffer.from(ctx.box.open(row.sealed_key, stsKeyAad(row.key_id)), "base64"),
        }));
      }),
    getRolePolicies: (accountId, roleId) =>
      read(ctx, "GetRolePolicies", async (q) => {
        const role = await q.query<{ tags: TagRecord[] }>(
          "SELECT tags FROM roles WHERE role_id = $2 AND account_id = $1",
          [accountId, roleId],
        );
        const row = role.rows[0];
        if (row === undefined) return undefined;
        const policyArn = `'arn:${partition}:iam::' || p.account_id || ':policy' || p.path || p.policy_name`;
        const r = await q.query<{ id: string; document: string; boundary: boolean }>(
          `SELECT 'inline:' || r.role_name || '/' || i.policy_name AS id, i.document, false AS boundary
             FROM inline_policies i JOIN roles r ON r.role_id = i.role_id WHERE i.role_id = $2
           UNION ALL
           SELECT ${policyArn}, v.document, false
             FROM policy_attachments a JOIN managed_policies p ON p.policy_id = a.policy_id
             JOIN policy_versions v ON v.policy_id = p.policy_id AND v.is_default
            WHERE a.role_id = $2
           UNION ALL
           SELECT ${policyArn}, v.document, true
             FROM roles r JOIN managed_policies p ON p.policy_id = r.permissions_boundary_id
             JOIN policy_versions v ON v.policy_id = p.policy_id AND v.is_default
            WHERE r.role_id = $2 AND r.account_id = $1`,
          [accountId, roleId],
        );
        const boundary = r.rows.find((x) => x.boundary);
        return {
          identityPolicies: r.rows.filter((x) => !x.boundary).map((x) => ({ id: x.id, document: x.document })),
          permissionsBoundary: boundary === undefined ? null : { id: boundary.id, document: boundary.document },
          principalTags: row.tags,
        };
      }),
    getPolicyDocuments: (policyArns) =>
      read(ctx, "GetPolicyDocuments", async (q) => {
        // arn:<partition>:iam::<account>:policy<path><name>, looked up by (account, name), then
        // matched on the whole ARN (path and name exactly as stored).
        const parsed = policyArns
          .map((arn) => /^arn:[^:]+:iam::([^:]+):policy(\/(?:.*\/)?)([^/]+)$/.exec(arn))
          .filter((m): m is RegExpExecArray => m !== null);
        if (parsed.length === 0) return new Map();
        const r = await q.query<{ arn: string; document: string }>(
          `SELECT x.arn, v.document
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(arn, account_id, path, policy_name)
             JOIN managed_policies p
               ON p.account_id = x.account_id AND lower(p.policy_name) = lower(x.policy_name)
              AND p.policy_name = x.policy_name AND p.path = x.path
             JOIN policy_versions v ON v.policy_id = p.policy_id AND v.is_default
            WHERE x.arn = 'arn:${partition}:iam::' || p.account_id || ':policy' || p.path || p.policy_name`,
          [parsed.map((m) => m[0]), parsed.map((m) => m[1]), parsed.map((m) => m[2]), parsed.map((m) => m[3])],
        );
        return new Map(r.rows.map((x) => [x.arn, x.document]));
      }),
  };
}
