import { createHash } from "node:crypto";
import { IamError } from "@gatehouse/core";
import { auditJson, pendingAudit } from "./families/audit/audit-scope.ts";
import { EPOCH_SQL } from "./families/outbox/outbox.ts";
import { translatePgError } from "./pg-error.ts";
import type { Mutation, RequestToken } from "./records.ts";
import { type OutboxEvent, preparing, type Queryable, rollback, type StoreContext } from "./tx.ts";
import type { WriteFunction } from "./write-batcher.ts";

// The write path: every write goes through mutate() (a transaction run from TypeScript) or
// callWrite() (one SQL function call, see sql/functions/gh_write_batch.sql), both keyed by the
// same idempotency protocol. A client request token is normalized in one place, requestTokenOf().
/** What a mutation body returns. No events means "nothing changed": the revision is not bumped. */
export interface MutationOutcome<T> {
  readonly value: T;
  readonly events: readonly OutboxEvent[];
}

/** Describes a write for idempotency: the same token with another request is an error. */
export interface WriteSpec<T> {
  readonly operation: string;
  readonly request: unknown;
  readonly clientRequestToken?: string | undefined;
  /**
   * Who sent the call (`user:<user id>`, `root`, `operator`): a token is scoped to its caller, so
   * another principal of the account reusing it neither replays nor blocks the first one's call.
   * Must not contain a space. Absent (store-level callers, tests) is the empty caller.
   */
  readonly callerId?: string | undefined;
  /** What to keep for replays; defaults to the value itself. Must not contain secrets. */
  readonly save?: (value: T) => unknown;
  /**
   * Rebuilds the value from what `save` kept (e.g. the entity's current metadata). Never re-opens
   * a secret: a replay must not hand out what the first call returned once.
   */
  readonly restore?: (tx: Queryable, saved: unknown) => Promise<T>;
}

const ACCOUNT_ID = /^\d{12}$/;

export function requestHash(operation: string, request: unknown): string {
  return createHash("sha256").update(operation).update("\0").update(JSON.stringify(request)).digest("hex");
}

function checkToken(token: string): void {
  if (token.length > 128 || !/^[\x21-\x7e]+$/.test(token)) {
    throw new IamError("InvalidInput", `clientRequestToken must be 1..128 printable ASCII characters`, {
      field: "clientRequestToken",
    });
  }
}

/** The idempotency fields of a {@link WriteSpec} from a store method's token argument. */
export function tokenSpec(t: RequestToken | undefined): Pick<WriteSpec<unknown>, "clientRequestToken" | "callerId"> {
  return { clientRequestToken: t?.clientRequestToken, callerId: t?.callerId };
}

/**
 * A store input as the request its token is bound to: without the token and caller, which key
 * the call rather than belong to it (a retry with the same token must hash the same).
 */
export function withoutToken<T extends RequestToken>(input: T): T {
  return { ...input, clientRequestToken: undefined, callerId: undefined };
}

/** A client request token and the caller it belongs to: the key of its idempotency row. */
export interface TokenKey {
  readonly caller: string;
  readonly token: string;
}

const CALLER_ID = /^[\x21-\x7e]{0,200}$/;

/**
 * The call's client request token, checked: THE normalizer of idempotency tokens (an empty one
 * counts as none), which both write paths and CreateAccount use.
 */
export function requestTokenOf(
  spec: Pick<WriteSpec<unknown>, "clientRequestToken" | "callerId">,
): TokenKey | undefined {
  const token = spec.clientRequestToken === "" ? undefined : spec.clientRequestToken;
  if (token === undefined) return undefined;
  checkToken(token);
  const caller = spec.callerId ?? "";
  // A programming error, not bad input: the SQL functions split '<caller> <token>' on the space.
  if (!CALLER_ID.test(caller))
    throw new Error(`callerId ${JSON.stringify(caller)} must be printable ASCII without spaces`);
  return { caller, token };
}

/** How the SQL write functions receive a token: '<caller> <token>', or the bare token without a caller. */
function sqlToken(key: TokenKey | undefined): string | null {
  if (key === undefined) return null;
  return key.caller === "" ? key.token : `${key.caller} ${key.token}`;
}

/** An account id that cannot exist (not 12 digits) is NoSuchEntity before any query. */
function assertAccountId(accountId: string): void {
  if (!ACCOUNT_ID.test(accountId)) {
    throw new IamError("NoSuchEntity", `account ${JSON.stringify(accountId)} does not exist`, { field: "accountId" });
  }
}

