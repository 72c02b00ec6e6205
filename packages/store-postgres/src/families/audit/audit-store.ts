import { IamError } from "@gatehouse/core";
import { pageQuery, toPage } from "../../paging.ts";
import { translatePgError } from "../../pg-error.ts";
import type { Page } from "../../records.ts";
import { preparing, rollback, type StoreContext } from "../../tx.ts";
import { type AuditEventInput, type AuditSlot, auditJson, runInAuditScope } from "./audit-scope.ts";

/** A recorded call, as LookupEvents and the audit topic carry it. */
export interface AuditRecord extends AuditEventInput {
  /** The row's id: the order of insertion (not of commit). */
  readonly id: number;
  /** Undefined when the call succeeded; else the gRPC status name (`PERMISSION_DENIED`). */
  readonly errorCode: string | undefined;
  /** The AWS error name (`AccessDenied`), when the call failed. */
  readonly errorName: string | undefined;
  /** The revision a successful write produced. */
  readonly revision: number | undefined;
  /** The region that served the call (STS, sampled decisions); undefined for control-plane calls. */
  readonly region: string | undefined;
  /** What identifies the call's result (never a secret); undefined if none. */
  readonly responseElements: Readonly<Record<string, unknown>> | undefined;
}

/**
 * A call a region served (STS issuance, a sampled Authorize decision), as the control plane
 * consumes it from the regional audit topic; its parameters already redacted by the region.
 */
export interface RegionAuditEventInput extends AuditEventInput {
  readonly region: string;
  readonly responseElements: Readonly<Record<string, unknown>> | undefined;
  readonly errorCode: string | undefined;
  readonly errorName: string | undefined;
}

/** Filters and page of {@link AuditStore.lookupAuditEvents}; every filter is optional. */
export interface AuditLookup {
  readonly accountId?: string | undefined;
  readonly userName?: string | undefined;
  readonly operation?: string | undefined;
  /** Events at or after this time. */
  readonly startTimeMs?: number | undefined;
  /** Events before this time. */
  readonly endTimeMs?: number | undefined;
  readonly marker?: string | undefined;
  /** 1..1000; default 100. */
  readonly maxItems?: number | undefined;
}

/** Options of {@link AuditStore.pruneAuditEvents}. */
export interface AuditPruneOptions {
  /** Events older than this many days are deleted. */
  readonly retentionDays: number;
  /** Rows per DELETE statement (each its own short transaction). */
  readonly batchSize: number;
  /** Stops between statements when aborted. */
  readonly signal?: AbortSignal | undefined;
}

/** The audit trail (migration 0030): recording calls, looking them up, retention, and its outbox. */
export interface AuditStore {
  /**
   * Runs `body` (a control-plane call) as an audited call: the first write of the call inserts
   * `event` in its own transaction with the revision it produced (so a write that rolls back
   * leaves no row); a call that wrote nothing (a read, a denied or failed call, a write that
   * changed nothing) gets its row in a small transaction of its own once `body` ends. A failure
   * after a committed write marks that row with the error. Returns or rethrows `body`'s outcome;
   * a successful call whose event cannot be recorded fails (nothing unrecorded succeeds).
   */
  auditCall<T>(event: AuditEventInput, body: () => Promise<T>): Promise<T>;
  /** Recorded calls, newest (last inserted) first, paged. */
  lookupAuditEvents(lookup: AuditLookup): Promise<Page<AuditRecord>>;
  /** Deletes events older than the retention, `batchSize` rows per statement; returns how many went. */
  pruneAuditEvents(options: AuditPruneOptions): Promise<number>;
  /**
   * Claims up to `limit` unpublished events (rows other replicas hold are skipped), hands them to
   * `publish` in id order, and marks them published once it resolves, in one transaction; a
   * failing `publish` leaves them unpublished. Returns how many were published.
   */
  publishAuditEvents(limit: number, publish: (events: readonly AuditRecord[]) => Promise<void>): Promise<number>;
  /**
   * Inserts events the regions served, in one statement; an event already recorded (the topic
   * delivers at least once) is skipped by its `eventId`. They are published to the audit topic
   * like the control plane's own. Returns how many were new.
   */
  recordRegionAuditEvents(events: readonly RegionAuditEventInput[]): Promise<number>;
}

interface AuditRow {
  id: string;
  event_id: string;
  time_ms: string;
  account_id: string | null;
  principal_arn: string;
  user_name: string | null;
  access_key_id: string;
  source_ip: string | null;
  operation: string;
  request_parameters: Record<string, unknown>;
  error_code: string | null;
  error_name: string | null;
  revision: string | null;
  region: string | null;
  response_elements: Record<string, unknown> | null;
}

const SELECT = `SELECT id, event_id, (extract(epoch FROM event_time) * 1000)::bigint AS time_ms, account_id,
  principal_arn, user_name, access_key_id, source_ip, operation, request_parameters, error_code, error_name, revision,
  region, response_elements
  FROM audit_events`;

function toRecord(r: AuditRow): AuditRecord {
  return {
    id: Number(r.id),
    eventId: r.event_id,
    eventTimeMs: Number(r.time_ms),
    accountId: r.account_id ?? undefined,
    principalArn: r.principal_arn,
    userName: r.user_name ?? undefined,
    accessKeyId: r.access_key_id,
    sourceIp: r.source_ip ?? undefined,
    operation: r.operation,
    requestParameters: r.request_parameters,
    errorCode: r.error_code ?? undefined,
    errorName: r.error_name ?? undefined,
    revision: r.revision === null ? undefined : Number(r.revision),
    region: r.region ?? undefined,
    responseElements: r.response_elements ?? undefined,
  };
}

