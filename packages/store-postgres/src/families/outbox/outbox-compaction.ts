import { IamError } from "@gatehouse/core";
import { translatePgError } from "../../pg-error.ts";
import { preparing, type Queryable, type StoreContext } from "../../tx.ts";

/** Options of {@link OutboxCompactionStore.compactOutbox}. */
export interface CompactOutboxOptions {
  /** Revisions committed longer ago than this many seconds may be compacted (0: all of them). */
  readonly retentionSeconds: number;
  /** Rows examined per statement, which bounds each statement's work and locks. Default 1000. */
  readonly batchSize?: number | undefined;
  /** Stops the pass between two statements; what was done so far stays done. */
  readonly signal?: AbortSignal | undefined;
}

/** What a compaction pass did in one account. */
export interface OutboxCompactionAccount {
  readonly accountId: string;
  /** The oldest revision still exportable, from now on. */
  readonly horizon: number;
  /** Rows deleted because a later row of the same entity is at or below the horizon. */
  readonly superseded: number;
  /** Tombstones deleted because no earlier row of their entity was left. */
  readonly tombstones: number;
}

/** What {@link OutboxCompactionStore.compactOutbox} did. */
export interface OutboxCompaction {
  /** False when another process was compacting the same schema: this call did nothing. */
  readonly ran: boolean;
  /** The accounts this pass compacted (their horizon is past their checkpoint), in account id order. */
  readonly accounts: readonly OutboxCompactionAccount[];
  readonly superseded: number;
  readonly tombstones: number;
}

/** Outbox compaction, so the outbox stays bounded while exports at recent revisions stay exact. */
export interface OutboxCompactionStore {
  /**
   * One compaction pass over every account. Never takes an account's lock (writes go on), never
   * deletes an unpublished row, and runs as short statements of at most `batchSize` examined rows.
   * Only one pass per schema runs at a time (an advisory lock); a concurrent call returns
   * `ran: false` at once.
   *
   * @example
   * const { superseded, tombstones } = await store.compactOutbox({ retentionSeconds: 7 * 86_400 });
   */
  compactOutbox(options: CompactOutboxOptions): Promise<OutboxCompaction>;
}

const MAX_RETENTION_SECONDS = 10 * 366 * 86_400;

/**
 * Throws InvalidInput (field `atRevision`) when `atRevision` lies below the account's compaction
 * horizon: the outbox rows that rebuilt it may be gone, so an export there could be wrong.
 * Runs on the export's snapshot, which sees the horizon and the deletions behind it together: a
 * pass records the horizon before it deletes anything.
 */
export async function assertExportable(q: Queryable, accountId: string, atRevision: number): Promise<void> {
  const r = await q.query<{ horizon: string }>("SELECT horizon FROM outbox_horizons WHERE account_id = $1", [
    accountId,
  ]);
  const horizon = Number(r.rows[0]?.horizon ?? 0);
  if (atRevision < horizon) {
    throw new IamError(
      "InvalidInput",
      `atRevision ${atRevision} of account ${accountId} is older than the change log keeps: the oldest exportable revision is ${horizon}`,
      { field: "atRevision" },
    );
  }
}

interface AccountProgress {
  account_id: string;
  horizon: string;
  compacted_through: string;
}

/**
 * The {@link OutboxCompactionStore} part of the store.
 *
 * A pass works per account like Kafka's log cleaner. Horizon H: the revision before the first row
 * after the checkpoint that is younger than the retention (revisions commit in order under the
 * account lock, so every revision up to H is older). H is recorded before anything is deleted.
 * Then each row y after the checkpoint and at or below H deletes its entity's published rows
 * before it, and y itself if it is a published tombstone with no earlier row left: the newest row
 * per entity at any revision ≥ H is unchanged, and a tombstone that is its entity's oldest row
 * means the same as no row. The checkpoint then moves to H, or to just before the oldest row that
 * was unpublished when the pass began, so that row is looked at again once the relay sent it.
 */
