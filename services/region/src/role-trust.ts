import { tryParseArn } from "@gatehouse/core";
import { type CompiledResourcePolicy, compileResourcePolicy, parsePolicy } from "@gatehouse/policy";
import type { RegionView } from "@gatehouse/view-redis";
import type { Decider, DecisionRequest } from "./decider.ts";

const trusts = new Map<string, CompiledResourcePolicy>();

/**
 * A role's trust policy compiled as the resource side of `sts:AssumeRole`, `sts:TagSession` and
 * `sts:SetSourceIdentity` (cached by text). It must allow the caller itself (`mustAllow`): unlike other resource policies
 * in the same account, an identity policy allowing `sts:AssumeRole` never suffices on its own. A
 * trust policy naming the caller (user, role, session ARN) grants without one; naming the account
 * delegates to the caller's identity policies, which must then allow too; cross-account needs both.
 * AWS: role trust and KMS key policies are the exception to "either side allows" in one account,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html and
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html;
 * cross-account: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html.
 * A web identity caller (AssumeRoleWithWebIdentity) is a Federated principal: only this policy decides.
 */
export function compiledTrustPolicy(document: string): CompiledResourcePolicy {
  let hit = trusts.get(document);
  if (hit === undefined) {
    const { policy } = parsePolicy(document, { kind: "trust", warnings: false, crossStatementWarnings: false });
    // Stored trust policies were validated by the control plane; one that does not parse trusts nobody.
    hit = compileResourcePolicy(policy ?? '{"Version":"2012-10-17","Statement":[]}', { mustAllow: true });
    if (trusts.size >= 1024) trusts.delete(trusts.keys().next().value as string);
    trusts.set(document, hit);
  }
  return hit;
}

/** The actions STS decides against a role's trust policy (IAM actions are case-insensitive). */
const TRUST_ACTIONS = new Set([
  "sts:assumerole",
  "sts:assumerolewithwebidentity",
  "sts:tagsession",
  "sts:setsourceidentity",
]);

/** The trust policy a simulated check on a role is decided against, with the role's account. */
export interface SimulatedTrust {
  readonly policy: CompiledResourcePolicy;
  readonly accountId: string;
}

/**
 * For Simulate: when `action` is one STS decides against a trust policy and `resource` is a role
 * this region holds, that role's trust policy (as AssumeRole evaluates it, see
 * {@link compiledTrustPolicy}) and the role's account; otherwise `undefined` (the check is decided
 * as any other, against the resource policy stored for the ARN if any).
 */
export async function simulatedTrust(
  view: Pick<RegionView, "readByArn">,
  action: string,
  resource: string,
): Promise<SimulatedTrust | undefined> {
  if (!TRUST_ACTIONS.has(action.toLowerCase())) return undefined;
  const arn = tryParseArn(resource);
  if (arn === undefined || arn.service !== "iam" || !arn.resource.startsWith("role/")) return undefined;
  const entity = await view.readByArn(arn.accountId, resource);
  const role = entity?.kind === "role" ? entity.state : null;
  if (role === null) return undefined;
  return { policy: compiledTrustPolicy(role.assumeRolePolicyDocument), accountId: role.accountId };
}

/**
 * A Simulate check decided the way STS decides it: for `sts:AssumeRole`,
 * `sts:AssumeRoleWithWebIdentity`, `sts:TagSession` and `sts:SetSourceIdentity` on a role this region holds, and no resource
 * policy given by the caller, the role's trust policy is the resource side (in the role's
 * account), read at or after the request's `minRevision`. Any other check is returned unchanged.
 */
export async function withSimulatedTrust(
  view: Pick<RegionView, "readByArn">,
  decider: Pick<Decider, "waitApplied">,
  request: DecisionRequest,
): Promise<DecisionRequest> {
  if (request.resourcePolicy !== undefined || request.compiledResourcePolicy !== undefined) return request;
  const { minRevision } = request;
  if (minRevision !== undefined && minRevision.revision > 0 && TRUST_ACTIONS.has(request.action.toLowerCase())) {
    await decider.waitApplied(minRevision.accountId, minRevision.revision, request.deadlineMs, minRevision.epoch);
  }
  const trust = await simulatedTrust(view, request.action, request.resource);
  return trust === undefined
    ? request
    : { ...request, compiledResourcePolicy: trust.policy, resourceAccount: trust.accountId };
}
