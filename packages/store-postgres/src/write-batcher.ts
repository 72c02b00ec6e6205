import type pg from "pg";
import { EPOCH_SQL } from "./families/outbox/outbox.ts";

/** A write done by one SQL function of migration 0013 (`gh_create_user`, …). */
export type WriteFunction = "gh_create_user" | "gh_attach_policy" | "gh_put_inline_policy";

/** What a write function returns: the response kept for replays. */
export interface WriteResult {
  readonly value: unknown;
  readonly revision: number;
  /** The history the write committed in (`<system identifier>:<timeline>`), read in its statement. */
  readonly epoch: string;
}

/** Runs single-call writes, several to a statement when they queue up. */
export interface WriteBatcher {
  /**
   * Runs `fn(...values)`; `values[0]` is the account id. Rejects with the error Postgres raised.
   * `audit` (an audit event's JSON) is inserted with the write's revision in the write's own
   * (sub)transaction, once the write function succeeded (`gh_audit_insert`, migration 0030).
   * `traceContext` (a W3C traceparent) goes with the write's outbox rows (migration 0031).
   */
  submit(fn: WriteFunction, values: readonly unknown[], audit?: string, traceContext?: string): Promise<WriteResult>;
}

/** Options of {@link createWriteBatcher}. */
export interface WriteBatcherOptions {
  /** Statements of single-call writes running at once; the rest of the pool serves everything else. */
  readonly concurrency: number;
  /** Writes per statement at most: each is a subtransaction, and past 64 Postgres's snapshots slow down. */
  readonly maxBatch?: number;
}

