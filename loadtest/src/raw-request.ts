/**
 * Requests as the Authorize RPC delivers them: the shape of `@gatehouse/proto`'s decoded
 * `AuthorizeRequest` (principal as a `oneof`, context values as `ContextValue` `oneof`s, an empty
 * string for an unset resource account), written out here so the loadtest needs no generated code.
 * The end-to-end figures start from these.
 */

import type { ContextValue } from "@gatehouse/policy";
import type { WorkloadRequest } from "./workloads.ts";

/** A decoded `ContextValue`. */
export interface RawContextValue {
  kind?:
    | { $case: "stringValue"; value: string }
    | { $case: "numberValue"; value: number }
    | { $case: "boolValue"; value: boolean }
    | { $case: "listValue"; value: { values: string[] } }
    | undefined;
}

/** A decoded `AuthorizeRequest` (the fields a decision reads). */
export interface RawAuthorizeRequest {
  principal: { kind: { $case: "arn"; value: string } };
  action: string;
  resource: string;
  /** Empty: the principal's account. */
  resourceAccount: string;
  context: { [key: string]: RawContextValue };
}

/**
 * The raw form of a workload request. Strings are copied into new string objects, as a decoder
 * produces them, so the end-to-end figures do not reuse the prepared figures' strings.
 */
export function toRawRequest(principalArn: string, request: WorkloadRequest): RawAuthorizeRequest {
  const context: { [key: string]: RawContextValue } = {};
  for (const [key, value] of Object.entries(request.context)) {
    context[fresh(key)] =
      typeof value === "string"
        ? { kind: { $case: "stringValue", value: fresh(value) } }
        : { kind: { $case: "listValue", value: { values: value.map(fresh) } } };
  }
  return {
    principal: { kind: { $case: "arn", value: fresh(principalArn) } },
    action: fresh(request.action),
    resource: fresh(request.resource),
    resourceAccount: "",
    context,
  };
}

/** A new, flat string object with the same text (not the interned or sliced original). */
function fresh(s: string): string {
  return Buffer.from(s, "utf8").toString("utf8");
}

/** The principal ARN of a raw request. */
export function rawArn(raw: RawAuthorizeRequest): string {
  return raw.principal.kind.value;
}

/** The engine's request context from the raw one: what a region does per Authorize. */
export function toAuthzContext(raw: RawAuthorizeRequest["context"]): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = {};
  for (const key in raw) {
    const kind = raw[key]?.kind;
    if (kind === undefined) continue;
    switch (kind.$case) {
      case "stringValue":
      case "numberValue":
      case "boolValue":
        out[key] = kind.value;
        break;
      case "listValue":
        out[key] = kind.value.values;
        break;
    }
  }
  return out;
}

/** The context as strings and string lists (iam-simulate's and the Cedar translation's input). */
export function toStringContext(raw: RawAuthorizeRequest["context"]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key in raw) {
    const kind = raw[key]?.kind;
    if (kind === undefined) continue;
    out[key] = kind.$case === "listValue" ? kind.value.values : String(kind.value);
  }
  return out;
}
