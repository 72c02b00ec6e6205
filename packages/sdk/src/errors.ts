import { IamErrorName, type IamErrorNameValue, StatusCode, type StatusCodeName } from "@gatehouse/core";
import { ErrorDetail, type PolicyFinding } from "@gatehouse/proto";
import type { ServiceError } from "@grpc/grpc-js";

/** The trailer a failed call's {@link ErrorDetail} travels in (set by the servers' handler wrapper). */
export const ERROR_DETAIL_TRAILER = "gatehouse-error-bin";

const statusNames = Object.fromEntries(Object.entries(StatusCode).map(([k, v]) => [v, k])) as Record<
  number,
  StatusCodeName
>;

/** The name of a numeric gRPC status code (`5` → `NOT_FOUND`). */
export function statusName(code: number): StatusCodeName {
  return statusNames[code] ?? "UNKNOWN";
}

/** What a {@link GatehouseError} is made from. */
export interface GatehouseErrorInit {
  /** The gRPC status code name the call failed with. */
  code: StatusCodeName;
  /** The AWS error name (`NoSuchEntity`), or the status code name when the server sent none. */
  awsName: string;
  message: string;
  field?: string | undefined;
  findings?: readonly PolicyFinding[];
  retriable: boolean;
  /** The gRPC method the call was to, e.g. `/gatehouse.v1.ControlService/GetUser`. */
  method?: string | undefined;
  /** The region whose decider answered with this error (or was the last tried); none for the control plane. */
  region?: string | undefined;
  /** The `host:port` that answered with this error, or the last one tried. */
  endpoint?: string | undefined;
  cause?: unknown;
}

/**
 * Every failure of a Gatehouse call. `awsName` is the AWS error name to switch on; `field` the
 * request field that is wrong (`policyDocument`, `tags[3].key`); `retriable` tells whether the
 * same request may succeed later (the SDK has already retried those, within its attempts).
 * A subclass per AWS name (`NoSuchEntityError`, …) serves `instanceof`. `region` and `endpoint`
 * say where it came from: the SDK routes checks and STS across regions and endpoints, so an
 * error names the region (and `host:port`) that answered with it, or that was tried last when
 * none could answer (`region` is undefined for the control plane's).
 *
 * @example
 * try {
 *   await gatehouse.iam.getUser({ userName: "nobody" });
 * } catch (e) {
 *   if (e instanceof NoSuchEntityError) console.log(e.field, e.message); // "userName", …
 * }
 */
export class GatehouseError extends Error {
  readonly code: StatusCodeName;
  readonly awsName: string;
  readonly field: string | undefined;
  readonly findings: readonly PolicyFinding[];
  readonly retriable: boolean;
  readonly method: string | undefined;
  readonly region: string | undefined;
  readonly endpoint: string | undefined;

  constructor(init: GatehouseErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = `${init.awsName}Error`;
    this.code = init.code;
    this.awsName = init.awsName;
    this.field = init.field;
    this.findings = init.findings ?? [];
    this.retriable = init.retriable;
    this.method = init.method;
    this.region = init.region;
    this.endpoint = init.endpoint;
  }

  /** The numeric gRPC status code. */
  get status(): number {
    return StatusCode[this.code];
  }
}

type ErrorClass = new (init: GatehouseErrorInit) => GatehouseError;

function errorClass<N extends IamErrorNameValue>(awsName: N): ErrorClass {
  const named = {
    [`${awsName}Error`]: class extends GatehouseError {},
  };
  return named[`${awsName}Error`] as ErrorClass;
}

/** The entity named does not exist (gRPC NOT_FOUND). */
export const NoSuchEntityError = errorClass("NoSuchEntity");
export type NoSuchEntityError = GatehouseError;
/** The entity to create exists already (ALREADY_EXISTS). */
export const EntityAlreadyExistsError = errorClass("EntityAlreadyExists");
export type EntityAlreadyExistsError = GatehouseError;
/** A quota was reached (RESOURCE_EXHAUSTED). */
export const LimitExceededError = errorClass("LimitExceeded");
export type LimitExceededError = GatehouseError;
/** A policy document is invalid; `findings` lists why, with JSON paths. */
export const MalformedPolicyDocumentError = errorClass("MalformedPolicyDocument");
export type MalformedPolicyDocumentError = GatehouseError;
/** A request field is invalid; `field` names it. */
export const InvalidInputError = errorClass("InvalidInput");
export type InvalidInputError = GatehouseError;
/** The entity is still used (a user with keys, a policy still attached…). */
export const DeleteConflictError = errorClass("DeleteConflict");
export type DeleteConflictError = GatehouseError;
/** Another write to the same entity won; retriable. */
export const ConcurrentModificationError = errorClass("ConcurrentModification");
export type ConcurrentModificationError = GatehouseError;
/** The caller may not do this; the message names the action and resource. */
export const AccessDeniedError = errorClass("AccessDenied");
export type AccessDeniedError = GatehouseError;
/** The region had not applied the requested `min_revision` before the deadline. */
export const ConsistencyTimeoutError = errorClass("ConsistencyTimeout");
export type ConsistencyTimeoutError = GatehouseError;
/**
 * The `min_revision` belongs to a control-plane history a failover replaced (its epoch): the write
 * that returned it may be lost. Read the entity again from the control plane (and write it again
 * if it is gone) before checking with a new revision.
 */