export function createOutboxCompactionStore(ctx: StoreContext): OutboxCompactionStore {
  const lockKey = `gatehouse-outbox-compaction:${ctx.options.schema}`;

  const compactAccount = async (
    q: Queryable,
    progress: AccountProgress,
    retentionSeconds: number,
    batchSize: number,
    signal: AbortSignal | undefined,
  ): Promise<OutboxCompactionAccount | undefined> => {
    const accountId = progress.account_id;
    const checkpoint = Number(progress.compacted_through);
    const found = await q.query<{ horizon: string }>(
      `SELECT GREATEST($3::bigint, COALESCE(
         (SELECT revision - 1 FROM outbox WHERE account_id = $1 AND revision > $2
            AND committed_at > now() - make_interval(secs => $4) ORDER BY revision LIMIT 1),
         (SELECT max(revision) FROM outbox WHERE account_id = $1 AND revision > $2),
         $2)) AS horizon`,
      [accountId, checkpoint, progress.horizon, retentionSeconds],
    );
    const horizon = Number(found.rows[0]?.horizon ?? checkpoint);
    if (horizon <= checkpoint) return undefined;
    // Recorded first: from here on an export's snapshot either sees no deletion or this horizon.
    await q.query(
      `INSERT INTO outbox_horizons (account_id, horizon, compacted_through) VALUES ($1, $2, $3)
       ON CONFLICT (account_id) DO UPDATE
         SET horizon = GREATEST(outbox_horizons.horizon, EXCLUDED.horizon), updated_at = now()`,
      [accountId, horizon, checkpoint],
    );
    const unpublished = await q.query<{ revision: string | null }>(
      "SELECT min(revision) AS revision FROM outbox WHERE account_id = $1 AND published_at IS NULL AND revision <= $2",
      [accountId, horizon],
    );
    const oldestUnpublished = unpublished.rows[0]?.revision;
    // Rows at or after the oldest unpublished one must be looked at again by a later pass.
    const reachable = oldestUnpublished == null ? horizon : Number(oldestUnpublished) - 1;
    const done = { accountId, horizon, superseded: 0, tombstones: 0 };
    let after = { revision: checkpoint + 1, id: 0 };
    for (;;) {
      if (signal?.aborted) return done;
      const batch = await q.query<{ revision: string; id: string; deleted: number; tombstones: string[] }>(
        `WITH y AS (
           SELECT id, revision, entity_kind, entity_id, payload IS NULL AND published_at IS NOT NULL AS tombstone
           FROM outbox
           WHERE account_id = $1 AND revision >= $2 AND revision <= $3 AND (revision > $2 OR id > $4)
           ORDER BY revision, id LIMIT $5),
         gone AS (
           -- One index probe per examined row (OFFSET 0 keeps the planner from turning this into a
           -- hash join over all of the account's rows, whose cost would grow with the account).
           DELETE FROM outbox o WHERE o.id IN (
             SELECT earlier.id FROM y CROSS JOIN LATERAL (
               SELECT e.id FROM outbox e
               WHERE e.account_id = $1 AND e.entity_kind = y.entity_kind AND e.entity_id = y.entity_id
                 AND e.id < y.id AND e.published_at IS NOT NULL
               OFFSET 0) earlier)
           RETURNING o.id)
         SELECT last.revision, last.id, (SELECT count(*) FROM gone)::int AS deleted,
           ARRAY(SELECT id::text FROM y WHERE tombstone) AS tombstones
         FROM (SELECT revision, id FROM y ORDER BY revision DESC, id DESC LIMIT 1) last`,
        [accountId, after.revision, horizon, after.id, batchSize],
      );
      const last = batch.rows[0];
      if (last === undefined) break;
      done.superseded += last.deleted;
      if (last.tombstones.length > 0) {
        // A separate statement: it must see the deletions above (one statement sees one snapshot).
        const t = await q.query(
          `DELETE FROM outbox t WHERE t.id = ANY($1::bigint[]) AND t.payload IS NULL AND t.published_at IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.account_id = t.account_id
               AND e.entity_kind = t.entity_kind AND e.entity_id = t.entity_id AND e.id < t.id)`,
          [last.tombstones],
        );
        done.tombstones += t.rowCount ?? 0;
      }
      after = { revision: Number(last.revision), id: Number(last.id) };
      // Every revision before the last one examined is finished: keep the progress if we stop.
      await saveCheckpoint(q, accountId, Math.min(after.revision - 1, reachable));
    }
    await saveCheckpoint(q, accountId, reachable);
    return done;
  };

  const saveCheckpoint = async (q: Queryable, accountId: string, checkpoint: number): Promise<void> => {
    await q.query(
      `UPDATE outbox_horizons SET compacted_through = GREATEST(compacted_through, LEAST($2::bigint, horizon)),
         updated_at = now() WHERE account_id = $1`,
      [accountId, checkpoint],
    );
  };

  return {
    async compactOutbox(options) {
      const { retentionSeconds, signal } = options;
      const batchSize = options.batchSize ?? 1000;
      if (!Number.isInteger(retentionSeconds) || retentionSeconds < 0 || retentionSeconds > MAX_RETENTION_SECONDS) {
        throw new IamError(
          "InvalidInput",
          `retentionSeconds must be an integer in 0..${MAX_RETENTION_SECONDS}, got ${retentionSeconds}`,
          { field: "retentionSeconds" },
        );
      }
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
        throw new IamError("InvalidInput", `batchSize must be an integer in 1..10000, got ${batchSize}`, {
          field: "batchSize",
        });
      }
      // One connection for the whole pass: the advisory lock is a session's, and a pass never
      // takes more than one connection from the writers.
      const client = await ctx.pool.connect().catch((e: unknown) => {
        throw translatePgError(e, "CompactOutbox");
      });
      let broken: unknown;
      try {
        const q = preparing(client);
        const lead = await q.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [lockKey]);
        if (lead.rows[0]?.ok !== true) return { ran: false, accounts: [], superseded: 0, tombstones: 0 };
        try {
          const todo = await q.query<AccountProgress>(
            `SELECT a.account_id, COALESCE(h.horizon, 0) AS horizon, COALESCE(h.compacted_through, 0) AS compacted_through
             FROM accounts a LEFT JOIN outbox_horizons h ON h.account_id = a.account_id
             WHERE a.revision > COALESCE(h.compacted_through, 0) ORDER BY a.account_id`,
            [],
          );
          const accounts: OutboxCompactionAccount[] = [];
          for (const progress of todo.rows) {
            if (signal?.aborted) break;
            const done = await compactAccount(q, progress, retentionSeconds, batchSize, signal);
            if (done !== undefined) accounts.push(done);
          }
          return {
            ran: true,
            accounts,
            superseded: accounts.reduce((n, a) => n + a.superseded, 0),
            tombstones: accounts.reduce((n, a) => n + a.tombstones, 0),
          };
        } finally {
          await q.query("SELECT pg_advisory_unlock(hashtext($1))", [lockKey]);
        }
      } catch (e) {
        broken = e;
        throw translatePgError(e, "CompactOutbox");
      } finally {
        // A connection that failed mid-pass may still hold the session lock: drop it, not reuse it.
        client.release(broken === undefined ? undefined : (broken as Error));
      }
    },
  };
}
