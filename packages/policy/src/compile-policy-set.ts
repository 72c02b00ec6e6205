import type { AuthzRequest, PrincipalInfo } from "./authz-request.ts";
import { IdentitySide, ResourceSide } from "./compiled-sides.ts";
import {
  type CompiledStatement,
  clearStatementCache,
  LEVEL_DIRECT,
  LEVEL_NONE,
  LEVEL_ROLE,
  type PrincipalFacets,
  statementApplies,
  statementPrincipalLevel,
} from "./compiled-statement.ts";
import { type Context, EMPTY_CONTEXT } from "./context-lookup.ts";
import type { EvaluationResult } from "./evaluation-result.ts";
import { explainEvaluation } from "./explain-evaluation.ts";
import { clearPathCache, parsePolicy } from "./parse-policy.ts";
import { ParsedTextCache } from "./parsed-text-cache.ts";
import type { Policy, PolicyDocumentInput, PolicyKind } from "./policy.ts";
import { PolicyError } from "./policy-error.ts";
import { clearTemplateCache } from "./policy-variables.ts";

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
  /** Compile `resourcePolicy` with {@link ResourcePolicyOptions.mustAllow} (a role trust or key policy). */
  resourcePolicyMustAllow?: boolean;
}

/** Options of {@link compileResourcePolicy}. */
export interface ResourcePolicyOptions {
  /**
   * The policy must itself allow the principal, as a role's trust policy (`sts:AssumeRole`,
   * `sts:TagSession`, …) and a KMS key policy must: identity-based policies alone never grant, even
   * in the resource's own account. A statement naming the principal (user, role session, `*`)
   * grants by itself (one naming a session's role ARN within its boundary and session policies);
   * one naming the account (`arn:aws:iam::A:root`, `A`) delegates to IAM, so the identity side must
   * allow too. Cross-account requests need both sides anyway, and explicit denies win everywhere.
   * AWS documents this exception where it combines identity- and resource-based policies
   * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html) and in
   * its single-account evaluation logic
   * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html),
   * its cross-account logic names the role trust policy as a resource policy
   * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html),
   * and KMS's own (https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html).
   */
  readonly mustAllow?: boolean;
}

/** The principal side of a policy set: what a region caches per principal. */
export type IdentityPolicySetInput = Omit<PolicySetInput, "resourcePolicy">;

/** Options of an evaluation. */
export interface EvaluateOptions {
  /** Build an {@link Explanation} (slower, allocates; the decision is always the same). */
  explain?: boolean;
}

/** A compiled identity side (identity policies, boundary, session policies, guardrails); opaque. */
export interface CompiledIdentity {
  readonly statementCount: number;
}

/** A compiled resource-based policy, cacheable per resource; opaque. */
export interface CompiledResourcePolicy {
  readonly statementCount: number;
  /** See {@link ResourcePolicyOptions.mustAllow}. */
  readonly mustAllow: boolean;
}

/** A compiled policy set: evaluates requests without parsing JSON or building RegExps. */
export interface CompiledPolicySet {
  readonly identity: CompiledIdentity;
  readonly resource?: CompiledResourcePolicy;
  evaluate(principal: PrincipalInfo, request: AuthzRequest, options?: EvaluateOptions): EvaluationResult;
}

/** Whether `input` is a parsed {@link Policy} rather than a document. */
function isParsedPolicy(input: PolicyInput): input is Policy {
  return (
    typeof input === "object" &&
    input !== null &&
    Array.isArray((input as Partial<Policy>).statements) &&
    typeof (input as Partial<Policy>).version === "string" &&
    !("Statement" in input)
  );
}

/**
 * Parsed policies by kind, then JSON text, so a document attached to many principals is parsed
 * once (and, being the same Policy object, compiled once). The text itself is the key, looked up
 * without hashing it (see {@link ParsedTextCache}): a region receives every document as a new string.
 */
let parsedTexts = new Map<PolicyKind, ParsedTextCache<Policy>>();
const MAX_PARSED_TEXTS = 512;

/**
 * Empties every cache the compiler keeps across calls: parsed documents by text, compiled
 * statements by parsed policy, parsed policy-variable templates and memoized JSON-path pieces.
 * Decisions never depend on these caches; only the time a compile takes does. Benchmarks call it
 * to measure a cold compile (a document never seen before); a service has no reason to.
 */
