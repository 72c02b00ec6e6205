import { createHash } from "node:crypto";
import type { SecretBox } from "@gatehouse/auth";
import type pg from "pg";
import type { Lookups } from "./lookups.ts";
import type { ValidPostgresStoreOptions } from "./options.ts";
import { translatePgError } from "./pg-error.ts";
import type { WriteBatcher } from "./write-batcher.ts";

/** Anything that runs a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.PoolClient, "query">;

const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `gh_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Runs every parameterized statement as a named prepared statement, so Postgres parses and plans
 * each SQL text once per connection instead of on every call (the store's statements are a fixed
 * set: their texts only ever interpolate column names and the configured partition, never request
 * data, so the name cache stays small). Statements without parameters (BEGIN, NOTIFY; COMMIT)
 * keep the simple protocol, which allows several statements in one round trip.
 */
export function preparing(target: Queryable): Queryable {
  const query = (text: unknown, values?: unknown): unknown =>
    typeof text === "string" && Array.isArray(values)
      ? target.query({ name: statementName(text), text, values })
      : (target.query as (t: unknown, v?: unknown) => unknown)(text, values);
  return { query: query as Queryable["query"] };
}

/** What every repository function shares. */
export interface StoreContext {
  readonly pool: pg.Pool;
  readonly options: ValidPostgresStoreOptions;
  readonly box: SecretBox;
  /** The NOTIFY channel the relay listens on; one per schema so test schemas do not cross-wake. */
  readonly channel: string;
  /**
   * The lookups by name that every family shares (users, groups, roles, principals, managed
   * policies), bound to the store's partition, so no caller passes it by hand.
   */
  readonly find: Lookups;
  /** The write's W3C traceparent for its outbox rows (`PostgresStoreOptions.traceContext`). */
  readonly traceContext?: (() => string | undefined) | undefined;
  /** Runs the single-call writes (`callWrite`), several to a statement under load. */
  readonly writes: WriteBatcher;
  /**
   * A keyed digest (HMAC-SHA256 under a key derived from the sealing key) of a secret that a
   * request carries (a password, an MFA code): what enters a request hash in its place, so the
   * token table never holds a password or an unkeyed hash one could brute-force offline.
   */
  readonly secretDigest: (secret: string) => string;
}

/** One outbox row to write: the entity's full new state, or `null` for a tombstone. */
export interface OutboxEvent {
  readonly kind: string;
  readonly id: string;
  readonly payload: unknown;
}

/** The notification channel for a schema (identifiers are at most 63 bytes). */
export function channelFor(schema: string): string {
  return `gatehouse_outbox_${schema}`.slice(0, 63);
}

/** Ends a transaction that failed or changed nothing; a broken connection is released by the caller. */
export async function rollback(client: pg.PoolClient): Promise<void> {
  await client.query("ROLLBACK").catch(() => {});
}

/** Runs read-only work on one snapshot (REPEATABLE READ) so multi-query reads are consistent. */
export async function readSnapshot<T>(
  ctx: StoreContext,
  what: string,
  body: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const client = await ctx.pool.connect().catch((e: unknown) => {
    throw translatePgError(e, what);
  });
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const value = await body(preparing(client));
    await client.query("COMMIT");
    return value;
  } catch (e) {
    await rollback(client);
    throw translatePgError(e, what);
  } finally {
    client.release();
  }
}

/** Runs a single read outside a transaction, translating errors. */
export async function read<T>(ctx: StoreContext, what: string, body: (q: Queryable) => Promise<T>): Promise<T> {
  try {
    return await body(preparing(ctx.pool));
  } catch (e) {
    throw translatePgError(e, what);
  }
}