/**
 * Runs one write to an account as ONE transaction: bump the account revision (its row lock
 * serializes writers of the account, so revisions follow commit order), look up the client
 * request token, run `body`, write its outbox rows at that revision, remember the token, NOTIFY.
 * Needs only the pool and the channel of `ctx`, so code outside a store's repositories (seeding)
 * writes with it too.
 */
export async function mutate<T>(
  ctx: Pick<StoreContext, "pool" | "channel" | "traceContext">,
  accountId: string,
  spec: WriteSpec<T>,
  body: (tx: Queryable, revision: number) => Promise<MutationOutcome<T>>,
): Promise<Mutation<T>> {
  const token = requestTokenOf(spec);
  const client = await ctx.pool.connect().catch((e: unknown) => {
    throw translatePgError(e, spec.operation);
  });
  try {
    assertAccountId(accountId);
    // One round trip for BEGIN and the revision bump (simple protocol; the id is 12 digits).
    const results = (await client.query(
      `BEGIN; UPDATE accounts SET revision = revision + 1 WHERE account_id = '${accountId}' RETURNING revision, ${EPOCH_SQL} AS epoch`,
    )) as unknown as { rows: { revision: string; epoch: string }[] }[];
    const row = results[1]?.rows[0];
    if (row === undefined) {
      throw new IamError("NoSuchEntity", `account ${JSON.stringify(accountId)} does not exist`, { field: "accountId" });
    }
    const revision = Number(row.revision);
    const epoch = row.epoch;
    const q = preparing(client);
    const hash = requestHash(spec.operation, spec.request);
    if (token !== undefined) {
      const replay = await replayToken<T>(q, accountId, token, spec, hash);
      if (replay !== undefined) {
        await rollback(client);
        return replay;
      }
    }
    const outcome = await body(q, revision);
    if (outcome.events.length === 0) {
      // Nothing changed: keep the revision where it was so every revision has events behind it.
      await rollback(client);
      return { value: outcome.value, accountId, revision: revision - 1, epoch };
    }
    await writeOutbox(q, accountId, revision, outcome.events, ctx.traceContext?.());
    // The audited call's event commits with its write (audit-store.ts): one row, or none on rollback.
    const audit = pendingAudit();
    if (audit !== undefined) await q.query("SELECT gh_audit_insert($1::jsonb, $2)", [auditJson(audit.event), revision]);
    if (token !== undefined) {
      const saved = spec.save === undefined ? outcome.value : spec.save(outcome.value);
      await q.query(
        `INSERT INTO idempotency_tokens (scope, caller, token, operation, request_hash, response, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + gh_token_ttl())`,
        [accountId, token.caller, token.token, spec.operation, hash, JSON.stringify({ value: saved, revision })],
      );
    }
    // NOTIFY and COMMIT in one round trip; the channel is a checked identifier, the id 12 digits.
    await client.query(`NOTIFY ${ctx.channel}, '${accountId}'; COMMIT`);
    if (audit !== undefined) audit.recordedAt = revision;
    return { value: outcome.value, accountId, revision, epoch };
  } catch (e) {
    await rollback(client);
    throw translatePgError(e, spec.operation);
  } finally {
    client.release();
  }
}

/**
 * Runs a write implemented as one SQL function: a single statement, so one round trip and its own
 * transaction, following the same protocol as {@link mutate} (account lock, token replay, outbox
 * rows at the new revision, token, NOTIFY) inside Postgres. `args` are the function's own
 * parameters after the account id; the partition, channel, token and request hash follow them.
 * Only the values kept for replay may come back: `save`/`restore` do not apply.
 */
export async function callWrite<T>(
  ctx: StoreContext,
  accountId: string,
  spec: Omit<WriteSpec<T>, "save" | "restore">,
  fn: WriteFunction,
  args: readonly unknown[],
): Promise<Mutation<T>> {
  const token = requestTokenOf(spec);
  assertAccountId(accountId);
  const values = [
    accountId,
    ...args,
    ctx.options.partition,
    ctx.channel,
    sqlToken(token),
    requestHash(spec.operation, spec.request),
  ];
  try {
    // The audited call's event is inserted by the same statement, after the write function.
    const audit = pendingAudit();
    const result = await ctx.writes.submit(
      fn,
      values,
      audit === undefined ? undefined : auditJson(audit.event),
      ctx.traceContext?.(),
    );
    if (audit !== undefined) audit.recordedAt = result.revision;
    return { value: result.value as T, accountId, revision: result.revision, epoch: result.epoch };
  } catch (e) {
    throw translatePgError(e, spec.operation);
  }
}

