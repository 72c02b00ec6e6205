import { createHash } from "node:crypto";
import { createRegionAuditConsumer, type RegionAuditConsumer } from "@gatehouse/bus-kafka";
import { IamError } from "@gatehouse/core";
import type { RegionAuditRecord } from "@gatehouse/proto";
import type { AccessKeyUse, IamStore, RegionAuditEventInput } from "@gatehouse/store-postgres";
import type { Logger } from "pino";

/** Options of {@link createRegionAuditIngest}. */
export interface RegionAuditIngestOptions {
  readonly store: Pick<IamStore, "recordRegionAuditEvents" | "recordAccessKeyUses">;
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly logger: Logger;
  /** Pause between attempts to join the topic's group while Kafka is unreachable. Default 5 s. */
  readonly retryMs?: number;
}

/** What the ingest did since it started. */
export interface RegionAuditIngestStats {
  readonly events: number;
  readonly keyUses: number;
  /** Records that did not decode or failed the checks (logged, skipped). */
  readonly rejected: number;
}

/** The control plane's consumer of the regional audit topic. */
export interface RegionAuditIngest {
  /** Joins the group in the background (retrying while Kafka is down); never blocks start-up. */
  start(): void;
  /** Resolves once the consumer has joined its group (for tests and readiness logs). */
  joined(): Promise<void>;
  stop(): Promise<void>;
  stats(): RegionAuditIngestStats;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACCOUNT = /^\d{12}$/;
const ACCESS_KEY = /^AKIA[A-Z2-7]{16}$/;
const NAME = /^[\w.-]{1,64}$/;
/** A region's event carries at most this much JSON (a region's own parameters are far smaller). */
const MAX_JSON = 64 * 1024;
/** How far ahead of this clock a region's time may be before it is taken as now. */
const MAX_AHEAD_MS = 5 * 60_000;

function json(text: string, what: string): Record<string, unknown> | undefined {
  if (text === "") return undefined;
  if (text.length > MAX_JSON) throw new Error(`${what} has ${text.length} characters`);
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${what} is not an object`);
  return value as Record<string, unknown>;
}

/** The same event's id in another account: a stable UUID (v8 layout) from the event id and that account. */
export function eventIdIn(eventId: string, accountId: string): string {
  const h = createHash("sha256").update(`${eventId}:${accountId}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((Number.parseInt(h[16] ?? "0", 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A cross-account AssumeRole is recorded in the caller's account and, as CloudTrail does, in the
 * role's account too (its own event id there, derived from the first, so redelivery stays idempotent).
 */
function inRoleAccount(e: RegionAuditEventInput): RegionAuditEventInput | undefined {
  if (e.operation !== "AssumeRole") return undefined;
  const roleArn = e.requestParameters.roleArn;
  const roleAccount = typeof roleArn === "string" ? /^arn:[\w-]+:iam::(\d{12}):role\//.exec(roleArn)?.[1] : undefined;
  if (roleAccount === undefined || roleAccount === e.accountId) return undefined;
  return { ...e, eventId: eventIdIn(e.eventId, roleAccount), accountId: roleAccount };
}

/** What a batch of the regional audit topic holds, checked: events to record, key uses, what was refused. */
export interface RegionAuditBatch {
  readonly events: RegionAuditEventInput[];
  /** At most one per key: the latest use in the batch. */
  readonly keyUses: AccessKeyUse[];
  readonly rejected: { readonly why: string; readonly region?: string }[];
}

/** A string Postgres can store (text and jsonb refuse NUL), cut to `max` characters. */
function text(value: string, max: number, what: string): string {
  if (value.includes("\u0000")) throw new Error(`${what} contains a NUL character`);
  return value.slice(0, max);
}

/**
 * Checks and maps a batch of region audit records (pure; `now` bounds times from the future). A
 * region's record is input from another process: ids, account, names and sizes are checked, and a
 * time more than 5 minutes ahead is taken as `now`, so a wrong clock cannot pin a key's last use.
 */
export function parseRegionAuditRecords(
  records: readonly (RegionAuditRecord | undefined)[],
  now: number,
): RegionAuditBatch {
  const events: RegionAuditEventInput[] = [];
  const uses = new Map<string, AccessKeyUse>();
  const rejected: { why: string; region?: string }[] = [];
  const at = (ms: number) => Math.min(Number(ms), now + MAX_AHEAD_MS);
  for (const r of records) {
    if (r === undefined) {
      rejected.push({ why: "not a RegionAuditRecord" });
      continue;
    }
    if (r.schemaVersion !== 1 || !NAME.test(r.region)) {
      rejected.push({ why: `schema version ${r.schemaVersion} or region ${JSON.stringify(r.region)} not known` });
      continue;
    }
    if (r.record?.$case === "event") {
      const e = r.record.value;
      try {
        if (!UUID.test(e.eventId)) throw new Error("eventId is not a UUID");
        if (e.accountId !== "" && !ACCOUNT.test(e.accountId)) throw new Error("accountId is not 12 digits");
        if (!/^[A-Za-z]{1,64}$/.test(e.operation)) throw new Error("operation is not a name");
        const event: RegionAuditEventInput = {
          eventId: e.eventId,
          eventTimeMs: at(e.eventTimeMs),
          accountId: e.accountId === "" ? undefined : e.accountId,
          principalArn: text(e.principalArn, 2048, "principalArn"),
          userName: e.userName === "" ? undefined : text(e.userName, 128, "userName"),
          accessKeyId: text(e.accessKeyId, 128, "accessKeyId"),
          sourceIp: e.sourceIp === "" ? undefined : text(e.sourceIp, 64, "sourceIp"),
          operation: e.operation,
          requestParameters:
            json(text(e.requestParametersJson, MAX_JSON + 1, "requestParametersJson"), "requestParametersJson") ?? {},
          responseElements: json(
            text(e.responseElementsJson, MAX_JSON + 1, "responseElementsJson"),
            "responseElementsJson",
          ),
          errorCode: e.errorCode === "" ? undefined : text(e.errorCode, 64, "errorCode"),
          errorName: e.errorName === "" ? undefined : text(e.errorName, 128, "errorName"),
          region: r.region,
        };
        events.push(event);
        const mirrored = inRoleAccount(event);
        if (mirrored !== undefined) events.push(mirrored);
      } catch (err) {
        rejected.push({ why: (err as Error).message, region: r.region });
      }
    } else if (r.record?.$case === "accessKeyUse") {
      const u = r.record.value;
      if (!ACCESS_KEY.test(u.accessKeyId) || !/^[a-z0-9-]{1,64}$/.test(u.service)) {
        rejected.push({ why: "accessKeyUse has a bad key id or service", region: r.region });
        continue;
      }
      const use = { accessKeyId: u.accessKeyId, atMs: at(u.usedAtMs), service: u.service, region: r.region };
      const known = uses.get(u.accessKeyId);
      // One row per key per statement: the latest use of the batch.
      if (known === undefined || known.atMs < use.atMs) uses.set(u.accessKeyId, use);
    } else {
      rejected.push({ why: "empty record", region: r.region });
    }
  }
  return { events, keyUses: [...uses.values()], rejected };
}

/**
 * Writes what the regions report into the control plane's state: STS issuance and sampled
 * decisions into the audit trail (a cross-account AssumeRole in both accounts; inserted once per
 * event id, whatever Kafka redelivers; then published to the audit topic and shown by
 * LookupEvents like every call), access keys' last use into the keys (a use older than the stored
 * one is ignored). A batch is written in one statement per kind, and its offsets committed after;
 * Postgres being unavailable redelivers it. Records that do not decode, fail the checks
 * ({@link parseRegionAuditRecords}) or that Postgres refuses are logged and skipped, never retried.
 */
export function createRegionAuditIngest(options: RegionAuditIngestOptions): RegionAuditIngest {
  const { store, logger } = options;
  const log = logger.child({ component: "region-audit-ingest" });
  const retryMs = options.retryMs ?? 5000;
  let consumer: RegionAuditConsumer | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let joining: Promise<void> | undefined;
  const counts = { events: 0, keyUses: 0, rejected: 0 };

  const onRecords = async (records: readonly (RegionAuditRecord | undefined)[]) => {
    const batch = parseRegionAuditRecords(records, Date.now());
    for (const r of batch.rejected) {
      counts.rejected++;
      log.warn({ why: r.why, region: r.region }, "skipped a region audit record");
    }
    if (batch.events.length > 0) {
      try {
        const recorded = await store.recordRegionAuditEvents(batch.events);
        counts.events += recorded; // (not `+= await`: partitions' batches may run at once)
      } catch (e) {
        if (!IamError.is(e) || e.retriable) throw e; // Postgres unavailable: the batch is redelivered.
        // A record Postgres refuses must not stall the topic: one at a time, the refused skipped.
        for (const event of batch.events) {
          try {
            const recorded = await store.recordRegionAuditEvents([event]);
            counts.events += recorded;
          } catch (one) {
            if (!IamError.is(one) || one.retriable) throw one;
            counts.rejected++;
            log.warn({ err: one, eventId: event.eventId, region: event.region }, "skipped a region audit event");
          }
        }
      }
    }
    if (batch.keyUses.length > 0) {
      await store.recordAccessKeyUses(batch.keyUses);
      counts.keyUses += batch.keyUses.length;
    }
  };

  const join = async (): Promise<void> => {
    while (!stopped) {
      try {
        const c = await createRegionAuditConsumer({
          brokers: options.brokers,
          clientId: "gatehouse-control-plane-region-audit",
          topic: options.topic,
          groupId: options.groupId,
          onRecords,
        });
        if (stopped) await c.stop();
        else {
          consumer = c;
          log.info({ topic: options.topic, groupId: options.groupId }, "consuming the regional audit topic");
        }
        return;
      } catch (e) {
        log.warn({ err: e }, "could not consume the regional audit topic; retrying");
        await new Promise<void>((resolve) => {
          timer = setTimeout(resolve, retryMs);
        });
      }
    }
  };

  return {
    start() {
      joining ??= join();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await joining;
      await consumer?.stop();
      consumer = undefined;
    },
    joined: () => joining ?? Promise.reject(new Error("the region audit ingest was not started")),
    stats: () => ({ ...counts }),
  };
}
