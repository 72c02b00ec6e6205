import type { Finding } from "./finding.ts";

/**
 * Thrown by the compiler when a policy it was given does not validate.
 *
 * It mirrors `@gatehouse/core`'s `IamError` shape (gRPC status name in `code`, AWS error name in
 * `awsName`, the offending `field`, `retriable`, `toWire()`), so adapters translate it the same
 * way; this package stays free of dependencies. A document whose only errors are size limits is
 * `LimitExceeded`, as IAM reports it; anything else is `MalformedPolicyDocument`.
 */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
  readonly code = "INVALID_ARGUMENT";
  readonly awsName: "MalformedPolicyDocument" | "LimitExceeded";
  /** The slot of the policy set that holds the bad policy, e.g. `identityPolicies[2]`. */
  readonly field: string | undefined;
  readonly retriable = false;
  /** Every finding of the offending document, errors and warnings. */
  readonly findings: Finding[];

  constructor(message: string, findings: Finding[], options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.findings = findings;
    this.field = options?.field;
    const errors = findings.filter((f) => f.severity === "error");
    this.awsName =
      errors.length > 0 && errors.every((f) => f.code === "policy-too-large")
        ? "LimitExceeded"
        : "MalformedPolicyDocument";
  }

  /** What may be sent to a client: no cause, no stack. */
  toWire(): { code: "INVALID_ARGUMENT"; awsName: PolicyError["awsName"]; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, awsName: this.awsName, message: this.message }
      : { code: this.code, awsName: this.awsName, message: this.message, field: this.field };
  }
}
