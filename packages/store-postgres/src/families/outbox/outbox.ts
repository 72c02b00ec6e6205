import { IamError } from "@gatehouse/core";
import pg from "pg";
import { translatePgError } from "../../pg-error.ts";
import type { OutboxRow } from "../../records.ts";
import type { IamStore } from "../../store.ts";

/** An account whose oldest unpublished event could not be published; its later events wait behind it. */
export interface ParkedEvent {
  readonly accountId: string;
  readonly outboxId: number;
  readonly eventId: string;
  readonly revision: number;
  readonly entityKind: string;
  readonly entityId: string;
  readonly reason: string;
  readonly parkedAtMs: number;
}

/**
 * The relay's hold on the outbox while it is the one active relay: a Postgres session holding the
 * relay's advisory lock. Every read and mark of the relay goes through that session, so a relay
 * whose session died (killed, failover, network) can no longer mark rows, and the lock it held is
 * free for another relay at that same moment.
 */
export interface OutboxLease {
  /**
   * `<system identifier>:<timeline>` of the server holding the lock: a promotion starts a new
   * timeline, so events read under another epoch may belong to a rewound history.
   */
  readonly epoch: string;
  /** False once the lock session failed, ended or a check failed; it never becomes true again. */
  held(): boolean;
  /** Calls `listener` once when the lease is lost (at once if it already is). */
  onLost(listener: (cause: IamError) => void): void;
  /** A round trip on the lock session; throws (and loses the lease) unless it is still held. */
  check(): Promise<void>;
  /**
   * Unpublished rows of accounts that are not parked, oldest first: the oldest `limit`, plus the
   * other unpublished rows of every revision among them (a revision is never cut short), each
   * numbered within its revision. Ordering by id is ordering by revision within an account: a
   * writer inserts its rows only after taking the account's row lock, i.e. after the previous
   * writer of that account committed, so its identity values are larger.
   */
  fetchUnpublished(limit: number): Promise<OutboxRow[]>;
  markPublished(ids: readonly number[]): Promise<void>;
  /**
   * A time T (the database's clock, epoch ms, the clock of `committedAtMs`) such that every outbox
   * row with `committed_at` before T is visible to any read that starts after this resolves: the
   * earlier of this statement's start and the start of the oldest transaction of this database
   * that holds a transaction id (a writer whose rows are not visible yet). A row's `committed_at`
   * is taken inside its transaction, so it is at or after that transaction's start. Resolves to
   * `undefined` when the server hides some session's transaction start from this role (it then
   * cannot vouch for anything): grant it pg_read_all_stats, or run the relay as the writers' role.
   */
  commitHorizon(): Promise<number | undefined>;
  /** Sets `row`'s account aside (outbox_parked): the relay passes over it until it is released. */
  park(row: OutboxRow, reason: string): Promise<void>;
  /** Gives the lock up and closes the session. */
  release(): Promise<void>;
}

/** The relay's view of the outbox: leadership, wake-ups, and what operators look at. */
export interface OutboxSource {
  /**
   * Unpublished rows of accounts that are not parked, oldest first, read on the pool (tools and
   * tests; the relay reads through its {@link OutboxLease}).
   */
  fetchUnpublished(limit: number): Promise<OutboxRow[]>;
  /** Marks rows published on the pool (tools and tests; the relay marks through its lease). */
  markPublished(ids: readonly number[]): Promise<void>;
  /** Rows not yet published, parked accounts' included (for metrics and tests). */
  backlog(): Promise<number>;
  /** The parked accounts, oldest first. */
  parked(): Promise<ParkedEvent[]>;
  /**
   * Releases a parked account: its parked event is sent again (`skip` false, after the cause was
   * fixed) or marked published unsent (`skip` true). Resolves to false when it was not parked.
   */
  release(accountId: string, options?: { skip?: boolean }): Promise<boolean>;
  /**
   * Takes the session advisory lock that makes one relay the active one, on a session of its
   * own. Resolves to the lease, or `undefined` when another relay holds the lock. The lock dies
   * with the session, so a crashed relay frees it.
   */
  tryLead(options?: { queryTimeoutMs?: number }): Promise<OutboxLease | undefined>;
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
  revision_index: number;
  revision_events: number;
  trace_context: string | null;
}

