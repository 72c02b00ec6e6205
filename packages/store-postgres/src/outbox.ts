import pg from "pg";
import { translatePgError } from "./pg-error.ts";
import type { OutboxRow } from "./records.ts";
import type { IamStore } from "./store.ts";

/** The relay's view of the outbox: read in commit order, mark published, wait for wake-ups. */
export interface OutboxSource {
  /**
   * Unpublished rows, oldest first. Ordering by id is ordering by revision within an account:
   * a writer inserts its rows only after taking the account's row lock, i.e. after the previous
   * writer of that account committed, so its identity values are larger.
   */
  fetchUnpublished(limit: number): Promise<OutboxRow[]>;
  markPublished(ids: readonly number[]): Promise<void>;
  /** Rows not yet published (for metrics and tests). */
  backlog(): Promise<number>;
  /**
   * Takes the session advisory lock that makes one relay the active one. Resolves to a release
   * function, or `undefined` when another relay holds it. The lock dies with the connection, so
   * a crashed relay frees it.
   */
  tryLead(): Promise<(() => Promise<void>) | undefined>;
  /**
   * LISTENs on the store's channel on a dedicated connection and calls `onWake` for every commit
   * and whenever the connection is re-established (a wake-up may have been missed meanwhile).
   */
  listen(onWake: () => void, onError: (e: unknown) => void): Promise<{ close(): Promise<void> }>;
}

interface OutboxDbRow {
  id: string;
  event_id: string;
  account_id: string;
  revision: string;
  entity_kind: string;
  entity_id: string;
  payload: unknown;
  committed_at: Date;
}

/**
 * The outbox of a store.
 * @example
 * const outbox = createOutboxSource(store);
 * const rows = await outbox.fetchUnpublished(500);
 */
export function createOutboxSource(store: IamStore): OutboxSource {
  const { connectionString, schema } = store.options;
  const dedicated = () =>
    new pg.Client({ connectionString, options: `-c search_path=${schema}`, application_name: "gatehouse-relay" });
  return {
    async fetchUnpublished(limit) {
      try {
        // Named: prepared once per connection, as the relay runs it all the time. The function
        // (migration 0017) reads the partial index of unpublished rows in id order.
        const r = await store.pool.query<OutboxDbRow>({
          name: "gatehouse_outbox_fetch",
          text: "SELECT * FROM gh_outbox_unpublished($1)",
          values: [limit],
        });
        return r.rows.map((row) => ({
          id: Number(row.id),
          eventId: row.event_id,
          accountId: row.account_id,
          revision: Number(row.revision),
          entityKind: row.entity_kind,
          entityId: row.entity_id,
          payload: row.payload,
          committedAtMs: row.committed_at.getTime(),
        }));
      } catch (e) {
        throw translatePgError(e, "outbox fetch");
      }
    },
    async markPublished(ids) {
      if (ids.length === 0) return;
      try {
        // Unnamed, so planned on every call: a named statement's plan is kept per connection,
        // and one made while the outbox was small (a sequential scan, cheapest then) stays
        // until the table is next analyzed, which is never where autovacuum is off.
        await store.pool.query("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [ids]);
      } catch (e) {
        throw translatePgError(e, "outbox mark");
      }
    },
    async backlog() {
      const r = await store.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL",
      );
      return r.rows[0]?.n ?? 0;
    },
    async tryLead() {
      const client = dedicated();
      client.on("error", () => {});
      try {
        await client.connect();
        const r = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [
          `gatehouse-relay:${schema}`,
        ]);
        if (r.rows[0]?.ok !== true) {
          await client.end();
          return undefined;
        }
        return async () => {
          await client.end().catch(() => {});
        };
      } catch (e) {
        await client.end().catch(() => {});
        throw translatePgError(e, "relay leadership");
      }
    },
    async listen(onWake, onError) {
      let closed = false;
      let client: pg.Client | undefined;
      let retry: NodeJS.Timeout | undefined;
      const connect = async (): Promise<void> => {
        const c = dedicated();
        c.on("notification", () => onWake());
        c.on("error", (e) => {
          onError(translatePgError(e, "outbox listen"));
          if (client === c) client = undefined;
          c.end().catch(() => {});
          if (!closed) retry = setTimeout(() => void connect().catch(onError), 1000);
        });
        await c.connect();
        await c.query(`LISTEN ${store.channel}`);
        if (closed) {
          await c.end();
          return;
        }
        client = c;
        onWake();
      };
      await connect();
      return {
        async close() {
          closed = true;
          if (retry !== undefined) clearTimeout(retry);
          await client?.end().catch(() => {});
        },
      };
    },
  };
}