export const HistoryRewoundError = errorClass("HistoryRewound");
export type HistoryRewoundError = GatehouseError;
/** The server (or every endpoint of a region) could not be reached, or is overloaded; retriable. */
export const ServiceUnavailableError = errorClass("ServiceUnavailable");
export type ServiceUnavailableError = GatehouseError;
/** Requests were throttled; retriable after a pause. */
export const ThrottlingError = errorClass("Throttling");
export type ThrottlingError = GatehouseError;
/** A web identity token was refused: bad signature, wrong issuer or audience, unknown key (UNAUTHENTICATED). */
export const InvalidIdentityTokenError = errorClass("InvalidIdentityToken");
export type InvalidIdentityTokenError = GatehouseError;
/** A token (web identity, session) has expired (UNAUTHENTICATED). */
export const ExpiredTokenError = errorClass("ExpiredToken");
export type ExpiredTokenError = GatehouseError;

const classes = new Map<string, ErrorClass>([
  ["NoSuchEntity", NoSuchEntityError],
  ["EntityAlreadyExists", EntityAlreadyExistsError],
  ["LimitExceeded", LimitExceededError],
  ["MalformedPolicyDocument", MalformedPolicyDocumentError],
  ["InvalidInput", InvalidInputError],
  ["DeleteConflict", DeleteConflictError],
  ["ConcurrentModification", ConcurrentModificationError],
  ["AccessDenied", AccessDeniedError],
  ["ConsistencyTimeout", ConsistencyTimeoutError],
  ["HistoryRewound", HistoryRewoundError],
  ["ServiceUnavailable", ServiceUnavailableError],
  ["Throttling", ThrottlingError],
  ["InvalidIdentityToken", InvalidIdentityTokenError],
  ["ExpiredToken", ExpiredTokenError],
]);
// Every other AWS name of the closed set gets its own class too, so `e.name` is always `<AwsName>Error`.
for (const name of Object.keys(IamErrorName) as IamErrorNameValue[]) {
  if (!classes.has(name)) classes.set(name, errorClass(name));
}

/** The error class of an AWS error name (a {@link GatehouseError} subclass). */
export function errorClassOf(awsName: string): ErrorClass {
  return classes.get(awsName) ?? GatehouseError;
}

/**
 * Which failures may succeed when the same request is sent again: the server unreachable or
 * overloaded (UNAVAILABLE), a lost race (ABORTED: ConcurrentModification) and throttling. Never
 * a client error, a denial, or a consistency timeout (a longer deadline is the remedy there).
 */
export function isRetriable(code: StatusCodeName, awsName: string): boolean {
  return code === "UNAVAILABLE" || code === "ABORTED" || awsName === "Throttling";
}

/**
 * Turns a grpc-js failure into a typed {@link GatehouseError}, reading the error-detail trailer;
 * `from` is where the call went (a region's endpoint, or the control plane's).
 */
export function fromServiceError(
  err: ServiceError,
  method?: string,
  from: { readonly region?: string | undefined; readonly endpoint?: string | undefined } = {},
): GatehouseError {
  const code = statusName(err.code);
  const raw = err.metadata?.get(ERROR_DETAIL_TRAILER)[0];
  let detail: ErrorDetail | undefined;
  if (raw instanceof Buffer) {
    try {
      detail = ErrorDetail.decode(raw);
    } catch {
      detail = undefined;
    }
  }
  const awsName =
    detail?.awsName !== undefined && detail.awsName !== ""
      ? detail.awsName
      : code === "UNAVAILABLE"
        ? "ServiceUnavailable"
        : code === "DEADLINE_EXCEEDED"
          ? "RequestTimeout"
          : code;
  const Class = errorClassOf(awsName);
  return new Class({
    code,
    awsName,
    message: err.details || err.message,
    field: detail?.field === "" ? undefined : detail?.field,
    findings: detail?.findings ?? [],
    retriable: isRetriable(code, awsName),
    method,
    region: from.region,
    endpoint: from.endpoint,
    cause: err,
  });
}
