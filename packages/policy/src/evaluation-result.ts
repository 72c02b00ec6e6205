import type { ConditionOperatorName, Effect, PolicyKind } from "./policy.ts";

/** The three outcomes of IAM policy evaluation. */
export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

/** Which slot of a policy set a policy came from. */
export type PolicyType = "identity" | "resource" | "boundary" | "session" | "guardrail";

/** Names one policy of the evaluated set. */
export interface PolicyRef {
  type: PolicyType;
  /** Position within its slot (0 for the resource policy and the boundary). */
  index: number;
  kind: PolicyKind;
  /** The caller's id for the policy, else the document's `Id`, if any. */
  id?: string;
}

/** Names one statement of one policy. */
export interface StatementRef {
  policy: PolicyRef;
  statementIndex: number;
  sid?: string;
  effect: Effect;
}

/** Why a statement that matched action and resource (and principal) did not apply. */
export interface ConditionFailure {
  statement: StatementRef;
  /** The operator as written, e.g. `StringEqualsIfExists`. */
  operator: string;
  operatorName: ConditionOperatorName;
  key: string;
  /**
   * - `missing-key`: the key is not in the request context.
   * - `no-match`: the values were compared and did not satisfy the operator.
   * - `invalid-request-value`: the request value could not be read as the operator's type.
   */
  reason: "missing-key" | "no-match" | "invalid-request-value";
  /** The request's values for the key, stringified; absent when the key is missing. */
  requestValues?: string[];
  /** The policy's values, as written (policy variables unresolved). */
  policyValues: readonly string[];
  message: string;
}

/** Which policy type caused an implicit deny. */
export type ImplicitDenyReason =
  | "no-guardrail-allows"
  | "no-identity-policy-allows"
  | "permission-boundary-does-not-allow"
  | "session-policy-does-not-allow"
  | "resource-policy-does-not-allow";

/** What each policy type said about the request. */
export interface PolicyTypeOutcome {
  type: PolicyType;
  /** False when the set has no policy of this type (guardrails/boundary/session/resource then don't apply). */
  present: boolean;
  allows: boolean;
  denies: boolean;
}

/** Why the engine decided what it decided; produced only with `{ explain: true }`. */
export interface Explanation {
  /** One sentence, e.g. `Denied: permission boundary does not allow s3:PutObject`. */
  summary: string;
  /** True when the resource belongs to another account than the principal. */
  crossAccount: boolean;
  /** The statement that decided: the first explicit Deny, or the Allow that granted. */
  decidingStatement?: StatementRef;
  /** Set for `ImplicitDeny`. */
  implicitDenyReason?: ImplicitDenyReason;
  /** Every statement that matched action, resource, principal and conditions. */
  matchedStatements: StatementRef[];
  /** Statements that matched action and resource (and principal) but failed on a condition. */
  conditionFailures: ConditionFailure[];
  policyTypes: PolicyTypeOutcome[];
}

/** The answer to one authorization request. */
export interface EvaluationResult {
  decision: Decision;
  explanation?: Explanation;
}
