import { randomUUID } from "node:crypto";
import {
  type AuthorizeRequest,
  type AuthorizeResponse,
  Decision,
  ErrorDetail,
  type RegionAuditEvent,
} from "@gatehouse/proto";
import { type handleUnaryCall, type ServiceError, status } from "@grpc/grpc-js";
import { sourceIpOf } from "./sts-service.ts";

const DECISION_NAMES: Partial<Record<Decision, string>> = {
  [Decision.DECISION_ALLOW]: "Allow",
  [Decision.DECISION_EXPLICIT_DENY]: "ExplicitDeny",
  [Decision.DECISION_IMPLICIT_DENY]: "ImplicitDeny",
};

/** The audit event of one Authorize call: who was checked for what, and the decision (or error). */
export function authorizeEvent(
  r: AuthorizeRequest,
  peer: string,
  error: Partial<ServiceError> | null,
  response: AuthorizeResponse | null | undefined,
): Omit<RegionAuditEvent, "eventTimeMs"> {
  const p = r.principal?.kind;
  const arn = p?.$case === "arn" ? p.value : "";
  const accountId = response?.evaluatedAt?.accountId ?? /^arn:[\w-]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1] ?? "";
  const detailBytes = error?.metadata?.get("gatehouse-error-bin")[0];
  const detail = detailBytes instanceof Buffer ? ErrorDetail.decode(detailBytes) : undefined;
  return {
    eventId: randomUUID(),
    accountId,
    principalArn: arn,
    userName: /^arn:[\w-]+:iam::\d{12}:user\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1] ?? "",
    // An access key id names the principal; its session token, if any, is never recorded.
    accessKeyId: p?.$case === "accessKeyId" ? p.value : "",
    sourceIp: sourceIpOf(peer) ?? "",
    operation: "Authorize",
    // The context's keys only: their values (addresses, tags, caller-supplied strings) stay out.
    requestParametersJson: JSON.stringify({
      action: r.action,
      resource: r.resource,
      ...(r.resourceAccount === "" ? {} : { resourceAccount: r.resourceAccount }),
      ...(r.resourcePolicy === "" ? {} : { resourcePolicy: true }),
      contextKeys: Object.keys(r.context).sort(),
    }),
    responseElementsJson:
      response === null || response === undefined
        ? ""
        : JSON.stringify({
            decision: DECISION_NAMES[response.decision] ?? "Unspecified",
            revision: Number(response.evaluatedAt?.revision ?? 0),
          }),
    errorCode: error === null ? "" : (status[error.code ?? status.UNKNOWN] ?? "UNKNOWN"),
    errorName: error === null ? "" : (detail?.awsName ?? ""),
  };
}

/**
 * Authorize with a share of its calls recorded: the call is answered exactly as without sampling
 * (the record is made after the answer is known and only buffered), and the unsampled calls take
 * the handler as it was. Installed only when the rate is above 0.
 */
export function sampleAuthorize(
  inner: handleUnaryCall<AuthorizeRequest, AuthorizeResponse>,
  rate: number,
  record: (event: Omit<RegionAuditEvent, "eventTimeMs">) => void,
): handleUnaryCall<AuthorizeRequest, AuthorizeResponse> {
  return (call, callback) => {
    if (Math.random() >= rate) {
      inner(call, callback);
      return;
    }
    inner(call, (error, response) => {
      try {
        record(authorizeEvent(call.request, call.getPeer(), error ?? null, response));
      } catch {
        // A record that cannot be made never changes the answer.
      }
      callback(error, response);
    });
  };
}
