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
  /** Stamps "last used" (not replicated, no revision). */
  recordAccessKeyUse(accessKeyId: string, service: string, region: string): Promise<void>;
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

    recordAccessKeyUse: (accessKeyId, service, region) =>
      read(ctx, "RecordAccessKeyUse", async (q) => {
        await q.query(
          "UPDATE access_keys SET last_used_at = now(), last_used_service = $2, last_used_region = $3 WHERE access_key_id = $1",
          [accessKeyId, service, region],
        );
      }),
  };
}
