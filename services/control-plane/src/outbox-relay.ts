import { type ChangePublisher, changeMessageBytes, rejectsRecords } from "@gatehouse/bus-kafka";
import { IamError } from "@gatehouse/core";
import { changeEvent } from "@gatehouse/events";
import type { ChangeEvent } from "@gatehouse/proto";
import type { OutboxLease, OutboxRow, OutboxSource } from "@gatehouse/store-postgres";
import { type SpanHandle, TELEMETRY_DISABLED, type Telemetry, TRACEPARENT_HEADER } from "@gatehouse/telemetry";
import type { Logger } from "pino";

/** An event the relay set aside, and why (the {@link OutboxRelayOptions.onParked} hook's argument). */
export interface ParkedNotice {
  readonly accountId: string;
  readonly outboxId: number;
  readonly eventId: string;
  readonly revision: number;
  readonly reason: string;
}

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  outbox: OutboxSource;
  publisher: ChangePublisher;
  logger: Logger;
  /** Rows read per pass. Default 500. */
  batchSize?: number;
  /**
   * Bytes of events per Kafka send (their {@link changeMessageBytes}). Stay under the topic's
   * `max.message.bytes` (a partition's share of a send is one record batch) and the broker's
   * `socket.request.max.bytes`. Default 900,000 (the topic default is 1,048,588).
   */
  maxBatchBytes?: number;
  /** An event larger than this is parked without being sent. Default 1,000,000. */
  maxEventBytes?: number;
  /** Safety-net poll when no NOTIFY arrives (a missed notification, a listener reconnecting). Default 5000 ms. */
  fallbackPollMs?: number;
  /** Upper bound of the back-off while Kafka or Postgres is down. Default 2000 ms. */
  maxBackoffMs?: number;
  /** How often the leader checks its lock session between sends. Default 1000 ms. */
  leaseCheckMs?: number;
  /**
   * Longest wait for an answer on the lock session before the lease counts as lost. Default 5000 ms.
   */
  lockQueryTimeoutMs?: number;
  /**
   * Wait after taking leadership before the first send, so that a send a previous leader had in
   * flight when it lost its lock has ended (README, "Relay leadership"). Default 1000 ms.
   */
  takeoverDelayMs?: number;
  /**
   * Interval of the heartbeat watermarks the leader sends to every partition (README, "Watermarks").
   * Default 1000 ms.
   */
  watermarkMs?: number;
  /** Called after each acknowledged batch (metrics, benchmarks). */
  onPublished?: (rows: readonly OutboxRow[]) => void;
  /** Called when an event is parked (metrics, alerts). */
  onParked?: (notice: ParkedNotice) => void;
  /**
   * Traces: a row stored with its write's trace context is sent in a PRODUCER span continuing
   * that trace, whose traceparent travels in the Kafka message's `traceparent` header. Default off.
   */
  telemetry?: Telemetry;
}

/** Counters of a relay. */
export interface OutboxRelayStats {
  readonly leading: boolean;
  readonly published: number;
  readonly failures: number;
  /** Events this relay parked since it started (outbox_parked holds the ones still parked). */
  readonly parked: number;
  /** Times this relay lost leadership after holding it. */
  readonly leadershipLost: number;
  readonly lastError: string | undefined;
  /** Rounds of watermarks (one per partition each) this relay sent. */
  readonly watermarks: number;
  /** The `committed_before_ms` of the last round sent, if any. */
  readonly lastWatermarkMs: number | undefined;
}

/** The loop that moves committed outbox rows to Kafka. */
export interface OutboxRelay {
  /** Starts the loop in the background (it first waits to become the one active relay). */
  start(): void;
  /** Stops the loop, closes the listener and gives up leadership; in-flight batches finish first. */
  stop(): Promise<void>;
  stats(): OutboxRelayStats;
}

/**
 * The wire form of an outbox row. Re-sends of the same row carry the same event id and revision;
 * `epoch` is the history it was read from (the lease's).
 */
