import { type Clock, systemClock } from "@gatehouse/core";
import type { AccessKeyUse, IamStore } from "@gatehouse/store-postgres";
import type { Logger } from "pino";

/** Options of {@link createLastUsedRecorder}. */
export interface LastUsedRecorderOptions {
  readonly store: Pick<IamStore, "recordAccessKeyUses">;
  readonly logger: Logger;
  /** Pause between flushes: each key is written at most once per interval. Default 60 s. */
  readonly flushEveryMs?: number;
  /** Keys pending at most; beyond it a use of a new key flushes early. Default 10,000. */
  readonly maxPending?: number;
  readonly clock?: Clock;
}

/**
 * Records when access keys were last used without a Postgres write on the call's path: a use is
 * remembered in memory (the latest per key) and written with the others in one statement per
 * flush, at most once per key per `flushEveryMs`, and on {@link LastUsedRecorder.stop}. Last use
 * is thus approximate, as in AWS, which documents it as tracked within hours: a replica that dies
 * loses at most its last interval.
 */
export interface LastUsedRecorder {
  /** Remembers a use now (synchronous, no I/O). */
  record(accessKeyId: string, service: string, region: string): void;
  /** Writes what is pending in one statement; a failed write keeps it for the next flush. */
  flush(): Promise<void>;
  /** Starts flushing every `flushEveryMs`. */
  start(): void;
  /** Stops the timer and writes what is pending (a final flush at shutdown). */
  stop(): Promise<void>;
  /** Keys waiting for the next flush (for tests and metrics). */
  pending(): number;
}

/** Creates a {@link LastUsedRecorder} over the store. */
export function createLastUsedRecorder(options: LastUsedRecorderOptions): LastUsedRecorder {
  const { store, logger } = options;
  const clock = options.clock ?? systemClock;
  const every = options.flushEveryMs ?? 60_000;
  const maxPending = options.maxPending ?? 10_000;
  if (!Number.isInteger(every) || every < 1) throw new Error(`flushEveryMs must be a positive integer, got ${every}`);
  if (!Number.isInteger(maxPending) || maxPending < 1) {
    throw new Error(`maxPending must be a positive integer, got ${maxPending}`);
  }
  let pending = new Map<string, AccessKeyUse>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  const write = async (batch: Map<string, AccessKeyUse>): Promise<void> => {
    try {
      await store.recordAccessKeyUses([...batch.values()]);
    } catch (e) {
      // Put the batch back under anything newer recorded meanwhile; the next flush retries it.
      for (const [id, use] of batch) {
        const newer = pending.get(id);
        if (newer === undefined || newer.atMs < use.atMs) pending.set(id, use);
      }
      logger.warn({ err: e, keys: batch.size }, "could not write access keys' last use; retrying with the next flush");
    }
  };
  // The batch is taken at once (uses recorded from now on wait for the next flush); the writes
  // run one after another, never two statements at once.
  const flush = (): Promise<void> => {
    if (pending.size === 0) return flushing;
    const batch = pending;
    pending = new Map();
    flushing = flushing.then(() => write(batch));
    return flushing;
  };

  return {
    record(accessKeyId, service, region) {
      if (!pending.has(accessKeyId) && pending.size >= maxPending) void flush();
      pending.set(accessKeyId, { accessKeyId, atMs: clock.now(), service, region });
    },
    flush,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => void flush(), every);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await flush();
    },
    pending: () => pending.size,
  };
}
