import { randomInt } from "node:crypto";
import { IamError } from "@gatehouse/core";
import { count } from "../../checks.ts";
import { pageQuery, toPage } from "../../paging.ts";
import { translatePgError } from "../../pg-error.ts";
import type { AccountRecord, Mutation, NewAccessKey, Page, RequestToken } from "../../records.ts";
import { accessKeyState, accountState } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { replayToken, requestHash, requestTokenOf, writeOutbox } from "../../write-path.ts";
import { type AccessKeyRow, findAccessKey, toAccessKey } from "../access-keys/access-key-rows.ts";
import { replayedKey, sealNewKey } from "../access-keys/access-key-store.ts";
import { EPOCH_SQL } from "../outbox/outbox.ts";

/** A created account and its root's first access key (the secret appears only here). */
export interface NewAccount {
  readonly account: AccountRecord;
  readonly rootArn: string;
  readonly rootAccessKey: NewAccessKey;
}

/** An account and its current revision, as {@link AccountStore.listAccounts} lists it. */
export interface AccountRevision {
  readonly accountId: string;
  readonly revision: number;
}

/** A page of accounts and the epoch their revisions belong to. */
export interface AccountList extends Page<AccountRevision> {
  /** The server's `<system identifier>:<timeline>`, as the relay stamps on events (ChangeEvent.epoch). */
  readonly epoch: string;
}

/** Accounts: created by the operator with the root's first access key. */
export interface AccountStore {
  createAccount(input: { alias?: string | undefined } & RequestToken): Promise<Mutation<NewAccount>>;
  getAccount(accountId: string): Promise<AccountRecord>;
  /**
   * Every account in account id order with its current revision, a page at a time (a new region
   * discovers the accounts to export). The revisions and the epoch are read in one statement.
   */
  listAccounts(page: { marker?: string | undefined; maxItems?: number | undefined }): Promise<AccountList>;
}

function newAccountId(): string {
  return String(randomInt(100_000_000_000, 1_000_000_000_000)).padStart(12, "0");
}

const ACCOUNT_ALIAS = /^[a-z0-9](-?[a-z0-9])*$/;

/** The {@link AccountStore} part of the store. */
export function createAccountStore(ctx: StoreContext): AccountStore {
  const { pool } = ctx;
  const { partition } = ctx.options;
  const opts = ctx.options;

  return {
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
        const inserted = await client.query<{ created_at: Date; epoch: string }>(
          `INSERT INTO accounts (account_id, alias, revision) VALUES ($1, $2, 1) RETURNING created_at, ${EPOCH_SQL} AS epoch`,
          [accountId, alias],
        );
        const key = await sealNewKey(ctx, client, accountId, null);
        const revision = 1;
        await writeOutbox(
          client,
          accountId,
          revision,
          [await accountState(client, accountId), await accessKeyState(client, partition, key.accessKeyId)],
          ctx.traceContext?.(),
        );
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
        return { value, accountId, revision, epoch: inserted.rows[0]?.epoch ?? "" };
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw translatePgError(e, "CreateAccount");
      } finally {
        client.release();
      }
    },

    listAccounts: (page) =>
      read(ctx, "ListAccounts", async (q) => {
        const p = pageQuery(page);
        const r = await q.query<{ epoch: string; account_id: string | null; revision: string | null }>(
          `SELECT e.epoch, a.account_id, a.revision
             FROM (SELECT ${EPOCH_SQL} AS epoch) e
             LEFT JOIN LATERAL (
               SELECT account_id, revision FROM accounts
                WHERE $1::text IS NULL OR account_id > $1 ORDER BY account_id LIMIT $2) a ON true`,
          [p.after, p.limit + 1],
        );
        const accounts = r.rows.flatMap((row) =>
          row.account_id === null ? [] : [{ accountId: row.account_id, revision: Number(row.revision) }],
        );
        return { ...toPage(accounts, p.limit, (a) => a.accountId), epoch: r.rows[0]?.epoch ?? "" };
      }),

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
  };
}