export function clearCompileCaches(): void {
  // New maps rather than `Map.prototype.clear()`: V8's clear links the old hash table to its
  // replacement, so a table that reached the old generation keeps every later one (and the
  // documents they hold) alive through minor GCs until the next full GC. Benchmarks clearing
  // caches between compiles then measured that promotion of garbage, not the compiler.
  parsedTexts = new Map();
  clearStatementCache();
  clearTemplateCache();
  clearPathCache();
}

/**
 * Parses `input` unless it is already a {@link Policy}. Policies parsed here from JSON objects are
 * added to `fresh`: they die with the compiled set, so caching their compiled form would only churn.
 */
function toPolicy(input: PolicyInput, kind: PolicyKind, field: string, fresh: Set<Policy>): Policy {
  if (isParsedPolicy(input)) return input;
  let texts: ParsedTextCache<Policy> | undefined;
  if (typeof input === "string") {
    texts = parsedTexts.get(kind);
    if (texts === undefined) {
      texts = new ParsedTextCache(MAX_PARSED_TEXTS);
      parsedTexts.set(kind, texts);
    }
    const cached = texts.get(input);
    if (cached !== undefined) return cached;
  }
  const { policy } = parsePolicy(input, { kind, crossStatementWarnings: false, warnings: false });
  if (policy === undefined) {
    // The error carries every finding, warnings included: parse again with them (rare path).
    const { findings } = parsePolicy(input, { kind, crossStatementWarnings: false });
    const errors = findings.filter((f) => f.severity === "error");
    const first = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new PolicyError(`${field}: ${first?.path ?? "$"}: ${first?.message ?? "invalid policy"}${more}`, findings, {
      field,
    });
  }
  if (texts === undefined || typeof input !== "string") fresh.add(policy);
  else texts.set(input, policy);
  return policy;
}

/** Compiles the identity side of a policy set. Throws {@link PolicyError} on an invalid policy. */
export function compileIdentity(input: IdentityPolicySetInput): CompiledIdentity {
  const fresh = new Set<Policy>();
  return new IdentitySide(
    input.identityPolicies.map((p, i) => toPolicy(p, "identity", `identityPolicies[${i}]`, fresh)),
    input.permissionBoundary === undefined
      ? undefined
      : toPolicy(input.permissionBoundary, "boundary", "permissionBoundary", fresh),
    (input.sessionPolicies ?? []).map((p, i) => toPolicy(p, "session", `sessionPolicies[${i}]`, fresh)),
    (input.guardrails ?? []).map((p, i) => toPolicy(p, "scp", `guardrails[${i}]`, fresh)),
    (p) => !fresh.has(p),
  );
}

/**
 * Compiles a resource-based policy. Throws {@link PolicyError} on an invalid policy.
 *
 * @example
 * // A role's trust policy: the caller's own sts:AssumeRole permission is not enough.
 * const trust = compileResourcePolicy(document, { mustAllow: true });
 */
export function compileResourcePolicy(policy: PolicyInput, options?: ResourcePolicyOptions): CompiledResourcePolicy {
  const fresh = new Set<Policy>();
  const parsed = toPolicy(policy, "resource", "resourcePolicy", fresh);
  return new ResourceSide(parsed, !fresh.has(parsed), options?.mustAllow === true);
}

// Results without explanation are shared; callers must not mutate them.
const ALLOW = Object.freeze({ decision: "Allow" }) as EvaluationResult;
const EXPLICIT_DENY = Object.freeze({ decision: "ExplicitDeny" }) as EvaluationResult;
const IMPLICIT_DENY = Object.freeze({ decision: "ImplicitDeny" }) as EvaluationResult;

function anyApplies(list: readonly CompiledStatement[], resource: string, ctx: Context): boolean {
  for (let i = 0; i < list.length; i++) if (statementApplies(list[i] as CompiledStatement, resource, ctx)) return true;
  return false;
}

function anyResourceDeny(
  list: readonly CompiledStatement[],
  f: PrincipalFacets,
  hasBoundary: boolean,
  resource: string,
  ctx: Context,
): boolean {
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as CompiledStatement;
    if (statementPrincipalLevel(s, f, hasBoundary) !== LEVEL_NONE && statementApplies(s, resource, ctx)) return true;
  }
  return false;
}

