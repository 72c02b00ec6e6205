import { type Clock, systemClock } from "@gatehouse/core";
import type { RegionAuditEvent, RegionAuditRecord } from "@gatehouse/proto";
import type { Logger } from "pino";

/** Options of {@link createRegionAuditSink}. */
export interface RegionAuditSinkOptions {
  /** The region's name, stamped on every record. */
  readonly region: string;
  /** Sends records to the regional audit topic (`createRegionAuditPublisher`). */
  readonly publish: (records: readonly RegionAuditRecord[]) => Promise<void>;
  readonly logger: Logger;
  /** Records held at most (events and key uses waiting to be sent); beyond it new ones are dropped. Default 10,000. */
  readonly maxBuffered?: number;
  /** Pause between sends while records wait. Default 200 ms. */
  readonly flushMs?: number;
  /** Records per send. Default 500. */
  readonly batchSize?: number;
  /** Each access key's use is reported at most once per this interval (the latest use in it). Default 60 s. */
  readonly keyUseIntervalMs?: number;
  /** Upper bound of the pause after a failed send. Default 5 s. */
  readonly maxBackoffMs?: number;
  /** How long {@link RegionAuditSink.stop} waits for its last send (Kafka may be down). Default 5 s. */
  readonly stopTimeoutMs?: number;
  readonly clock?: Clock;
}

/** What a region's audit sink did so far. */
export interface RegionAuditStats {
  /** Records waiting to be sent (events, plus key uses already due). */
  readonly buffered: number;
  /** Access keys used since their last report. */
  readonly pendingKeyUses: number;
  readonly sent: number;
  /** Records dropped because the buffer was full (Kafka unreachable for long). */
  readonly dropped: number;
  readonly failedSends: number;
}

/**
 * A region's audit records on their way to the control plane: STS issuance, access keys' last
 * use, sampled decisions. Recording never blocks and never fails the call that records: it only
 * appends to a bounded buffer (and, when that is full, counts the record as dropped); a loop sends
 * the buffer to the regional audit topic in batches, keeping what failed for the next try. Key
 * uses are coalesced: one record per key per `keyUseIntervalMs`, with its latest use. Nothing here
 * calls the control plane, so a region keeps serving, and recording, while the control plane is down.
 */
export interface RegionAuditSink {
  /** Records a served call (no I/O; never throws). */
  event(event: Omit<RegionAuditEvent, "eventTimeMs"> & { eventTimeMs?: number }): void;
  /** Notes a long-term access key's use with `service` (no I/O; never throws). */
  keyUse(accessKeyId: string, service: string): void;
  start(): void;
  /**
   * Stops the loop after one last try to send what is buffered (key uses included), waiting for it
   * at most `stopTimeoutMs`; what is still unsent then is lost (and counted as dropped).
   */
  stop(): Promise<void>;
  stats(): RegionAuditStats;
}

