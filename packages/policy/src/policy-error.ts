import { IamError } from "@gatehouse/core";
import type { Finding } from "./finding.ts";

/**
 * Thrown by the compiler when a policy it was given does not validate: an {@link IamError}
 * (so every adapter maps it like any other) that also carries the document's findings. A document
 * whose only errors are size limits is `LimitExceeded`, as IAM reports it; anything else is
 * `MalformedPolicyDocument`.
 */
export class PolicyError extends IamError {
  /** Every finding of the offending document, errors and warnings. */
  readonly findings: Finding[];

  constructor(message: string, findings: Finding[], options?: { field?: string; cause?: unknown }) {
    const errors = findings.filter((f) => f.severity === "error");
    const awsName =
      errors.length > 0 && errors.every((f) => f.code === "policy-too-large")
        ? "LimitExceeded"
        : "MalformedPolicyDocument";
    super(awsName, message, { field: options?.field, cause: options?.cause });
    this.name = "PolicyError";
    this.findings = findings;
  }
}
