import type { AuditPublisher } from "@gatehouse/bus-kafka";
import { IamError } from "@gatehouse/core";
import type { AuditStore } from "@gatehouse/store-postgres";
import type { Logger } from "pino";
import { auditEventToWire } from "./operations/audit.ts";

/** Options of {@link createAuditRelay}. */
export interface AuditRelayOptions {
  store: Pick<AuditStore, "publishAuditEvents">;
  publisher: AuditPublisher;
  logger: Logger;
  /** Events per send. Default 500. */
  batchSize?: number;
  /** Pause when nothing is left to send. Default 500 ms. */
  pollMs?: number;
  /** Upper bound of the back-off while Kafka or Postgres is down. Default 5000 ms. */
  maxBackoffMs?: number;
}

/** The loop that moves recorded calls to the audit topic. */
export interface AuditRelay {
  start(): void;
  /** Stops the loop; a send in flight finishes first. */
  stop(): Promise<void>;
  /** Events sent since start. */
  published(): number;
}

/**
 * Publishes the audit trail: the `audit_events` table is the audit topic's outbox (its rows commit
 * with the writes they record, `published` marks what reached Kafka), and this loop drains it with
 * `AuditStore.publishAuditEvents` (rows claimed with SKIP LOCKED, so every replica may run one)
 * through the shared idempotent producer (`createAuditPublisher`). Kafka being down delays the
 * topic, never a call: the rows wait and go in id order once it is back. Unlike the change relay
 * there is no revision order, leader or watermark to keep: audit consumers dedupe on `eventId`.
 */
export function createAuditRelay(options: AuditRelayOptions): AuditRelay {
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new Error(`batchSize must be an integer in 1..10000, got ${batchSize}`);
  }
  const log = options.logger.child({ component: "audit-relay" });
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let published = 0;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const run = async (): Promise<void> => {
    let backoff = 100;
    while (running) {
      let sent: number;
      try {
        sent = await options.store.publishAuditEvents(batchSize, (events) =>
          options.publisher.publish(events.map(auditEventToWire)),
        );
        backoff = 100;
      } catch (e) {
        const err = IamError.is(e) ? e : new IamError("ServiceFailure", "audit relay failed", { cause: e });
        log.warn({ err: err.cause ?? err, awsName: err.awsName }, "publishing audit events failed; will retry");
        await sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoffMs);
        continue;
      }
      published += sent;
      if (sent < batchSize) await sleep(pollMs);
    }
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
    published: () => published,
  };
}
