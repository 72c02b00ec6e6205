import type { Finding } from "./finding.ts";
import type { Policy, PolicyDocumentInput, PolicyKind } from "./policy.ts";

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  /** Decides which elements are allowed and the size limit; defaults to `identity`. */
  kind?: PolicyKind;
  /** The caller's name for the policy, carried into explanations. */
  id?: string;
}

/**
 * Parses and validates a policy document. `policy` is undefined when any finding is an error.
 *
 * @example
 * const { policy, findings } = parsePolicy('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}');
 */
export function parsePolicy(
  doc: PolicyDocumentInput,
  options?: ParsePolicyOptions,
): { policy?: Policy; findings: Finding[] } {
  void doc;
  void options;
  throw new Error("parsePolicy: not implemented yet");
}

/** Validates a policy document and returns every finding (errors and warnings). */
export function validatePolicy(doc: PolicyDocumentInput, options?: { kind?: PolicyKind }): Finding[] {
  return parsePolicy(doc, options).findings;
}