export function toChangeEvent(row: OutboxRow, epoch = ""): ChangeEvent {
  return changeEvent({
    accountId: row.accountId,
    revision: row.revision,
    kind: row.entityKind,
    id: row.entityId,
    state: row.payload,
    eventId: row.eventId,
    committedAtMs: row.committedAtMs,
    epoch,
    revisionIndex: row.revisionIndex,
    revisionEvents: row.revisionEvents,
  });
}

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/**
 * `rows` (in id order) as revisions, each in id order, ordered by their first row: within an
 * account that is revision order, as an account's later revision has larger ids throughout.
 */
function byRevision(rows: readonly OutboxRow[]): OutboxRow[][] {
  const revisions = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const key = `${row.accountId}\u0000${row.revision}`;
    const revision = revisions.get(key);
    if (revision === undefined) revisions.set(key, [row]);
    else revision.push(row);
  }
  return [...revisions.values()];
}

interface Pending {
  readonly row: OutboxRow;
  readonly event: ChangeEvent;
  readonly bytes: number;
}

/** What a pass learned so far: accounts it sends no more of, refusals not yet judged, events delivered. */
interface PassState {
  readonly held: Set<string>;
  readonly refused: { item: Pending; error: unknown }[];
  delivered: number;
}

/** Why a pass stopped early: the loop backs off and reads again. */
class PassAborted extends Error {}

