import { createHash, randomUUID } from "node:crypto";
import { sessionArn } from "@gatehouse/auth";
import { IamError } from "@gatehouse/core";
import type { AssumeRoleRequest, AssumeRoleWithWebIdentityRequest, RegionAuditEvent } from "@gatehouse/proto";
import type { IssuedCredentials, StsCaller } from "./sts-issuer.ts";

/** A policy document as the audit trail keeps it: its SHA-256 and length, never its text. */
function digest(text: string): { sha256: string; length: number } {
  return { sha256: createHash("sha256").update(text, "utf8").digest("hex"), length: text.length };
}

/**
 * AssumeRole's parameters as recorded: what CloudTrail records, an allow-list (a field added to
 * the request is not recorded until it is named here). The MFA code is never recorded, the
 * session policy only as its digest.
 */
export function assumeRoleParameters(r: AssumeRoleRequest): Record<string, unknown> {
  return {
    roleArn: r.roleArn,
    roleSessionName: r.roleSessionName,
    ...(r.durationSeconds === 0 ? {} : { durationSeconds: r.durationSeconds }),
    ...(r.externalId === "" ? {} : { externalId: r.externalId }),
    ...(r.serialNumber === "" ? {} : { serialNumber: r.serialNumber }),
    ...(r.policy === "" ? {} : { policy: digest(r.policy) }),
    ...(r.policyArns.length === 0 ? {} : { policyArns: r.policyArns }),
    ...(r.tags.length === 0 ? {} : { tags: r.tags.map((t) => ({ key: t.key, value: t.value })) }),
    ...(r.transitiveTagKeys.length === 0 ? {} : { transitiveTagKeys: r.transitiveTagKeys }),
    ...(r.sourceIdentity === "" ? {} : { sourceIdentity: r.sourceIdentity }),
  };
}

/** AssumeRoleWithWebIdentity's parameters as recorded: never the token itself. */
export function webIdentityParameters(r: AssumeRoleWithWebIdentityRequest): Record<string, unknown> {
  return {
    roleArn: r.roleArn,
    roleSessionName: r.roleSessionName,
    ...(r.durationSeconds === 0 ? {} : { durationSeconds: r.durationSeconds }),
    ...(r.policy === "" ? {} : { policy: digest(r.policy) }),
    ...(r.policyArns.length === 0 ? {} : { policyArns: r.policyArns }),
  };
}

/** GetSessionToken's parameters as recorded: never the MFA code. */
export function sessionTokenParameters(r: { durationSeconds: number; serialNumber: string }): Record<string, unknown> {
  return {
    ...(r.durationSeconds === 0 ? {} : { durationSeconds: r.durationSeconds }),
    ...(r.serialNumber === "" ? {} : { serialNumber: r.serialNumber }),
  };
}

/** What identifies issued credentials: the key id and expiry (never the secret or the token). */
export function issuedElements(c: IssuedCredentials, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { credentials: { accessKeyId: c.accessKeyId, expirationMs: c.expirationMs }, ...extra };
}

/** Who made a signed STS call, in the audit trail's terms. */
export function callerOfStsCall(
  caller: StsCaller,
): Pick<RegionAuditEvent, "accountId" | "principalArn" | "userName" | "accessKeyId"> {
  if (caller.kind === "long-term") {
    return {
      accountId: caller.accountId,
      principalArn: caller.principalArn,
      userName: caller.userName ?? "",
      accessKeyId: caller.accessKeyId,
    };
  }
  const c = caller.claims;
  return {
    accountId: c.accountId,
    principalArn: sessionArn(c),
    userName: c.principal.kind === "user" ? c.principal.userName : "",
    accessKeyId: c.accessKeyId,
  };
}

/** The account of a role ARN (`arn:…:iam::ACCOUNT:role/…`), or "" when it is not one. */
export function accountOfRoleArn(arn: string): string {
  return /^arn:[\w-]+:iam::(\d{12}):role\//.exec(arn)?.[1] ?? "";
}

/** A served STS call's audit event, with its outcome: the error's names, or what it returned. */
export function stsAuditEvent(options: {
  operation: string;
  who: Pick<RegionAuditEvent, "accountId" | "principalArn" | "userName" | "accessKeyId">;
  sourceIp: string | undefined;
  requestParameters: Record<string, unknown>;
  responseElements?: Record<string, unknown>;
  error?: unknown;
}): Omit<RegionAuditEvent, "eventTimeMs"> {
  const { error } = options;
  const failed =
    error === undefined
      ? undefined
      : IamError.is(error)
        ? { code: error.code, name: error.awsName }
        : { code: "INTERNAL", name: "ServiceFailure" };
  return {
    eventId: randomUUID(),
    ...options.who,
    sourceIp: options.sourceIp ?? "",
    operation: options.operation,
    requestParametersJson: JSON.stringify(options.requestParameters),
    responseElementsJson: options.responseElements === undefined ? "" : JSON.stringify(options.responseElements),
    errorCode: failed?.code ?? "",
    errorName: failed?.name ?? "",
  };
}