interface Queryable {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig | string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * SQL for the epoch of the server a session is on (`<system identifier>:<timeline>`), as the relay
 * stamps on events.
 */
// The epoch of the server a session is on. The timeline is read from the current WAL file name,
// which changes the moment a standby is promoted (pg_control_checkpoint() only after the next
// checkpoint); the system identifier tells clusters apart that were not copied from each other.
export const EPOCH_SQL = `(SELECT system_identifier::text FROM pg_control_system()) || ':' ||
  (('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint)::text`;

// The relay's read: the oldest unpublished rows of accounts that are not parked (the function,
// migrations 0017 and 0022, reads the partial index of unpublished rows in id order), extended by
// every other unpublished row of each revision they touch, each with its place in its revision
// and the revision's size. A write commits all rows of its revision in one transaction, and one
// statement reads one snapshot, so a revision seen at all is seen whole: the relay never sends
// part of a revision believing it is all of it. A revision's rows are counted published or not,
// so a revision split by a crash between sends keeps its numbering; compaction never deletes rows
// of a revision at or after an account's oldest unpublished one (outbox-compaction.ts).
const FETCH_SQL = `
  WITH batch AS (SELECT DISTINCT b.account_id, b.revision FROM gh_outbox_unpublished($1) b)
  SELECT n.id, n.event_id, n.account_id, n.revision, n.entity_kind, n.entity_id, n.payload, n.committed_at,
         n.revision_index, n.revision_events, n.trace_context
    FROM batch k
    CROSS JOIN LATERAL (
      SELECT o.id, o.event_id, o.account_id, o.revision, o.entity_kind, o.entity_id, o.payload, o.committed_at,
             o.published_at, o.trace_context,
             (row_number() OVER (ORDER BY o.id) - 1)::int AS revision_index,
             (count(*) OVER ())::int AS revision_events
        FROM outbox o
       WHERE o.account_id = k.account_id AND o.revision = k.revision) n
   WHERE n.published_at IS NULL
   ORDER BY n.id`;

async function fetchRows(q: Queryable, limit: number): Promise<OutboxRow[]> {
  try {
    // Named: prepared once per connection, as the relay runs it all the time.
    const r = await q.query<OutboxDbRow>({
      name: "gatehouse_outbox_fetch_revisions",
      text: FETCH_SQL,
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
      revisionIndex: row.revision_index,
      revisionEvents: row.revision_events,
      ...(row.trace_context === null ? {} : { traceContext: row.trace_context }),
    }));
  } catch (e) {
    throw translatePgError(e, "outbox fetch");
  }
}

// now() is the start of this (single-statement) transaction, before pg_stat_activity is read. A
// session whose transaction start this role may not see shows NULL there but a non-NULL
// backend_xid when it writes; an idle session of another role shows neither, so it blinds nothing.
const HORIZON_SQL = `
  SELECT gh_epoch_ms(least(now(), min(a.xact_start))) AS horizon,
         bool_or(a.xact_start IS NULL) AS blind
    FROM pg_stat_activity a
   WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_xid IS NOT NULL`;

async function commitHorizon(q: Queryable): Promise<number | undefined> {
  try {
    const r = await q.query<{ horizon: string; blind: boolean | null }>({
      name: "gatehouse_outbox_horizon",
      text: HORIZON_SQL,
    });
    const row = r.rows[0];
    return row === undefined || row.blind === true ? undefined : Number(row.horizon);
  } catch (e) {
    throw translatePgError(e, "outbox commit horizon");
  }
}