/**
 * Fails a {@link callWrite} write with `error`, which a check made before the call found (a
 * malformed or foreign policy ARN, too many tags), where a {@link mutate} write finds it: after the
 * account check, the token replay and `before` (the lookups that come first). So a request failing
 * several checks reports the same one as the sibling writes that run in TypeScript, a token reused
 * for another request is reported as such, and a retry of a request that succeeded still replays
 * its answer even if a quota has been lowered since. Only failing requests take this way.
 */
export function failInOrder<T>(
  ctx: StoreContext,
  accountId: string,
  spec: Omit<WriteSpec<T>, "save" | "restore">,
  error: unknown,
  before: (tx: Queryable) => Promise<unknown> = async () => {},
): Promise<Mutation<T>> {
  return mutate<T>(ctx, accountId, spec, async (q) => {
    await before(q);
    throw error;
  });
}

/**
 * Looks up a client request token of the caller; returns the first call's result, or undefined
 * when new or expired (an expired row is ignored here and replaced by the new call's, or deleted
 * by {@link pruneClientRequestTokens}).
 */
export async function replayToken<T>(
  client: Queryable,
  scope: string,
  key: TokenKey,
  spec: WriteSpec<T>,
  hash: string,
): Promise<Mutation<T> | undefined> {
  const found = await client.query<{
    operation: string;
    request_hash: string;
    response: { value: unknown; revision: number };
    live: boolean;
    epoch: string;
  }>(
    `SELECT operation, request_hash, response, expires_at > now() AS live, ${EPOCH_SQL} AS epoch
       FROM idempotency_tokens WHERE scope = $1 AND caller = $2 AND token = $3`,
    [scope, key.caller, key.token],
  );
  const prior = found.rows[0];
  if (prior === undefined) return undefined;
  if (!prior.live) {
    // Expired: forgotten, so this call runs as new and its own row can take the key.
    await client.query(
      "DELETE FROM idempotency_tokens WHERE scope = $1 AND caller = $2 AND token = $3 AND expires_at <= now()",
      [scope, key.caller, key.token],
    );
    return undefined;
  }
  if (prior.operation !== spec.operation || prior.request_hash !== hash) {
    throw new IamError(
      "InvalidInput",
      `clientRequestToken ${JSON.stringify(key.token)} was already used for a different request (${prior.operation})`,
      { field: "clientRequestToken" },
    );
  }
  const value =
    spec.restore === undefined ? (prior.response.value as T) : await spec.restore(client, prior.response.value);
  // The revision of a call that went through, in the history the server is in now: the token's row
  // (written with the call) is still there, so the call's revision is part of this history.
  return { value, accountId: scope, revision: prior.response.revision, epoch: prior.epoch };
}

/**
 * Inserts outbox rows for one revision in one statement, with the write's trace context (a W3C
 * traceparent, or undefined when the write is not traced).
 */
export async function writeOutbox(
  client: Queryable,
  accountId: string,
  revision: number,
  events: readonly OutboxEvent[],
  traceContext?: string,
): Promise<void> {
  await client.query(
    `INSERT INTO outbox (account_id, revision, entity_kind, entity_id, payload, trace_context)
     SELECT $1, $2, k, i, p, $6 FROM unnest($3::text[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS e(k, i, p, n) ORDER BY n`,
    [
      accountId,
      revision,
      events.map((e) => e.kind),
      events.map((e) => e.id),
      events.map((e) => (e.payload === null ? null : JSON.stringify(e.payload))),
      traceContext ?? null,
    ],
  );
}

/**
 * Deletes up to `batchSize` expired client request tokens per statement until none is left;
 * returns how many went. Runs next to the outbox compaction (services' compactor timer).
 */
export async function pruneClientRequestTokens(ctx: Pick<StoreContext, "pool">, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await ctx.pool
      .query(
        `DELETE FROM idempotency_tokens WHERE ctid IN
           (SELECT ctid FROM idempotency_tokens WHERE expires_at <= now() LIMIT $1)`,
        [batchSize],
      )
      .catch((e: unknown) => {
        throw translatePgError(e, "PruneClientRequestTokens");
      });
    total += r.rowCount ?? 0;
    if ((r.rowCount ?? 0) < batchSize) return total;
  }
}
