/**
 * `@gatehouse/policy`: the pure AWS IAM policy engine. Parse and validate documents, compile a
 * principal's policy set once, then evaluate requests fast, optionally with an explanation.
 */

export type { AuthzRequest, ContextValue, PrincipalInfo } from "./authz-request.ts";
export type {
  CompiledIdentity,
  CompiledPolicySet,
  CompiledResourcePolicy,
  EvaluateOptions,
  IdentityPolicySetInput,
  PolicyInput,
  PolicySetInput,
  ResourcePolicyOptions,
} from "./compile-policy-set.ts";
export {
  clearCompileCaches,
  compileIdentity,
  compilePolicySet,
  compileResourcePolicy,
  evaluate,
  evaluateCompiled,
} from "./compile-policy-set.ts";
export type {
  ConditionFailure,
  Decision,
  EvaluationResult,
  Explanation,
  ImplicitDenyReason,
  PolicyRef,
  PolicyType,
  PolicyTypeOutcome,
  StatementRef,
} from "./evaluation-result.ts";
export type { Finding, FindingCode } from "./finding.ts";
export { FINDING_CODES, SERVICE_REFERENCE_FINDING_CODES } from "./finding.ts";
export type { ParsePolicyOptions } from "./parse-policy.ts";
export { MAX_POLICY_NESTING, POLICY_SIZE_LIMITS, parsePolicy, policySize, validatePolicy } from "./parse-policy.ts";
export type {
  ConditionClause,
  ConditionOperatorName,
  Effect,
  Policy,
  PolicyDocumentInput,
  PolicyKind,
  PolicyVersion,
  PrincipalElement,
  SetOperator,
  Statement,
} from "./policy.ts";
export { PolicyError } from "./policy-error.ts";