async function markRows(q: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  try {
    // Unnamed, so planned on every call: a named statement's plan is kept per connection,
    // and one made while the outbox was small (a sequential scan, cheapest then) stays
    // until the table is next analyzed, which is never where autovacuum is off.
    await q.query("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [ids]);
  } catch (e) {
    throw translatePgError(e, "outbox mark");
  }
}

/**
 * The outbox of a store.
 * @example
 * const outbox = createOutboxSource(store);
 * const lease = await outbox.tryLead();
 * const rows = await lease?.fetchUnpublished(500);
 */
export function createOutboxSource(store: IamStore): OutboxSource {
  const { connectionString, schema } = store.options;
  const dedicated = (queryTimeoutMs?: number) =>
    new pg.Client({
      connectionString,
      options: `-c search_path=${schema}`,
      application_name: "gatehouse-relay",
      ...(queryTimeoutMs === undefined ? {} : { query_timeout: queryTimeoutMs }),
    });
  return {
    fetchUnpublished: (limit) => fetchRows(store.pool, limit),
    markPublished: (ids) => markRows(store.pool, ids),
    async backlog() {
      const r = await store.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL",
      );
      return r.rows[0]?.n ?? 0;
    },
    async parked() {
      const r = await store.pool.query<{
        account_id: string;
        outbox_id: string;
        event_id: string;
        revision: string;
        entity_kind: string;
        entity_id: string;
        reason: string;
        parked_at: Date;
      }>("SELECT * FROM outbox_parked ORDER BY outbox_id");
      return r.rows.map((p) => ({
        accountId: p.account_id,
        outboxId: Number(p.outbox_id),
        eventId: p.event_id,
        revision: Number(p.revision),
        entityKind: p.entity_kind,
        entityId: p.entity_id,
        reason: p.reason,
        parkedAtMs: p.parked_at.getTime(),
      }));
    },
    async release(accountId, options) {
      const r = await store.pool.query<{ id: string | null }>("SELECT gh_outbox_release($1, $2) AS id", [
        accountId,
        options?.skip ?? false,
      ]);
      return r.rows[0]?.id != null;
    },
    async tryLead(options) {
      const client = dedicated(options?.queryTimeoutMs);
      let lost: IamError | undefined;
      const listeners: ((cause: IamError) => void)[] = [];
      const lose = (cause: IamError): void => {
        if (lost !== undefined) return;
        lost = cause;
        for (const l of listeners.splice(0)) l(cause);
        client.end().catch(() => {});
      };
      // Any error or end of the lock session ends the lease: the lock went with the session.
      client.on("error", (e) => lose(translatePgError(e, "relay leadership")));
      client.on("end", () =>
        lose(new IamError("ServiceUnavailable", "the relay's lock session ended", { retriable: true })),
      );
      let epoch: string;
      try {
        await client.connect();
        const r = await client.query<{ ok: boolean; epoch: string }>(
          `SELECT pg_try_advisory_lock(hashtext($1)) AS ok, ${EPOCH_SQL} AS epoch`,
          [`gatehouse-relay:${schema}`],
        );
        if (r.rows[0]?.ok !== true) {
          await client.end();
          return undefined;
        }
        epoch = r.rows[0].epoch;
      } catch (e) {
        await client.end().catch(() => {});
        throw translatePgError(e, "relay leadership");
      }
      /** Runs `work` on the lock session; a failure there loses the lease. */
      const onSession = async <T>(work: () => Promise<T>): Promise<T> => {
        if (lost !== undefined) throw lost;
        try {
          return await work();
        } catch (e) {
          const err = IamError.is(e) ? e : translatePgError(e, "relay leadership");
          // A statement the server refused (a constraint) says nothing about the session; a dead
          // or stuck connection (no SQLSTATE: reset, timeout) or a terminated one (08, 57) does.
          const raw = IamError.is(e) && e.cause !== undefined ? e.cause : e;
          const code = raw instanceof pg.DatabaseError ? (raw.code ?? "") : "";
          if (code === "" || code.startsWith("08") || code.startsWith("57")) lose(err);
          throw err;
        }
      };
      return {
        epoch,
        held: () => lost === undefined,
        onLost(listener) {
          if (lost !== undefined) listener(lost);
          else listeners.push(listener);
        },
        check: () =>
          onSession(async () => {
            // The session lock lives exactly as long as the session, so an answer on it means it
            // is still held. The epoch of a session cannot change; if it did, it is not ours.
            const r = await client.query<{ epoch: string }>(`SELECT ${EPOCH_SQL} AS epoch`);
            if (r.rows[0]?.epoch !== epoch) {
              throw new IamError(
                "ServiceUnavailable",
                `the relay's server changed epoch ${epoch} -> ${r.rows[0]?.epoch}`,
                {
                  retriable: true,
                },
              );
            }
          }),
        fetchUnpublished: (limit) => onSession(() => fetchRows(client, limit)),
        markPublished: (ids) => onSession(() => markRows(client, ids)),
        commitHorizon: () => onSession(() => commitHorizon(client)),
        park: (row, reason) =>
          onSession(async () => {
            await client.query(
              `INSERT INTO outbox_parked (account_id, outbox_id, event_id, revision, entity_kind, entity_id, reason)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id) DO NOTHING`,
              [row.accountId, row.id, row.eventId, row.revision, row.entityKind, row.entityId, reason],
            );
          }),
        async release() {
          lose(new IamError("ServiceUnavailable", "the relay gave up leadership", { retriable: true }));
          await client.end().catch(() => {});
        },
      };
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