/** Creates a {@link RegionAuditSink}. */
export function createRegionAuditSink(options: RegionAuditSinkOptions): RegionAuditSink {
  const { region, publish, logger } = options;
  const clock = options.clock ?? systemClock;
  const maxBuffered = options.maxBuffered ?? 10_000;
  const flushMs = options.flushMs ?? 200;
  const batchSize = options.batchSize ?? 500;
  const keyUseIntervalMs = options.keyUseIntervalMs ?? 60_000;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5000;
  for (const [name, v, min] of [
    ["maxBuffered", maxBuffered, 1],
    ["flushMs", flushMs, 1],
    ["batchSize", batchSize, 1],
    ["keyUseIntervalMs", keyUseIntervalMs, 1],
    ["maxBackoffMs", maxBackoffMs, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
  }
  let buffer: RegionAuditRecord[] = [];
  /** Records taken from the buffer by a send in progress (they count against the bound). */
  let held = 0;
  let keyUses = new Map<string, { atMs: number; service: string }>();
  let lastKeyFlush = clock.now();
  let sent = 0;
  let dropped = 0;
  let failedSends = 0;
  let warnedAt = Number.NEGATIVE_INFINITY;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const drop = (n: number) => {
    dropped += n;
    const now = clock.now();
    // Once a minute at most: a full buffer under load must not flood the log.
    if (now - warnedAt >= 60_000) {
      warnedAt = now;
      logger.warn({ dropped, buffered: buffer.length }, "region audit buffer is full: records dropped");
    }
  };
  const push = (r: RegionAuditRecord) => {
    if (buffer.length + held >= maxBuffered) drop(1);
    else buffer.push(r);
  };
  /** Moves the coalesced key uses into the buffer (once per interval, or at stop). */
  const takeKeyUses = (force: boolean) => {
    const now = clock.now();
    if (keyUses.size === 0 || (!force && now - lastKeyFlush < keyUseIntervalMs)) return;
    lastKeyFlush = now;
    const uses = keyUses;
    keyUses = new Map();
    for (const [accessKeyId, u] of uses) {
      push({
        schemaVersion: 1,
        region,
        record: { $case: "accessKeyUse", value: { accessKeyId, usedAtMs: u.atMs, service: u.service } },
      });
    }
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  /**
   * Sends what is buffered, batch by batch; false when a send failed (what was not sent goes back
   * ahead of what came meanwhile). The buffer is taken whole, so a drain costs O(records), however
   * long the backlog; `held` counts the taken records against the bound until they are sent.
   */
  const drain = async (): Promise<boolean> => {
    while (buffer.length > 0) {
      const pending = buffer;
      buffer = [];
      held = pending.length;
      for (let i = 0; i < pending.length; i += batchSize) {
        const batch = pending.slice(i, i + batchSize);
        try {
          await publish(batch);
        } catch (e) {
          failedSends++;
          const unsent = pending.slice(i);
          held = 0;
          buffer = buffer.length === 0 ? unsent : unsent.concat(buffer);
          logger.warn({ err: e, buffered: buffer.length }, "sending region audit records failed; will retry");
          return false;
        }
        held -= batch.length;
        sent += batch.length;
      }
    }
    return true;
  };
  const run = async () => {
    let backoff = flushMs;
    while (running) {
      takeKeyUses(false);
      const ok = await drain();
      backoff = ok ? flushMs : Math.min(backoff * 2, maxBackoffMs);
      if (running) await sleep(backoff);
    }
  };

  return {
    event(e) {
      try {
        push({
          schemaVersion: 1,
          region,
          record: { $case: "event", value: { ...e, eventTimeMs: e.eventTimeMs ?? clock.now() } },
        });
      } catch (err) {
        logger.error({ err }, "could not buffer a region audit event");
      }
    },
    keyUse(accessKeyId, service) {
      const known = keyUses.get(accessKeyId);
      if (known === undefined && keyUses.size >= maxBuffered) {
        drop(1);
        return;
      }
      const atMs = clock.now();
      if (known === undefined) keyUses.set(accessKeyId, { atMs, service });
      else {
        known.atMs = atMs;
        known.service = service;
      }
    },
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      let timer: NodeJS.Timeout | undefined;
      // A send in flight (the loop's) may hang while Kafka is unreachable: wait for it and for
      // the last send together, at most stopTimeoutMs.
      const sent = await Promise.race([
        (async () => {
          await loop;
          takeKeyUses(true);
          return drain();
        })(),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), stopTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!sent) {
        takeKeyUses(true);
        const lost = buffer.length + held;
        if (lost > 0) {
          logger.warn({ lost }, "region audit records could not be sent before stopping");
          dropped += lost;
          buffer = [];
          held = 0;
        }
      }
    },
    stats: () => ({
      buffered: buffer.length + held,
      pendingKeyUses: keyUses.size,
      sent,
      dropped,
      failedSends,
    }),
  };
}