interface Pending {
  readonly fn: WriteFunction;
  readonly values: readonly unknown[];
  readonly audit: string | undefined;
  readonly traceContext: string | undefined;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

/** An error `gh_write_batch` caught, with the fields pg-error.ts reads from a driver error. */
interface CaughtError {
  readonly code: string;
  readonly message: string;
  readonly detail: string | null;
  readonly hint: string | null;
  readonly constraint: string | null;
  readonly table: string | null;
}

type Outcome = { readonly ok: Omit<WriteResult, "epoch"> } | { readonly error: CaughtError };

/** Rebuilds a caught error as the driver would have raised it, so translatePgError reads it alike. */
function toDriverError(caught: CaughtError): Error {
  const e = new Error(caught.message) as Error & Record<string, unknown>;
  e.code = caught.code;
  for (const key of ["detail", "hint", "constraint", "table"] as const) {
    const value = caught[key];
    if (value !== null && value !== "") e[key] = value;
  }
  return e;
}

/** The prepared statement of one write function alone, built once per function (its arity is fixed). */
const singleCalls = new Map<string, { name: string; text: string }>();

/**
 * With an audit event, the write and the event's insert are one statement (so one transaction):
 * the CTE is referenced twice, so it is materialized and the write function runs once.
 */
function singleCall(
  fn: WriteFunction,
  values: readonly unknown[],
  audited: boolean,
  traced: boolean,
): { name: string; text: string } {
  const key = `${fn}${audited ? " audited" : ""}${traced ? " traced" : ""}`;
  let statement = singleCalls.get(key);
  if (statement === undefined) {
    const call = `${fn}(${values.map((_, i) => `$${i + 1}`).join(", ")})`;
    const a = `$${values.length + 1}::jsonb`;
    // Traced: the trace context is set (transaction-local) before the write function runs, by a
    // subquery that OFFSET 0 keeps from being pulled up into the call's own select list.
    const from = traced
      ? ` FROM (SELECT set_config('gatehouse.traceparent', $${values.length + (audited ? 2 : 1)}, true) OFFSET 0) t`
      : "";
    const text = audited
      ? `WITH w AS (SELECT ${call} AS result${from}), a AS (SELECT gh_audit_insert(${a}, (result->>'revision')::bigint) FROM w)
         SELECT w.result, ${EPOCH_SQL} AS epoch FROM w, a`
      : `SELECT ${call} AS result, ${EPOCH_SQL} AS epoch${from}`;
    statement = { name: `gatehouse_${key.replaceAll(" ", "_")}`, text };
    singleCalls.set(key, statement);
  }
  return statement;
}

/** A call of `gh_write_batch`'s argument; the audit event's JSON is spliced in as it is. */
function batchCall(item: Pending): string {
  const call = JSON.stringify(
    item.traceContext === undefined
      ? { f: item.fn, a: item.values }
      : { f: item.fn, a: item.values, tp: item.traceContext },
  );
  return item.audit === undefined ? call : `${call.slice(0, -1)},"audit":${item.audit}}`;
}

/**
 * Group commit for the single-call writes. At most `concurrency` write statements run at once;
 * writes arriving meanwhile queue, and the next free slot takes up to `maxBatch` of them into ONE
 * statement, `gh_write_batch` (migration 0013): one round trip, one commit and one NOTIFY per
 * account for all of them, each still in a subtransaction of its own, so a failing write undoes
 * only itself and gets its own error. A write that finds a free slot runs alone, as a plain call:
 * batching only happens under load, and adds no latency when there is none.
 *
 * Writes are ordered by account id within a statement (a stable sort, so one account's writes keep
 * their order and revisions follow arrival): every statement then locks accounts in ascending
 * order, and concurrent statements cannot deadlock on each other's account locks.
 */
export function createWriteBatcher(pool: pg.Pool, options: WriteBatcherOptions): WriteBatcher {
  const maxBatch = options.maxBatch ?? 32;
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new Error(`concurrency must be a positive integer, got ${options.concurrency}`);
  }
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 64) {
    throw new Error(`maxBatch must be an integer in 1..64, got ${maxBatch}`);
  }
  const queue: Pending[] = [];
  let running = 0;

  const runAlone = async (item: Pending): Promise<void> => {
    try {
      const traced = item.traceContext !== undefined;
      const values: unknown[] = [...item.values];
      if (item.audit !== undefined) values.push(item.audit);
      if (traced) values.push(item.traceContext);
      const r = await pool.query<{ result: Omit<WriteResult, "epoch">; epoch: string }>({
        ...singleCall(item.fn, item.values, item.audit !== undefined, traced),
        values,
      });
      const row = r.rows[0];
      if (row === undefined) throw new Error(`${item.fn} returned no row`);
      item.resolve({ ...row.result, epoch: row.epoch });
    } catch (e) {
      item.reject(e);
    }
  };

  const runBatch = async (items: Pending[]): Promise<void> => {
    const ordered = items
      .map((item, i) => ({ item, i }))
      .sort((a, b) =>
        a.item.values[0] === b.item.values[0]
          ? a.i - b.i
          : String(a.item.values[0]) < String(b.item.values[0])
            ? -1
            : 1,
      )
      .map((x) => x.item);
    try {
      const r = await pool.query<{ results: Outcome[]; epoch: string }>({
        name: "gatehouse_write_batch",
        text: `SELECT gh_write_batch($1::jsonb) AS results, ${EPOCH_SQL} AS epoch`,
        values: [`[${ordered.map(batchCall).join(",")}]`],
      });
      const results = r.rows[0]?.results ?? [];
      const epoch = r.rows[0]?.epoch ?? "";
      ordered.forEach((item, i) => {
        const outcome = results[i];
        if (outcome === undefined) item.reject(new Error("gh_write_batch returned fewer results than calls"));
        else if ("ok" in outcome) item.resolve({ ...outcome.ok, epoch });
        else item.reject(toDriverError(outcome.error));
      });
    } catch (e) {
      // The statement itself failed (connection lost, commit failed): none of its writes happened.
      for (const item of ordered) item.reject(e);
    }
  };

  const pump = (): void => {
    while (running < options.concurrency && queue.length > 0) {
      const items = queue.splice(0, maxBatch);
      running++;
      const first = items[0] as Pending;
      void (items.length === 1 ? runAlone(first) : runBatch(items)).finally(() => {
        running--;
        pump();
      });
    }
  };

  return {
    submit(fn, values, audit, traceContext) {
      return new Promise<WriteResult>((resolve, reject) => {
        queue.push({ fn, values, audit, traceContext, resolve, reject });
        pump();
      });
    },
  };
}
