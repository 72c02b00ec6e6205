/** The closed set of validation finding codes; each is documented where it is produced (`parse-policy.ts`). */
export const FINDING_CODES = [
  // errors
  "malformed-json",
  "not-an-object",
  "unknown-element",
  "invalid-element-type",
  "invalid-version",
  "invalid-id",
  "missing-statement",
  "empty-element",
  "invalid-sid",
  "missing-effect",
  "invalid-effect",
  "missing-action",
  "action-and-not-action",
  "invalid-action",
  "trust-action-not-sts",
  "missing-resource",
  "resource-and-not-resource",
  "resource-not-allowed",
  "invalid-resource",
  "missing-principal",
  "principal-not-allowed",
  "principal-and-not-principal",
  "invalid-principal",
  "unknown-condition-operator",
  "invalid-condition",
  "invalid-condition-key",
  "invalid-condition-value",
  "invalid-policy-variable",
  "policy-too-large",
  "nesting-too-deep",
  // warnings
  "missing-version",
  "duplicate-sid",
  "duplicate-statement",
  "redundant-statement",
  "allow-with-not-action",
  "allow-with-not-resource",
  "allow-with-not-principal",
  "unknown-global-condition-key",
  "set-operator-on-single-valued-key",
  "missing-set-operator-on-multivalued-key",
  "for-all-values-with-allow",
  "policy-variable-in-old-version",
  "policy-variable-outside-resource-part",
  "arn-condition-value-matches-nothing",
] as const;

/**
 * Codes of the checks against AWS's service reference (`@gatehouse/policy-reference`, which reads
 * a dataset and so lives outside this package); all warnings, documented where they are produced.
 */
export const SERVICE_REFERENCE_FINDING_CODES = [
  "unknown-service",
  "unknown-action",
  "action-wildcard-matches-nothing",
  "unsupported-condition-key",
  "no-resource-level-permissions",
  "resource-matches-no-action",
] as const;

/** One of {@link FINDING_CODES} or {@link SERVICE_REFERENCE_FINDING_CODES}. */
export type FindingCode = (typeof FINDING_CODES)[number] | (typeof SERVICE_REFERENCE_FINDING_CODES)[number];

/**
 * One validation finding, in the spirit of IAM Access Analyzer policy validation.
 *
 * @example
 * { path: "$.Statement[1].Condition.StringLike", code: "unknown-condition-operator",
 *   message: "Unknown condition operator \"StringLikee\"", severity: "error" }
 */
export interface Finding {
  /** A JSON path into the document, e.g. `$.Statement[1].Condition.StringLike`. */
  path: string;
  code: FindingCode;
  message: string;
  severity: "error" | "warning";
}
