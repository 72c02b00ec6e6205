import { GatehouseError } from "@gatehouse/sdk";

/** The error codes the gateway answers with itself (API.md), besides the services' AWS names. */
export type GatewayErrorCode =
  | "SignInFailed"
  | "Throttled"
  | "SessionExpired"
  | "NotSignedIn"
  | "CsrfTokenInvalid"
  | "UnknownOperation"
  | "ValidationError"
  | "ServiceUnavailable"
  | "InternalFailure";

/** A policy validation finding, as the services report them with MalformedPolicyDocument. */
export interface HttpFinding {
  readonly path: string;
  readonly code: string;
  readonly message: string;
  readonly severity: string;
}

/** API.md's error answer: `{ error: { code, message, field } }` (plus `findings` for policies). */
export interface HttpErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly field: string;
    readonly findings?: readonly HttpFinding[];
  };
}

/** An error the gateway answers with: HTTP status, code, message, the field at fault. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string;
  readonly findings: readonly HttpFinding[];

  constructor(
    status: number,
    code: GatewayErrorCode | string,
    message: string,
    field = "",
    findings: readonly HttpFinding[] = [],
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.field = field;
    this.findings = findings;
  }

  /** The JSON body. */
  body(): HttpErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        field: this.field,
        ...(this.findings.length > 0 ? { findings: this.findings } : {}),
      },
    };
  }
}

/** HTTP statuses of the AWS error names that do not follow from their gRPC status alone. */
const BY_NAME: Readonly<Record<string, number>> = {
  LimitExceeded: 409,
  DeleteConflict: 409,
  EntityTemporarilyUnmodifiable: 409,
  ConcurrentModification: 409,
  ReportNotPresent: 410,
  ReportExpired: 410,
};

/** HTTP statuses of the gRPC status codes. */
const BY_STATUS: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  OUT_OF_RANGE: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  ABORTED: 409,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 503,
  UNIMPLEMENTED: 404,
};

/**
 * A service's failure as the gateway answers it: the AWS error name and field unchanged, the
 * status from API.md's table. Credentials the services no longer accept (expired, or a deleted
 * user's) are `SessionExpired`. Anything that is not a service error is an internal failure
 * (its cause is for the log only).
 */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof GatehouseError) {
    if (e.code === "UNAUTHENTICATED") {
      return new HttpError(401, "SessionExpired", "the session's credentials are no longer accepted; sign in again");
    }
    if (e.awsName === "Throttling") return new HttpError(429, "Throttled", e.message, e.field ?? "");
    const status = BY_NAME[e.awsName] ?? BY_STATUS[e.code] ?? 500;
    if (status === 500) return new HttpError(500, "InternalFailure", "the service failed; see the gateway's log");
    return new HttpError(
      status,
      e.awsName,
      e.message,
      e.field ?? "",
      e.findings.map((f) => ({ path: f.path, code: f.code, message: f.message, severity: String(f.severity) })),
    );
  }
  return new HttpError(500, "InternalFailure", "the gateway failed; see its log");
}
