import { IamError } from "@gatehouse/core";
import type { AuditEvent } from "@gatehouse/proto";
import type { AuditRecord } from "@gatehouse/store-postgres";
import { toWire } from "../mappers.ts";
import { forAnyCaller, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pageOf } from "./paging.ts";

/** The IAM action LookupEvents needs (CloudTrail's `cloudtrail:LookupEvents`), on the account's root ARN. */
export const LOOKUP_EVENTS_ACTION = "iam:LookupEvents";

const ACCOUNT_ID = /^\d{12}$/;
const MAX_FILTER = 128;

/** A recorded call as LookupEvents answers it (and as the audit topic carries it). */
export function auditEventToWire(e: AuditRecord): AuditEvent {
  return {
    eventId: e.eventId,
    eventTimeMs: e.eventTimeMs,
    accountId: e.accountId ?? "",
    principalArn: e.principalArn,
    accessKeyId: e.accessKeyId,
    sourceIp: e.sourceIp ?? "",
    operation: e.operation,
    requestParametersJson: JSON.stringify(e.requestParameters),
    errorCode: e.errorCode ?? "",
    errorName: e.errorName ?? "",
    revision: e.revision ?? 0,
    region: e.region ?? "",
    responseElementsJson: e.responseElements === undefined ? "" : JSON.stringify(e.responseElements),
  };
}

function filter(value: string, field: string): string | undefined {
  if (value.length > MAX_FILTER) {
    throw new IamError("InvalidInput", `${field} has ${value.length} characters (at most ${MAX_FILTER})`, { field });
  }
  return value === "" ? undefined : value;
}

function time(ms: number, field: string): number | undefined {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new IamError("InvalidInput", `${field} must be a time in ms since the epoch, got ${ms}`, { field });
  }
  return ms === 0 ? undefined : ms;
}

/**
 * The audit trail. LookupEvents: recorded calls, newest first, filtered by account, IAM user name,
 * operation and time range, paged. The operator sees every account; an account's principals see
 * their own account only, authorized as `iam:LookupEvents` on the account root's ARN (the root
 * within its guardrails, as for ExportAccount).
 */
export function auditOperations({ store, authorizer, arns }: OperationDeps) {
  return {
    lookupEvents: forAnyCaller("LookupEvents", async (r, ctx) => {
      const { caller } = ctx;
      let accountId = filter(r.accountId, "accountId");
      if (accountId !== undefined && !ACCOUNT_ID.test(accountId)) {
        throw new IamError("ValidationError", `accountId ${JSON.stringify(accountId)} must be 12 digits`, {
          field: "accountId",
        });
      }
      const startTimeMs = time(r.startTimeMs, "startTimeMs");
      const endTimeMs = time(r.endTimeMs, "endTimeMs");
      if (startTimeMs !== undefined && endTimeMs !== undefined && endTimeMs <= startTimeMs) {
        throw new IamError("InvalidInput", `endTimeMs ${endTimeMs} must be after startTimeMs ${startTimeMs}`, {
          field: "endTimeMs",
        });
      }
      if (caller.kind !== "operator") {
        if (accountId !== undefined && accountId !== caller.accountId) {
          throw new IamError("AccessDenied", `${caller.arn} cannot look up the events of account ${accountId}`, {
            field: "accountId",
          });
        }
        accountId = caller.accountId;
        await authorizer.authorize(caller, {
          action: LOOKUP_EVENTS_ACTION,
          resource: arns.root(accountId),
          accountId,
          context: ctx.sourceIpContext(),
        });
      }
      const page = await store.lookupAuditEvents({
        accountId,
        userName: filter(r.userName, "userName"),
        operation: filter(r.operation, "operation"),
        startTimeMs,
        endTimeMs,
        ...pageOf(r.page),
      });
      return { events: page.items.map(auditEventToWire), page: toWire.page(page) };
    }),
  } satisfies OperationFamily;
}