/**
 * The outbox relay: wakes on Postgres NOTIFY (with a slow fallback poll), reads unpublished rows in
 * commit order, sends them with the idempotent producer in batches bounded by bytes, then marks
 * them published. A failure Kafka or Postgres may recover from leaves the rows unpublished and
 * the loop backs off; on recovery the backlog drains in the same order. A crash between send and
 * mark re-sends rows later: duplicates carry the same revision and event id, so consumers drop
 * them.
 *
 * An event Kafka refuses for good (too large, invalid) is parked: its account is set aside, its
 * later events wait behind it, every other account keeps flowing (README, "Parked events").
 *
 * Only one relay per schema is active at a time: the one whose Postgres session holds the advisory
 * lock. It reads and marks rows on that session only, checks it before every send and every
 * `leaseCheckMs`, and gives leadership up on any error or end of it (README, "Relay leadership").
 *
 * @example
 * const relay = createOutboxRelay({ outbox: createOutboxSource(store), publisher, logger });
 * relay.start();
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const batchSize = checkRange("batchSize", options.batchSize ?? 500, 1, 10_000);
  const maxEventBytes = checkRange("maxEventBytes", options.maxEventBytes ?? 1_000_000, 1024, 1 << 30);
  const maxBatchBytes = checkRange("maxBatchBytes", options.maxBatchBytes ?? 900_000, 1024, 1 << 30);
  const fallbackPollMs = options.fallbackPollMs ?? 5000;
  const maxBackoffMs = options.maxBackoffMs ?? 2000;
  const leaseCheckMs = checkRange("leaseCheckMs", options.leaseCheckMs ?? 1000, 10, 600_000);
  const lockQueryTimeoutMs = checkRange("lockQueryTimeoutMs", options.lockQueryTimeoutMs ?? 5000, 100, 600_000);
  const takeoverDelayMs = checkRange("takeoverDelayMs", options.takeoverDelayMs ?? 1000, 0, 600_000);
  const watermarkMs = checkRange("watermarkMs", options.watermarkMs ?? 1000, 10, 600_000);
  const { outbox, publisher, logger } = options;
  const log = logger.child({ component: "outbox-relay" });
  const telemetry = options.telemetry ?? TELEMETRY_DISABLED;

  /**
   * Sends `items`; the rows of one traced write (one stored trace context) go in one PRODUCER span
   * continuing that write's trace, whose traceparent each of their messages carries.
   */
  const send = async (items: readonly Pending[]): Promise<void> => {
    const events = items.map((i) => i.event);
    if (!telemetry.enabled) return publisher.publish(events);
    const spans = new Map<string, SpanHandle>();
    const headers = items.map(({ row }) => {
      if (row.traceContext === undefined) return undefined;
      let span = spans.get(row.traceContext);
      if (span === undefined) {
        span = telemetry.startSpan("gatehouse.outbox publish", {
          kind: "producer",
          parent: row.traceContext,
          attributes: {
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "gatehouse.account_id": row.accountId,
            "gatehouse.revision": row.revision,
          },
        });
        spans.set(row.traceContext, span);
      }
      const traceparent = span.traceparent;
      return traceparent === undefined ? undefined : { [TRACEPARENT_HEADER]: traceparent };
    });
    try {
      await publisher.publish(events, headers);
    } catch (e) {
      for (const s of spans.values()) s.end(e);
      throw e;
    }
    for (const s of spans.values()) s.end();
  };

  let running = false;
  let loop: Promise<void> | undefined;
  let woken = false;
  let interrupt: (() => void) | undefined;
  let lease: OutboxLease | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  let listener: { close(): Promise<void> } | undefined;
  let published = 0;
  let failures = 0;
  let parkedCount = 0;
  let leadershipLost = 0;
  let lastError: string | undefined;
  let watermarks = 0;
  let lastWatermarkMs: number | undefined;
  /**
   * Under the current lease: a time before which every committed row is published (parked
   * accounts' excepted), i.e. the commit horizon taken before the last read that left nothing to
   * send; undefined until such a read.
   */
  let publishedBefore: number | undefined;
  let nextWatermarkAt = 0;

  const wake = (): void => {
    woken = true;
    interrupt?.();
  };

  /** Sleeps `ms`, cut short by stop() and a lost lease and, when `wakeable`, by a NOTIFY. */
  const sleep = (ms: number, wakeable: boolean): Promise<void> =>
    new Promise((resolve) => {
      if (!running || (wakeable && woken)) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        interrupt = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      interrupt = wakeable ? done : () => (running && lease?.held() !== false ? undefined : done());
    });

  const failed = (e: unknown, what: string): void => {
    failures++;
    const err = IamError.is(e) ? e : new IamError("ServiceFailure", what, { cause: e });
    lastError = `${err.awsName}: ${err.message}`;
    log.warn({ err: err.cause ?? err, awsName: err.awsName, retriable: err.retriable }, `${what}; will retry`);
  };

  const dropLease = async (): Promise<void> => {
    clearInterval(leaseTimer);
    leaseTimer = undefined;
    const old = lease;
    lease = undefined;
    await old?.release();
  };

  const lead = async (): Promise<OutboxLease | undefined> => {
    let backoff = 100;
    let taken: OutboxLease | undefined;
    while (running && taken === undefined) {
      try {
        taken = await outbox.tryLead({ queryTimeoutMs: lockQueryTimeoutMs });
        if (taken !== undefined) break;
      } catch (e) {
        failed(e, "relay could not reach Postgres to take leadership");
      }
      await sleep(backoff, false);
      backoff = Math.min(backoff * 2, maxBackoffMs);
    }
    if (taken === undefined) return undefined;
    if (!running) {
      await taken.release();
      return undefined;
    }
    const mine = taken;
    lease = mine;
    mine.onLost((cause) => {
      if (!running || lease !== mine) return;
      leadershipLost++;
      lastError = `${cause.awsName}: ${cause.message}`;
      log.error(
        { err: cause.cause ?? cause },
        "outbox relay lost leadership; it stopped sending and tries to lead again",
      );
      interrupt?.();
    });
    leaseTimer = setInterval(() => void mine.check().catch(() => {}), leaseCheckMs);
    leaseTimer.unref();
    log.info({ epoch: mine.epoch }, "outbox relay is the active relay");
    publishedBefore = undefined;
    nextWatermarkAt = 0;
    while (running && listener === undefined) {
      try {
        listener = await outbox.listen(wake, (e) => failed(e, "outbox listener lost its connection"));
      } catch (e) {
        failed(e, "outbox listener could not connect");
        await sleep(backoff, false);
      }
    }
    // A relay that lost its lock stops before its next send, but one send may still be in flight.
    if (takeoverDelayMs > 0) await sleep(takeoverDelayMs, false);
    return mine;
  };

  const park = async (l: OutboxLease, item: Pending, reason: string, cause?: unknown): Promise<void> => {
    await l.park(item.row, reason);
    parkedCount++;
    const notice: ParkedNotice = {
      accountId: item.row.accountId,
      outboxId: item.row.id,
      eventId: item.row.eventId,
      revision: item.row.revision,
      reason,
    };
    log.error(
      { ...notice, err: cause },
      "change event parked: this account's events are held until an operator releases it (gh_outbox_release)",
    );
    options.onParked?.(notice);
  };

  const retriable = (e: unknown): boolean => !IamError.is(e) || e.retriable;

  /** The reason a parked event carries: Kafka's own words (kafkajs keeps them in the cause). */
  const refusal = (e: unknown): string => {
    const cause = IamError.is(e) ? e.cause : e;
    const detail = cause instanceof Error ? cause.message : String(cause);
    return `Kafka refused the event: ${IamError.is(e) ? `${e.message}: ` : ""}${detail}`;
  };

  /** A round trip on the lock session before a send: a relay that lost it sends nothing more. */
  const stillLeading = async (l: OutboxLease): Promise<void> => {
    try {
      await l.check();
    } catch (e) {
      failed(e, "the relay's lock session did not answer before a send");
      throw new PassAborted();
    }
  };

  /**
   * Sends and marks `items`; on a lasting refusal, finds the events at fault one by one. Within a
   * pass, an account with a parked or refused event sends nothing more (its order is kept).
   */
  const deliver = async (l: OutboxLease, items: Pending[], state: PassState): Promise<void> => {
    if (items.length === 0) return;
    await stillLeading(l);
    try {
      await send(items);
    } catch (e) {
      if (!l.held() || retriable(e)) {
        failed(e, `publishing ${items.length} outbox rows failed`);
        throw new PassAborted();
      }
      if (items.length > 1) failed(e, `Kafka refused a batch of ${items.length} events; sending them one at a time`);
      return deliverOneByOne(l, items, state, e);
    }
    try {
      await l.markPublished(items.map((i) => i.row.id));
    } catch (e) {
      // Already in Kafka: a re-send after this is a harmless duplicate with the same revision.
      failed(e, "marking published rows failed");
      throw new PassAborted();
    }
    state.delivered += items.length;
    published += items.length;
    options.onPublished?.(items.map((i) => i.row));
  };

  const deliverOneByOne = async (
    l: OutboxLease,
    items: Pending[],
    state: PassState,
    batchError: unknown,
  ): Promise<void> => {
    for (const item of items) {
      const account = item.row.accountId;
      if (state.held.has(account)) continue;
      if (items.length > 1) await stillLeading(l);
      try {
        // A batch of this one event was just refused: that is its answer.
        if (items.length === 1) throw batchError;
        await send([item]);
      } catch (e) {
        if (!l.held() || retriable(e)) {
          failed(e, "publishing an outbox row failed");
          throw new PassAborted();
        }
        // Kafka names the record itself as the problem: park it now. Any other lasting refusal
        // waits for the end of the pass (see there).
        if (rejectsRecords(e)) await park(l, item, refusal(e), e);
        else state.refused.push({ item, error: e });
        state.held.add(account);
        continue;
      }
      try {
        await l.markPublished([item.row.id]);
      } catch (e) {
        failed(e, "marking a published row failed");
        throw new PassAborted();
      }
      state.delivered++;
      published++;
      options.onPublished?.([item.row]);
    }
  };

  /**
   * One pass over `rows`: whole revisions in batches bounded by bytes (a revision larger than a
   * batch goes in consecutive sends, which keep its order), a revision with an oversize event
   * parked at that event before any of it is sent.
   */
  const pass = async (l: OutboxLease, rows: readonly OutboxRow[]): Promise<void> => {
    const state: PassState = { held: new Set(), refused: [], delivered: 0 };
    let batch: Pending[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      const full = batch;
      batch = [];
      bytes = 0;
      await deliver(l, full, state);
    };
    for (const revision of byRevision(rows)) {
      const account = revision[0]?.accountId ?? "";
      if (state.held.has(account)) continue;
      const items = revision.map((row) => {
        const event = toChangeEvent(row, l.epoch);
        // A traced row's header has the stored traceparent's length.
        const traced =
          telemetry.enabled && row.traceContext !== undefined ? { [TRACEPARENT_HEADER]: row.traceContext } : undefined;
        return { row, event, bytes: changeMessageBytes(event, traced) };
      });
      const size = items.reduce((n, i) => n + i.bytes, 0);
      const oversize = items.find((i) => i.bytes > maxEventBytes);
      // What comes before a revision goes first, so parking keeps every account's order; and
      // sending it may hold the account of the revision at hand.
      if (oversize !== undefined || (batch.length > 0 && bytes + size > maxBatchBytes)) {
        await flush();
        if (state.held.has(account)) continue;
      }
      if (oversize !== undefined) {
        const reason = `the event has ${oversize.bytes} bytes; the relay sends at most ${maxEventBytes}`;
        await park(l, oversize, reason);
        state.held.add(account);
        continue;
      }
      for (const item of items) {
        if (batch.length > 0 && bytes + item.bytes > maxBatchBytes) {
          await flush();
          if (state.held.has(account)) break;
        }
        batch.push(item);
        bytes += item.bytes;
      }
    }
    await flush();
    if (state.refused.length === 0) return;
    // A lasting refusal that no event of the pass escapes is about Kafka or this client
    // (authorization, a misconfigured topic), not one event: parking would set every account
    // aside. Once other events go through, the refused ones are the events' own problem.
    if (state.delivered === 0) {
      failed(state.refused[0]?.error, "Kafka refuses every event it is sent");
      throw new PassAborted();
    }
    for (const { item, error } of state.refused) await park(l, item, refusal(error), error);
  };

  /**
   * Sends a round of watermarks when one is due and the lease vouches for a time. A failure is
   * logged and the next round waits its interval: the events' sends report Kafka's state.
   */
  const heartbeat = async (l: OutboxLease): Promise<void> => {
    if (publishedBefore === undefined || Date.now() < nextWatermarkAt) return;
    nextWatermarkAt = Date.now() + watermarkMs;
    const committedBeforeMs = publishedBefore;
    try {
      await l.check(); // a relay that lost its lock sends nothing, watermarks included
      await publisher.publishWatermark({ committedBeforeMs, epoch: l.epoch, sentAtMs: Date.now() });
    } catch (e) {
      failed(e, "sending watermarks failed");
      return;
    }
    watermarks++;
    lastWatermarkMs = committedBeforeMs;
  };

  const run = async (): Promise<void> => {
    let backoff = 50;
    while (running) {
      if (lease === undefined || !lease.held()) {
        if (lease !== undefined) {
          await dropLease();
          // Step back for two of the waiting relays' retry intervals, so that a healthy peer
          // takes over rather than the relay whose session just failed.
          await sleep(2 * maxBackoffMs, false);
        }
        await lead();
        continue;
      }
      woken = false;
      const l = lease;
      let rows: OutboxRow[];
      let horizon: number | undefined;
      try {
        // Taken before the read: what committed before it is visible to the read (see there).
        horizon = await l.commitHorizon();
        rows = await l.fetchUnpublished(batchSize);
      } catch (e) {
        failed(e, "reading the outbox failed");
        await sleep(backoff, false);
        backoff = Math.min(backoff * 2, maxBackoffMs);
        continue;
      }
      if (rows.length === 0) {
        publishedBefore = horizon ?? publishedBefore;
        await heartbeat(l);
        const untilMark = nextWatermarkAt > Date.now() ? nextWatermarkAt - Date.now() : watermarkMs;
        await sleep(Math.min(fallbackPollMs, untilMark), true);
        continue;
      }
      try {
        await pass(l, rows);
      } catch (e) {
        if (!(e instanceof PassAborted)) failed(e, "parking an outbox row failed");
        await sleep(backoff, false);
        backoff = Math.min(backoff * 2, maxBackoffMs);
        continue;
      }
      // A read of fewer rows than asked for held every row visible to it (a fetch only adds the
      // rest of the revisions it touches); the pass sent or parked all of them.
      if (rows.length < batchSize) publishedBefore = horizon ?? publishedBefore;
      await heartbeat(l);
      backoff = 50;
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
      await dropLease();
    },
    stats: () => ({
      leading: lease?.held() === true,
      published,
      failures,
      parked: parkedCount,
      leadershipLost,
      lastError,
      watermarks,
      lastWatermarkMs,
    }),
  };
}