/** The gRPC status name and AWS error name of a failed call; anything unexpected is INTERNAL. */
function errorOf(e: unknown): { code: string; name: string } {
  return IamError.is(e) ? { code: e.code, name: e.awsName } : { code: "INTERNAL", name: "ServiceFailure" };
}

const MARKER = /^\d{1,18}$/;

export function createAuditStore(ctx: StoreContext): AuditStore {
  const record = async (slot: AuditSlot, error: unknown): Promise<void> => {
    const failed = error === undefined ? undefined : errorOf(error);
    if (slot.recordedAt !== undefined) {
      // A write committed the event; a later step of the call failed.
      if (failed !== undefined) {
        await ctx.pool.query(
          "UPDATE audit_events SET error_code = $2, error_name = $3 WHERE event_id = $1 AND revision = $4",
          [slot.event.eventId, failed.code, failed.name, slot.recordedAt],
        );
      }
      return;
    }
    const event = failed === undefined ? slot.event : { ...slot.event, errorCode: failed.code, errorName: failed.name };
    await ctx.pool.query({
      name: "gatehouse_audit_insert",
      text: "SELECT gh_audit_insert($1::jsonb, NULL)",
      values: [auditJson(event)],
    });
  };

  return {
    async auditCall(event, body) {
      const slot: AuditSlot = { event, recordedAt: undefined };
      let value: Awaited<ReturnType<typeof body>>;
      try {
        value = await runInAuditScope(slot, body);
      } catch (e) {
        // The call's own error is what the caller gets; a lost audit row must not hide it.
        await record(slot, e).catch(() => {});
        throw e;
      }
      try {
        await record(slot, undefined);
      } catch (e) {
        throw translatePgError(e, `${event.operation} (audit trail)`);
      }
      return value;
    },

    async lookupAuditEvents(lookup) {
      const page = pageQuery({ marker: lookup.marker, maxItems: lookup.maxItems });
      let afterId: number | null = null;
      if (page.after !== null) {
        if (!MARKER.test(page.after)) throw new IamError("InvalidInput", "marker is not valid", { field: "marker" });
        afterId = Number(page.after);
      }
      try {
        const r = await preparing(ctx.pool).query<AuditRow>(
          `${SELECT}
           WHERE ($1::text IS NULL OR account_id = $1) AND ($2::text IS NULL OR user_name = $2)
             AND ($3::text IS NULL OR operation = $3)
             AND ($4::bigint IS NULL OR event_time >= to_timestamp($4::double precision / 1000))
             AND ($5::bigint IS NULL OR event_time < to_timestamp($5::double precision / 1000))
             AND ($6::bigint IS NULL OR id < $6)
           ORDER BY id DESC LIMIT $7`,
          [
            lookup.accountId ?? null,
            lookup.userName ?? null,
            lookup.operation ?? null,
            lookup.startTimeMs ?? null,
            lookup.endTimeMs ?? null,
            afterId,
            page.limit + 1,
          ],
        );
        return toPage(r.rows.map(toRecord), page.limit, (e) => String(e.id));
      } catch (e) {
        throw translatePgError(e, "LookupEvents");
      }
    },

    async pruneAuditEvents({ retentionDays, batchSize, signal }) {
      if (!Number.isInteger(retentionDays) || retentionDays < 1) {
        throw new Error(`retentionDays must be a positive integer, got ${retentionDays}`);
      }
      let total = 0;
      while (signal?.aborted !== true) {
        // Short statements over the time index: writers insert new rows, never these.
        const r = await ctx.pool
          .query(
            `DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events
               WHERE event_time < now() - make_interval(days => $1) LIMIT $2)`,
            [retentionDays, batchSize],
          )
          .catch((e: unknown) => {
            throw translatePgError(e, "PruneAuditEvents");
          });
        total += r.rowCount ?? 0;
        if ((r.rowCount ?? 0) < batchSize) break;
      }
      return total;
    },

    async recordRegionAuditEvents(events) {
      if (events.length === 0) return 0;
      try {
        const r = await ctx.pool.query(
          `INSERT INTO audit_events (event_id, event_time, account_id, principal_arn, user_name, access_key_id,
             source_ip, operation, request_parameters, error_code, error_name, region, response_elements)
           SELECT (e->>'eventId')::uuid, to_timestamp((e->>'eventTimeMs')::double precision / 1000), e->>'accountId',
             e->>'principalArn', e->>'userName', e->>'accessKeyId', e->>'sourceIp', e->>'operation',
             e->'requestParameters', e->>'errorCode', e->>'errorName', e->>'region', e->'responseElements'
             FROM jsonb_array_elements($1::jsonb) AS e
           ON CONFLICT (event_id) WHERE region IS NOT NULL DO NOTHING`,
          [JSON.stringify(events)],
        );
        return r.rowCount ?? 0;
      } catch (e) {
        throw translatePgError(e, "RecordRegionAuditEvents");
      }
    },

    async publishAuditEvents(limit, publish) {
      const client = await ctx.pool.connect().catch((e: unknown) => {
        throw translatePgError(e, "PublishAuditEvents");
      });
      try {
        await client.query("BEGIN");
        const r = await client.query<AuditRow>(
          `${SELECT} WHERE NOT published ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        if (r.rows.length === 0) {
          await client.query("COMMIT");
          return 0;
        }
        await publish(r.rows.map(toRecord));
        await client.query("UPDATE audit_events SET published = true WHERE id = ANY($1::bigint[])", [
          r.rows.map((row) => row.id),
        ]);
        await client.query("COMMIT");
        return r.rows.length;
      } catch (e) {
        await rollback(client);
        throw IamError.is(e) ? e : translatePgError(e, "PublishAuditEvents");
      } finally {
        client.release();
      }
    },
  };
}
