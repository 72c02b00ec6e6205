import { StatusCode, type StatusCodeName } from "./status-code.ts";

/**
 * AWS IAM error names Gatehouse uses, each with the gRPC status it travels as.
 * The name is what SDK users switch on; the status is what gRPC infrastructure sees.
 */
export const IamErrorName = Object.freeze({
  NoSuchEntity: "NOT_FOUND",
  EntityAlreadyExists: "ALREADY_EXISTS",
  LimitExceeded: "RESOURCE_EXHAUSTED",
  MalformedPolicyDocument: "INVALID_ARGUMENT",
  InvalidInput: "INVALID_ARGUMENT",
  ValidationError: "INVALID_ARGUMENT",
  PasswordPolicyViolation: "INVALID_ARGUMENT",
  // AWS answers these with HTTP 403, but they reject the request's content, not the caller's
  // permissions: wrong MFA codes (EnableMFADevice) and a caller of the wrong kind (ChangePassword
  // by the account root).
  InvalidAuthenticationCode: "INVALID_ARGUMENT",
  InvalidUserType: "INVALID_ARGUMENT",
  DeleteConflict: "FAILED_PRECONDITION",
  EntityTemporarilyUnmodifiable: "FAILED_PRECONDITION",
  ConcurrentModification: "ABORTED",
  AccessDenied: "PERMISSION_DENIED",
  ExpiredToken: "UNAUTHENTICATED",
  InvalidClientTokenId: "UNAUTHENTICATED",
  SignatureDoesNotMatch: "UNAUTHENTICATED",
  IncompleteSignature: "UNAUTHENTICATED",
  // A call carrying no credentials at all (no Authorization metadata), as AWS names it.
  MissingAuthenticationToken: "UNAUTHENTICATED",
  RequestExpired: "UNAUTHENTICATED",
  // STS: an OpenID Connect token that does not verify (signature, issuer, audience, times, alg).
  InvalidIdentityToken: "UNAUTHENTICATED",
  // STS: the session policies and tags exceed the packed limit (HTTP 400 in AWS).
  PackedPolicyTooLarge: "INVALID_ARGUMENT",
  ConsistencyTimeout: "DEADLINE_EXCEEDED",
  // A min_revision of a control-plane history that a failover replaced: the region has applied a
  // later timeline of the account, in which the write that returned it may be lost.
  HistoryRewound: "FAILED_PRECONDITION",
  // Console sign-in: one answer for a wrong account, user name, password, MFA code or root key, so
  // the answer never says which (the console's "Your authentication information is incorrect").
  SignInFailed: "UNAUTHENTICATED",
  // AWS IAM's name for a request rate exceeded (HTTP 400 there); retriable after a pause.
  Throttling: "RESOURCE_EXHAUSTED",
  // GetCredentialReport: no report was generated yet, or the latest is older than four hours
  // (AWS answers both with HTTP 410); generate one first.
  ReportNotPresent: "FAILED_PRECONDITION",
  ReportExpired: "FAILED_PRECONDITION",
  ServiceUnavailable: "UNAVAILABLE",
  ServiceFailure: "INTERNAL",
} as const satisfies Record<string, StatusCodeName>);

/** An AWS-style error name such as `"NoSuchEntity"`. */
export type IamErrorNameValue = keyof typeof IamErrorName;

/** Options for {@link IamError}. */
export interface IamErrorOptions {
  /** The request field that is wrong, as a path (`"policyDocument"`, `"tags[3].key"`). */
  field?: string;
  /** True when retrying the same request later may succeed (transient failure). */
  retriable?: boolean;
  /** The underlying error: kept for logs, never sent over the wire. */
  cause?: unknown;
}

/**
 * The one error class of Gatehouse. It carries a gRPC status code (derived from the AWS error
 * name), the AWS error name, a message that names the offending field and value, and a `cause`
 * that is logged but never serialized to clients.
 *
 * @example
 * throw new IamError("NoSuchEntity", `user "alice" does not exist`, { field: "userName" });
 */
export class IamError extends Error {
  /** The AWS error name, e.g. `NoSuchEntity`. */
  readonly awsName: IamErrorNameValue;
  /** The gRPC status code name this error travels as. */
  readonly code: StatusCodeName;
  /** The offending request field, when one is to blame. */
  readonly field: string | undefined;
  /** Whether the same request may succeed when retried later. */
  readonly retriable: boolean;

  constructor(awsName: IamErrorNameValue, message: string, options: IamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "IamError";
    this.awsName = awsName;
    this.code = IamErrorName[awsName];
    this.field = options.field;
    this.retriable = options.retriable ?? (this.code === "UNAVAILABLE" || this.code === "ABORTED");
  }

  /** The numeric gRPC status code. */
  get status(): number {
    return StatusCode[this.code];
  }

  /** What may be sent to a client: no cause, no stack. */
  toWire(): { code: StatusCodeName; awsName: IamErrorNameValue; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, awsName: this.awsName, message: this.message }
      : { code: this.code, awsName: this.awsName, message: this.message, field: this.field };
  }

  /** Narrowing helper that also works across duplicated module instances. */
  static is(value: unknown): value is IamError {
    return (
      value instanceof IamError ||
      (value instanceof Error && "awsName" in value && "code" in value && "retriable" in value)
    );
  }
}
