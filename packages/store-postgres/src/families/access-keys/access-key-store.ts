import { randomBytes } from "node:crypto";
import { IamError, iamArn, newId } from "@gatehouse/core";
import { count, limitExceeded } from "../../checks.ts";
import type {
  AccessKeyCredential,
  AccessKeyRecord,
  AccessKeyStatus,
  Mutation,
  NewAccessKey,
  RequestToken,
} from "../../records.ts";
import { accessKeyState } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec } from "../../write-path.ts";
import { ACCESS_KEY_SELECT, type AccessKeyRow, findAccessKey, toAccessKey } from "./access-key-rows.ts";

/** Access keys of users and of account roots, and their secrets for signature checks. */
export interface AccessKeyStore {
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
  /**
   * A key of the account by id, with its last use (GetAccessKeyLastUsed); NoSuchEntity (field
   * `accessKeyId`) when no key of this account has that id, whether or not another account's has.
   */
  getAccessKey(accountId: string, accessKeyId: string): Promise<AccessKeyRecord>;
  /**
   * Stamps the last use of several keys in one statement (the control plane coalesces uses in
   * memory and flushes them in batches). Not an IAM state change: no revision, no outbox event,
   * nothing replicated. A stamp older than the stored one is ignored, so replicas flushing out of
   * order never move a key's last use back. Unknown (deleted) keys are skipped. Returns how many
   * keys were stamped.
   */
  recordAccessKeyUses(uses: readonly AccessKeyUse[]): Promise<number>;
}

/** One key's latest use, as the control plane's last-used recorder flushes it. */
export interface AccessKeyUse {
  readonly accessKeyId: string;
  /** When the use was seen (epoch ms), not when it is written. */
  readonly atMs: number;
  readonly service: string;
  readonly region: string;
}

function newSecret(): string {
  // 30 random bytes → 40 base64 characters, the length of AWS secret access keys.
  return randomBytes(30).toString("base64");
}

/** Creates a key for a user (or the root with `null`) and stores its secret sealed; returns the clear secret. */
export async function sealNewKey(
  ctx: Pick<StoreContext, "box">,
  q: Queryable,
  accountId: string,
  userId: string | null,
): Promise<{ accessKeyId: string; secret: string }> {
  const accessKeyId = newId("accessKey");
  const secret = newSecret();
  await q.query(
    "INSERT INTO access_keys (access_key_id, account_id, user_id, secret_ciphertext) VALUES ($1, $2, $3, $4)",
    [accessKeyId, accountId, userId, ctx.box.seal(secret, accessKeyId)],
  );
  return { accessKeyId, secret };
}

/**
 * What a replayed create answers for a key: its current metadata and an EMPTY secret. AWS hands
 * a secret out exactly once, and a token is no credential: whoever holds it (a log line, a proxy)
 * must not get the secret again. A client whose first answer was lost learns the key id, so it
 * can delete that key and create another; it can tell a replay by the empty secret.
 */
export async function replayedKey(q: Queryable, accessKeyId: string): Promise<NewAccessKey> {
  const row = await findAccessKey(q, accessKeyId);
  if (row === undefined) {
    throw new IamError("NoSuchEntity", `access key ${accessKeyId} no longer exists`, { field: "accessKeyId" });
  }
  return { accessKey: toAccessKey(row), secretAccessKey: "" };
}

/** The {@link AccessKeyStore} part of the store. */
export function createAccessKeyStore(ctx: StoreContext): AccessKeyStore {
  const { find, box } = ctx;
  const { partition, quotas } = ctx.options;

  async function ownedKey(
    q: Queryable,
    accountId: string,
    userName: string | null,
    accessKeyId: string,
  ): Promise<AccessKeyRow> {
    const row = await findAccessKey(q, accessKeyId);
    const owner = userName === null ? null : (await find.user(q, accountId, userName)).user_id;
    if (row === undefined || row.account_id !== accountId || row.user_id !== owner) {
      throw new IamError("NoSuchEntity", `access key ${JSON.stringify(accessKeyId)} does not exist for this user`, {
        field: "accessKeyId",
      });
    }
    return row;
  }

  return {
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
          const userId = userName === null ? null : (await find.user(q, accountId, userName)).user_id;
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
          const key = await sealNewKey(ctx, q, accountId, userId);
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
        const user = await find.user(q, accountId, userName);
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

    getAccessKey: (accountId, accessKeyId) =>
      read(ctx, "GetAccessKey", async (q) => {
        const row = await findAccessKey(q, accessKeyId);
        if (row === undefined || row.account_id !== accountId) {
          throw new IamError("NoSuchEntity", `access key ${JSON.stringify(accessKeyId)} does not exist`, {
            field: "accessKeyId",
          });
        }
        return toAccessKey(row);
      }),

    recordAccessKeyUses: (uses) =>
      uses.length === 0
        ? Promise.resolve(0)
        : read(ctx, "RecordAccessKeyUses", async (q) => {
            // One UPDATE for the whole batch, ids sorted so that overlapping batches of two
            // replicas usually lock rows in the same order; a flush that still loses a deadlock
            // fails as a whole and its uses are retried with the next flush.
            const sorted = [...uses].sort((a, b) => (a.accessKeyId < b.accessKeyId ? -1 : 1));
            const r = await q.query(
              `UPDATE access_keys k
                  SET last_used_at = to_timestamp(u.at_ms / 1000.0), last_used_service = u.service,
                      last_used_region = u.region
                 FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[]) AS u(id, at_ms, service, region)
                WHERE k.access_key_id = u.id
                  AND (k.last_used_at IS NULL OR k.last_used_at < to_timestamp(u.at_ms / 1000.0))`,
              [
                sorted.map((u) => u.accessKeyId),
                sorted.map((u) => u.atMs),
                sorted.map((u) => u.service),
                sorted.map((u) => u.region),
              ],
            );
            return r.rowCount ?? 0;
          }),
  };
}
