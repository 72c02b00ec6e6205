import type { AuthzRequest, PrincipalInfo } from "./authz-request.ts";
import type { EvaluationResult } from "./evaluation-result.ts";
import type { Policy, PolicyDocumentInput } from "./policy.ts";

/** A policy already parsed by `parsePolicy`, or a document to parse with the slot's kind. */
export type PolicyInput = Policy | PolicyDocumentInput;

/**
 * Everything that applies to one request. Documents are parsed with the slot's kind: identity
 * policies as `identity`, the resource policy as `resource`, the boundary as `boundary`, session
 * policies as `session`, guardrails as `scp`.
 */
export interface PolicySetInput {
  identityPolicies: PolicyInput[];
  resourcePolicy?: PolicyInput;
  permissionBoundary?: PolicyInput;
  /** Combined as one session policy: a request must be allowed by at least one of them. */
  sessionPolicies?: PolicyInput[];
  /** Account guardrails at one level: at least one must allow, none may deny. Absent or empty: no guardrails. */
  guardrails?: PolicyInput[];
}

/** The principal side of a policy set: what a region caches per principal. */
export type IdentityPolicySetInput = Omit<PolicySetInput, "resourcePolicy">;

/** Options of an evaluation. */
export interface EvaluateOptions {
  /** Build an {@link Explanation}; slower, allocates. */
  explain?: boolean;
}

/** A compiled identity side (identity policies, boundary, session policies, guardrails). */
export interface CompiledIdentity {
  readonly statementCount: number;
}

/** A compiled resource-based policy, cacheable per resource. */
export interface CompiledResourcePolicy {
  readonly statementCount: number;
}

/** A compiled policy set: evaluates requests without parsing JSON or building RegExps. */
export interface CompiledPolicySet {
  readonly identity: CompiledIdentity;
  readonly resource?: CompiledResourcePolicy;
  evaluate(principal: PrincipalInfo, request: AuthzRequest, options?: EvaluateOptions): EvaluationResult;
}

/** Compiles the identity side of a policy set. Throws {@link PolicyError} on an invalid policy. */
export function compileIdentity(input: IdentityPolicySetInput): CompiledIdentity {
  void input;
  throw new Error("compileIdentity: not implemented yet");
}

/** Compiles a resource-based policy. Throws {@link PolicyError} on an invalid policy. */
export function compileResourcePolicy(policy: PolicyInput): CompiledResourcePolicy {
  void policy;
  throw new Error("compileResourcePolicy: not implemented yet");
}

/** Evaluates a request against separately compiled identity and resource sides. */
export function evaluateCompiled(
  identity: CompiledIdentity,
  resource: CompiledResourcePolicy | undefined,
  principal: PrincipalInfo,
  request: AuthzRequest,
  options?: EvaluateOptions,
): EvaluationResult {
  void identity;
  void resource;
  void principal;
  void request;
  void options;
  throw new Error("evaluateCompiled: not implemented yet");
}

/**
 * Compiles a whole policy set into a decider. Throws {@link PolicyError} (with findings) on an
 * invalid policy.
 *
 * @example
 * const decider = compilePolicySet({ identityPolicies: [doc] });
 * decider.evaluate({ arn, accountId }, { action: "s3:GetObject", resource: "arn:aws:s3:::b/k" }).decision;
 */
export function compilePolicySet(input: PolicySetInput): CompiledPolicySet {
  const identity = compileIdentity(input);
  const resource = input.resourcePolicy === undefined ? undefined : compileResourcePolicy(input.resourcePolicy);
  return {
    identity,
    ...(resource === undefined ? {} : { resource }),
    evaluate: (principal, request, options) => evaluateCompiled(identity, resource, principal, request, options),
  };
}

/** Convenience: compile and evaluate once. Prefer {@link compilePolicySet} for repeated decisions. */
export function evaluate(
  input: PolicySetInput,
  principal: PrincipalInfo,
  request: AuthzRequest,
  options?: EvaluateOptions,
): EvaluationResult {
  return compilePolicySet(input).evaluate(principal, request, options);
}
