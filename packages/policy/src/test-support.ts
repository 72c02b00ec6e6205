/**
 * Fixture builders shared by this package's tests (not exported from the package index).
 *
 * @example
 * decisionOf({ identityPolicies: [policy(allow("s3:GetObject", "arn:aws:s3:::b/*"))] }, aUser("alice"), get("arn:aws:s3:::b/k"))
 */
import type { AuthzRequest, ContextValue, PrincipalInfo } from "./authz-request.ts";
import { compilePolicySet, type PolicySetInput } from "./compile-policy-set.ts";
import type { Decision, EvaluationResult } from "./evaluation-result.ts";

export const ACCOUNT = "111122223333";
export const OTHER_ACCOUNT = "444455556666";

type Doc = Record<string, unknown>;

/** A 2012-10-17 policy document with the given statements. */
export function policy(...statements: Doc[]): Doc {
  return { Version: "2012-10-17", Statement: statements };
}

/** An Allow statement; `extra` adds or overrides elements (Sid, Condition, Principal, …). */
export function allow(action: string | string[], resource: string | string[] = "*", extra: Doc = {}): Doc {
  return { Effect: "Allow", Action: action, Resource: resource, ...extra };
}

/** A Deny statement. */
export function deny(action: string | string[], resource: string | string[] = "*", extra: Doc = {}): Doc {
  return { Effect: "Deny", Action: action, Resource: resource, ...extra };
}

/** An IAM user principal. */
export function aUser(name: string, account = ACCOUNT): PrincipalInfo {
  return { arn: `arn:aws:iam::${account}:user/${name}`, accountId: account };
}

/** An assumed-role session principal. */
export function aRoleSession(role: string, session: string, account = ACCOUNT): PrincipalInfo {
  return { arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`, accountId: account };
}

/** A request; `context` is used exactly as given. */
export function request(
  action: string,
  resource: string,
  context?: Record<string, ContextValue>,
  resourceAccount?: string,
): AuthzRequest {
  return {
    action,
    resource,
    ...(context === undefined ? {} : { context }),
    ...(resourceAccount === undefined ? {} : { resourceAccount }),
  };
}

/**
 * Evaluates with and without explanation and fails loudly if the two paths (indexed fast path,
 * exhaustive explaining path) disagree, so every table case checks both.
 */
export function evaluateBoth(set: PolicySetInput, principal: PrincipalInfo, req: AuthzRequest): EvaluationResult {
  const compiled = compilePolicySet(set);
  const fast = compiled.evaluate(principal, req);
  const explained = compiled.evaluate(principal, req, { explain: true });
  if (fast.decision !== explained.decision) {
    throw new Error(
      `fast path said ${fast.decision}, explaining path said ${explained.decision}: ${explained.explanation?.summary}`,
    );
  }
  return explained;
}

/** The decision, checked on both evaluation paths. */
export function decisionOf(set: PolicySetInput, principal: PrincipalInfo, req: AuthzRequest): Decision {
  return evaluateBoth(set, principal, req).decision;
}
