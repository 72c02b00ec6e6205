/**
 * The typed AST of an IAM policy document, as produced by {@link parsePolicy}.
 *
 * Element values keep the spelling of the document (actions are not lower-cased here, the compiler
 * does that) so that explanations and validation messages can quote the policy as written.
 */

/** A policy document as JSON text or as an already-parsed JSON object. */
export type PolicyDocumentInput = string | Record<string, unknown>;

/**
 * What the policy is attached to; it decides which elements are allowed and which size limit applies.
 *
 * - `managed`, `inline-user`, `inline-group`, `inline-role`, `identity`: identity-based policies
 *   (`identity` is the generic form with no size limit).
 * - `resource`: a resource-based policy (Principal required).
 * - `trust`: a role trust policy (Principal required, only `sts:*` actions).
 * - `boundary`: a permissions boundary (a managed policy used as a boundary).
 * - `session`: a session policy passed to AssumeRole/GetFederationToken.
 * - `scp`: an account guardrail (service-control-policy-like, no Principal).
 */
export type PolicyKind =
  | "managed"
  | "inline-user"
  | "inline-group"
  | "inline-role"
  | "identity"
  | "resource"
  | "trust"
  | "boundary"
  | "session"
  | "scp";

/** The two policy language versions. A document without `Version` gets `2008-10-17` semantics. */
export type PolicyVersion = "2012-10-17" | "2008-10-17";

/** A statement's `Effect`. */
export type Effect = "Allow" | "Deny";

/** The condition operators without the `IfExists` suffix or a set-operator prefix. */
export type ConditionOperatorName =
  | "StringEquals"
  | "StringNotEquals"
  | "StringEqualsIgnoreCase"
  | "StringNotEqualsIgnoreCase"
  | "StringLike"
  | "StringNotLike"
  | "NumericEquals"
  | "NumericNotEquals"
  | "NumericLessThan"
  | "NumericLessThanEquals"
  | "NumericGreaterThan"
  | "NumericGreaterThanEquals"
  | "DateEquals"
  | "DateNotEquals"
  | "DateLessThan"
  | "DateLessThanEquals"
  | "DateGreaterThan"
  | "DateGreaterThanEquals"
  | "Bool"
  | "BinaryEquals"
  | "IpAddress"
  | "NotIpAddress"
  | "ArnEquals"
  | "ArnLike"
  | "ArnNotEquals"
  | "ArnNotLike"
  | "Null";

/** The multivalued-key set operators. */
export type SetOperator = "ForAllValues" | "ForAnyValue";

/** One `operator: { key: values }` pair of a `Condition` block. */
export interface ConditionClause {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  readonly name: ConditionOperatorName;
  readonly setOperator?: SetOperator;
  readonly ifExists: boolean;
  /** The condition key as written (keys match case-insensitively). */
  readonly key: string;
  /** The values as written, JSON numbers and booleans turned into their string form. */
  readonly values: readonly string[];
}

/**
 * A `Principal` or `NotPrincipal` element. `"*"` (the bare wildcard) sets `any`; `{"AWS": "*"}`
 * keeps `"*"` in `aws`.
 */
export interface PrincipalElement {
  readonly any: boolean;
  readonly aws: readonly string[];
  readonly service: readonly string[];
  readonly federated: readonly string[];
  readonly canonicalUser: readonly string[];
}

/** One statement of a policy. Exactly one of `action`/`notAction` is set, at most one of `resource`/`notResource`. */
export interface Statement {
  /** Position in the document's `Statement` array (0 when `Statement` is a single object). */
  readonly index: number;
  readonly sid?: string;
  readonly effect: Effect;
  readonly action?: readonly string[];
  readonly notAction?: readonly string[];
  readonly resource?: readonly string[];
  readonly notResource?: readonly string[];
  readonly principal?: PrincipalElement;
  readonly notPrincipal?: PrincipalElement;
  readonly conditions: readonly ConditionClause[];
}

/** A parsed, validated policy document. */
export interface Policy {
  readonly kind: PolicyKind;
  /** The caller's name for the policy (an ARN, a policy name), used in explanations. */
  readonly id?: string;
  /** The document's own `Id` element. */
  readonly policyId?: string;
  /** The effective version: `2008-10-17` when the document has no `Version`. */
  readonly version: PolicyVersion;
  readonly versionSpecified: boolean;
  readonly statements: readonly Statement[];
}
