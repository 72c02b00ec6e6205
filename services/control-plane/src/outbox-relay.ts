import { type ChangePublisher, changeEvent } from "@gatehouse/bus-kafka";
import { IamError } from "@gatehouse/core";
import type { ChangeEvent } from "@gatehouse/proto";
import type { OutboxRow, OutboxSource } from "@gatehouse/store-postgres";
import type { Logger } from "pino";

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  outbox: OutboxSource;
  publisher: ChangePublisher;
  logger: Logger;
  /** Rows per Kafka send. Default 500. */
  batchSize?: number;
  /** Safety-net poll when no NOTIFY arrives (a missed notification, a listener reconnecting). Default 5000 ms. */
  fallbackPollMs?: number;
  /** Upper bound of the back-off while Kafka or Postgres is down. Default 2000 ms. */
  maxBackoffMs?: number;
  /** Called after each acknowledged batch (metrics, benchmarks). */
  onPublished?: (rows: readonly OutboxRow[]) => void;
}

/** Counters of a relay. */
export interface OutboxRelayStats {
  readonly leading: boolean;
  readonly published: number;
  readonly failures: number;
  readonly lastError: string | undefined;
}

/** The loop that moves committed outbox rows to Kafka. */
export interface OutboxRelay {
  /** Starts the loop in the background (it first waits to become the one active relay). */
  start(): void;
  /** Stops the loop, closes the listener and gives up leadership; in-flight batches finish first. */
  stop(): Promise<void>;
  stats(): OutboxRelayStats;
}

/** The wire form of an outbox row. Re-sends of the same row carry the same event id and revision. */
export function toChangeEvent(row: OutboxRow): ChangeEvent {
  return changeEvent({
    accountId: row.accountId,
    revision: row.revision,
    kind: row.entityKind,
    id: row.entityId,
    state: row.payload,
    eventId: row.eventId,
    committedAtMs: row.committedAtMs,
  });
}

/**
 * The outbox relay: wakes on Postgres NOTIFY (with a slow fallback poll), reads unpublished rows in
 * commit order, sends them with the idempotent producer, then marks them published. A failure
 * anywhere leaves the rows unpublished and the loop backs off; on recovery the backlog drains in
 * the same order. A crash between send and mark re-sends rows later: duplicates carry the same
 * revision and event id, so consumers drop them. Only one relay per schema is active at a time
 * (a Postgres advisory lock), so order is never split between two senders.
 *
 * @example
 * const relay = createOutboxRelay({ outbox: createOutboxSource(store), publisher, logger });
 * relay.start();
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const batchSize = options.batchSize ?? 500;
  const fallbackPollMs = options.fallbackPollMs ?? 5000;
  const maxBackoffMs = options.maxBackoffMs ?? 2000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new Error(`batchSize must be 1..10000, got ${batchSize}`);
  }
  const { outbox, publisher, logger } = options;
  const log = logger.child({ component: "outbox-relay" });

  let running = false;
  let loop: Promise<void> | undefined;
  let woken = false;
  let interrupt: (() => void) | undefined;
  let release: (() => Promise<void>) | undefined;
  let listener: { close(): Promise<void> } | undefined;
  let published = 0;
  let failures = 0;
  let lastError: string | undefined;

  const wake = (): void => {
    woken = true;
    interrupt?.();
  };

  /** Sleeps `ms`, cut short by stop() and, when `wakeable`, by a NOTIFY. */
  const sleep = (ms: number, wakeable: boolean): Promise<void> =>
    new Promise((resolve) => {
      if (!running || (wakeable && woken)) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        interrupt = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      interrupt = wakeable ? done : () => (running ? undefined : done());
    });

  const failed = (e: unknown, what: string): void => {
    failures++;
    const err = IamError.is(e) ? e : new IamError("ServiceFailure", what, { cause: e });
    lastError = `${err.awsName}: ${err.message}`;
    log.warn({ err: err.cause ?? err, awsName: err.awsName, retriable: err.retriable }, `${what}; will retry`);
  };

  const lead = async (): Promise<void> => {
    let backoff = 100;
    while (running && release === undefined) {
      try {
        release = await outbox.tryLead();
        if (release !== undefined) break;
      } catch (e) {
        failed(e, "relay could not reach Postgres to take leadership");
      }
      await sleep(backoff, false);
      backoff = Math.min(backoff * 2, maxBackoffMs);
    }
    if (!running) return;
    log.info("outbox relay is the active relay");
    while (running && listener === undefined) {
      try {
        listener = await outbox.listen(wake, (e) => failed(e, "outbox listener lost its connection"));
      } catch (e) {
        failed(e, "outbox listener could not connect");
        await sleep(backoff, false);
      }
    }
  };

  const run = async (): Promise<void> => {
    await lead();
    let backoff = 50;
    while (running) {
      woken = false;
      let rows: OutboxRow[];
      try {
        rows = await outbox.fetchUnpublished(batchSize);
      } catch (e) {
        failed(e, "reading the outbox failed");
        await sleep(backoff, false);
        backoff = Math.min(backoff * 2, maxBackoffMs);
        continue;
      }
      if (rows.length === 0) {
        await sleep(fallbackPollMs, true);
        continue;
      }
      try {
        await publisher.publish(rows.map(toChangeEvent));
      } catch (e) {
        failed(e, `publishing ${rows.length} outbox rows failed`);
        await sleep(backoff, false);
        backoff = Math.min(backoff * 2, maxBackoffMs);
        continue;
      }
      try {
        await outbox.markPublished(rows.map((r) => r.id));
      } catch (e) {
        // Already in Kafka: a re-send after this is a harmless duplicate with the same revision.
        failed(e, "marking published rows failed");
        await sleep(backoff, false);
        backoff = Math.min(backoff * 2, maxBackoffMs);
        continue;
      }
      backoff = 50;
      published += rows.length;
      options.onPublished?.(rows);
    }
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop = run().catch((e: unknown) => {
        log.error({ err: e }, "outbox relay stopped unexpectedly");
      });
    },
    async stop() {
      running = false;
      interrupt?.();
      await loop;
      await listener?.close();
      listener = undefined;
      await release?.();
      release = undefined;
    },
    stats: () => ({ leading: release !== undefined, published, failures, lastError }),
  };
}