/** The best level at which an applying resource-policy Allow names the principal. */
function resourceAllowLevel(
  list: readonly CompiledStatement[],
  f: PrincipalFacets,
  hasBoundary: boolean,
  resource: string,
  ctx: Context,
): number {
  let best = LEVEL_NONE;
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as CompiledStatement;
    const level = statementPrincipalLevel(s, f, hasBoundary);
    if (level > best && statementApplies(s, resource, ctx)) {
      best = level;
      if (best === LEVEL_DIRECT) break;
    }
  }
  return best;
}

/**
 * Evaluates a request against separately compiled identity and resource sides (a region caches
 * the identity side per principal and the resource side per resource).
 *
 * Without `explain` this is the hot path: a cached per-action plan, deny statements first with
 * early exit, allows only as far as the decision needs, and shared frozen results.
 */
export function evaluateCompiled(
  identity: CompiledIdentity,
  resource: CompiledResourcePolicy | undefined,
  principal: PrincipalInfo,
  request: AuthzRequest,
  options?: EvaluateOptions,
): EvaluationResult {
  if (!(identity instanceof IdentitySide)) throw new TypeError("identity was not produced by compileIdentity");
  if (resource !== undefined && !(resource instanceof ResourceSide)) {
    throw new TypeError("resource was not produced by compileResourcePolicy");
  }
  if (options?.explain === true) return explainEvaluation(identity, resource, principal, request);

  const ctx = request.context ?? EMPTY_CONTEXT;
  const target = request.resource;
  const hasBoundary = identity.boundary.present;

  if (principal.type !== undefined && principal.type !== "AWS") {
    if (resource === undefined) return IMPLICIT_DENY;
    const rp = resource.plan(request.action);
    const f = resource.facets(principal);
    if (anyResourceDeny(rp.deny, f, false, target, ctx)) return EXPLICIT_DENY;
    return resourceAllowLevel(rp.allow, f, false, target, ctx) > LEVEL_NONE ? ALLOW : IMPLICIT_DENY;
  }

  const ip = identity.plan(request.action);
  if (
    anyApplies(ip.guardrailDeny, target, ctx) ||
    anyApplies(ip.identityDeny, target, ctx) ||
    anyApplies(ip.boundaryDeny, target, ctx) ||
    anyApplies(ip.sessionDeny, target, ctx)
  ) {
    return EXPLICIT_DENY;
  }
  const rp = resource?.plan(request.action);
  const f = rp === undefined || resource === undefined ? undefined : resource.facets(principal);
  if (rp !== undefined && f !== undefined && anyResourceDeny(rp.deny, f, hasBoundary, target, ctx))
    return EXPLICIT_DENY;

  if (identity.guardrails.present && !anyApplies(ip.guardrailAllow, target, ctx)) return IMPLICIT_DENY;

  const limitsOk =
    (!hasBoundary || anyApplies(ip.boundaryAllow, target, ctx)) &&
    (!identity.session.present || anyApplies(ip.sessionAllow, target, ctx));
  const crossAccount = request.resourceAccount !== undefined && request.resourceAccount !== principal.accountId;
  if (crossAccount || resource?.mustAllow === true) {
    // Both sides, except that a self-allowing policy (a role trust policy) in the principal's own
    // account grants by itself when it names the principal rather than the account.
    if (rp === undefined || f === undefined) return IMPLICIT_DENY;
    const level = resourceAllowLevel(rp.allow, f, hasBoundary, target, ctx);
    if (level === LEVEL_NONE) return IMPLICIT_DENY;
    if (!crossAccount && (level === LEVEL_DIRECT || (level === LEVEL_ROLE && limitsOk))) return ALLOW;
    return limitsOk && anyApplies(ip.identityAllow, target, ctx) ? ALLOW : IMPLICIT_DENY;
  }
  if (limitsOk && anyApplies(ip.identityAllow, target, ctx)) return ALLOW;
  if (rp === undefined || f === undefined) return IMPLICIT_DENY;
  const level = resourceAllowLevel(rp.allow, f, hasBoundary, target, ctx);
  if (level === LEVEL_DIRECT || (level === LEVEL_ROLE && limitsOk)) return ALLOW;
  return IMPLICIT_DENY;
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
  const resource =
    input.resourcePolicy === undefined
      ? undefined
      : compileResourcePolicy(input.resourcePolicy, { mustAllow: input.resourcePolicyMustAllow === true });
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
