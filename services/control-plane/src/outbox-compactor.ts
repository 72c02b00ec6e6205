import { IamError } from "@gatehouse/core";
import type { IamStore, OutboxCompaction, OutboxCompactionStore } from "@gatehouse/store-postgres";
import type { Logger } from "pino";

/** Options of {@link createOutboxCompactor}. */
export interface OutboxCompactorOptions {
  /** Also prunes expired client request tokens on each pass (the same housekeeping timer). */
  store: OutboxCompactionStore & Pick<IamStore, "pruneClientRequestTokens" | "pruneAuditEvents">;
  logger: Logger;
  /** Published rows superseded longer ago than this are deleted; exports reach back this far. */
  retentionSeconds: number;
  /** Audit events older than this many days are deleted on each pass (in batches). Absent: kept. */
  auditRetentionDays?: number;
  /** Pause between two passes. Default 60000 ms. */
  intervalMs?: number;
  /** Rows examined per statement. Default 1000. */
  batchSize?: number;
}

/** The timer that compacts the outbox. */
export interface OutboxCompactor {
  /** Runs a pass every `intervalMs` in the background, the first one `intervalMs` from now. */
  start(): void;
  /** Stops the timer and cuts a running pass short at its next statement; resolves once it ended. */
  stop(): Promise<void>;
  /** Runs one pass now (after the running one, if any); failures are logged and rethrown. */
  runOnce(): Promise<OutboxCompaction>;
}

/**
 * Compacts the outbox periodically (`IamStore.compactOutbox`): passes never overlap, never block
 * writers, and a failed pass is logged and retried at the next tick.
 *
 * @example
 * const compactor = createOutboxCompactor({ store, logger, retentionSeconds: 7 * 86_400 });
 * compactor.start();
 */
export function createOutboxCompactor(options: OutboxCompactorOptions): OutboxCompactor {
  const { store, retentionSeconds } = options;
  const intervalMs = options.intervalMs ?? 60_000;
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(intervalMs) || intervalMs < 1) {
    throw new Error(`intervalMs must be a positive integer, got ${intervalMs}`);
  }
  const log = options.logger.child({ component: "outbox-compactor" });
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let abort = new AbortController();
  let current: Promise<unknown> = Promise.resolve();

  const pass = async (): Promise<OutboxCompaction> => {
    const started = performance.now();
    const done = await store.compactOutbox({ retentionSeconds, batchSize, signal: abort.signal });
    const ms = Math.round(performance.now() - started);
    if (!done.ran) {
      log.debug("another process is compacting the outbox; skipped");
    } else if (done.superseded + done.tombstones > 0) {
      log.info(
        { superseded: done.superseded, tombstones: done.tombstones, accounts: done.accounts.length, ms },
        "compacted the outbox",
      );
    } else {
      log.debug({ accounts: done.accounts.length, ms }, "outbox compaction found nothing to remove");
    }
    for (const a of done.accounts) log.debug(a, "outbox compaction of an account");
    // Every replica may prune: deleting expired rows is idempotent and never blocks writers long.
    const pruned = await store.pruneClientRequestTokens(batchSize);
    if (pruned > 0) log.info({ pruned }, "pruned expired client request tokens");
    if (options.auditRetentionDays !== undefined) {
      // Short DELETEs of old rows only: writers insert new ones, so neither waits for the other.
      const audit = await store.pruneAuditEvents({
        retentionDays: options.auditRetentionDays,
        batchSize,
        signal: abort.signal,
      });
      if (audit > 0)
        log.info({ deleted: audit, days: options.auditRetentionDays }, "deleted audit events past retention");
    }
    return done;
  };

  const runOnce = (): Promise<OutboxCompaction> => {
    const next = current.then(pass);
    current = next.catch(() => {});
    return next;
  };

  const schedule = (): void => {
    if (!running) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((e: unknown) => {
          const err = IamError.is(e) ? e : new IamError("ServiceFailure", "outbox compaction failed", { cause: e });
          log.warn({ err: err.cause ?? err, awsName: err.awsName }, "outbox compaction failed; will retry");
        })
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };

  return {
    start() {
      if (running) return;
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      abort.abort();
      await current;
      abort = new AbortController();
    },
    runOnce,
  };
}
