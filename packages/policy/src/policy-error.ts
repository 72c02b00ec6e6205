import type { Finding } from "./finding.ts";

/**
 * Thrown when a policy given to the compiler does not validate. The code mirrors the rest of
 * Gatehouse: a gRPC status (`INVALID_ARGUMENT`) plus the AWS error name (`MalformedPolicyDocument`).
 */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
  readonly code = "INVALID_ARGUMENT";
  readonly awsName = "MalformedPolicyDocument";
  /** Every finding of the offending document, errors and warnings. */
  readonly findings: Finding[];

  constructor(message: string, findings: Finding[], options?: { cause?: unknown }) {
    super(message, options);
    this.findings = findings;
  }
}
