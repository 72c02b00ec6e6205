import type { AuthzRequest, PrincipalInfo } from "./authz-request.ts";
import { explainCondition } from "./compile-condition.ts";
import type { IdentitySide, ResourceSide } from "./compiled-sides.ts";
import {
  actionMatches,
  type CompiledStatement,
  LEVEL_DIRECT,
  LEVEL_NONE,
  LEVEL_ROLE,
  type PrincipalFacets,
  principalFacets,
  resourceMatches,
  statementPrincipalLevel,
} from "./compiled-statement.ts";
import { type Context, EMPTY_CONTEXT } from "./context-lookup.ts";
import type {
  ConditionFailure,
  Decision,
  EvaluationResult,
  ImplicitDenyReason,
  PolicyRef,
  PolicyType,
  PolicyTypeOutcome,
  StatementRef,
} from "./evaluation-result.ts";
import type { PolicySlot } from "./policy-slot.ts";

/** What one slot said: its first matching Deny and Allow. */
export interface SlotOutcome {
  readonly present: boolean;
  deny: CompiledStatement | undefined;
  allow: CompiledStatement | undefined;
}

/** Everything the decision depends on, gathered by the (slow, exhaustive) explaining evaluator. */
export interface Outcome {
  readonly awsPrincipal: boolean;
  readonly crossAccount: boolean;
  /** The resource policy must itself allow the principal (a role trust or key policy). */
  readonly resourceMustAllow: boolean;
  readonly guardrail: SlotOutcome;
  readonly identity: SlotOutcome;
  readonly boundary: SlotOutcome;
  readonly session: SlotOutcome;
  resource: SlotOutcome;
  /** The best LEVEL_* at which an applying resource-policy Allow names the principal. */
  resourceLevel: number;
  resourceLevelStatement: CompiledStatement | undefined;
}

/** The decision rules, written once as a plain function of an {@link Outcome}. */
export interface Verdict {
  decision: Decision;
  deciding?: CompiledStatement;
  reason?: ImplicitDenyReason;
}

/**
 * AWS policy evaluation logic over gathered facts.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 * Role trust and KMS key policies (`resourceMustAllow`) are the single-account exception: they must
 * allow the principal themselves, naming it (then nothing else is needed) or its account (then the
 * identity side must allow too), as `ResourcePolicyOptions.mustAllow` explains.
 */
export function decide(o: Outcome): Verdict {
  if (!o.awsPrincipal) {
    if (o.resource.deny !== undefined) return { decision: "ExplicitDeny", deciding: o.resource.deny };
    if (o.resourceLevel > LEVEL_NONE && o.resourceLevelStatement !== undefined) {
      return { decision: "Allow", deciding: o.resourceLevelStatement };
    }
    return { decision: "ImplicitDeny", reason: "resource-policy-does-not-allow" };
  }
  for (const slot of [o.guardrail, o.resource, o.identity, o.boundary, o.session]) {
    if (slot.deny !== undefined) return { decision: "ExplicitDeny", deciding: slot.deny };
  }
  if (o.guardrail.present && o.guardrail.allow === undefined)
    return { decision: "ImplicitDeny", reason: "no-guardrail-allows" };
  const boundaryOk = !o.boundary.present || o.boundary.allow !== undefined;
  const sessionOk = !o.session.present || o.session.allow !== undefined;
  const limitReason: ImplicitDenyReason = !boundaryOk
    ? "permission-boundary-does-not-allow"
    : "session-policy-does-not-allow";
  if (o.crossAccount || o.resourceMustAllow) {
    if (o.resourceLevel === LEVEL_NONE) return { decision: "ImplicitDeny", reason: "resource-policy-does-not-allow" };
    const granting = o.resourceLevelStatement;
    if (!o.crossAccount && granting !== undefined) {
      if (o.resourceLevel === LEVEL_DIRECT) return { decision: "Allow", deciding: granting };
      if (o.resourceLevel === LEVEL_ROLE) {
        return boundaryOk && sessionOk
          ? { decision: "Allow", deciding: granting }
          : { decision: "ImplicitDeny", reason: limitReason };
      }
    }
    if (o.identity.allow === undefined) return { decision: "ImplicitDeny", reason: "no-identity-policy-allows" };
    if (boundaryOk && sessionOk) return { decision: "Allow", deciding: o.identity.allow };
    return { decision: "ImplicitDeny", reason: limitReason };
  }
  if (o.identity.allow !== undefined && boundaryOk && sessionOk)
    return { decision: "Allow", deciding: o.identity.allow };
  const granting = o.resourceLevelStatement;
  if (o.resourceLevel === LEVEL_DIRECT && granting !== undefined) return { decision: "Allow", deciding: granting };
  if (o.resourceLevel === LEVEL_ROLE && granting !== undefined && boundaryOk && sessionOk) {
    return { decision: "Allow", deciding: granting };
  }
  if (o.identity.allow !== undefined || o.resourceLevel === LEVEL_ROLE)
    return { decision: "ImplicitDeny", reason: limitReason };
  return { decision: "ImplicitDeny", reason: "no-identity-policy-allows" };
}

function statementRef(s: CompiledStatement): StatementRef {
  return {
    policy: s.policy,
    statementIndex: s.statement.index,
    ...(s.statement.sid === undefined ? {} : { sid: s.statement.sid }),
    effect: s.statement.effect,
  };
}

const TYPE_LABEL: Record<PolicyType, string> = {
  identity: "identity-based policy",
  resource: "resource-based policy",
  boundary: "permissions boundary",
  session: "session policy",
  guardrail: "guardrail policy",
};

function policyName(p: PolicyRef): string {
  return `${TYPE_LABEL[p.type]} ${p.id === undefined ? `#${p.index}` : `"${p.id}"`}`;
}

function statementName(s: CompiledStatement): string {
  const sid = s.statement.sid;
  return `${policyName(s.policy)} statement ${sid === undefined || sid === "" ? `#${s.statement.index}` : `"${sid}"`}`;
}

interface Collected {
  matched: StatementRef[];
  failures: ConditionFailure[];
}

function collectSlot(
  slot: PolicySlot,
  lowerAction: string,
  resource: string,
  ctx: Context,
  collected: Collected,
  principal?: { facets: PrincipalFacets; hasBoundary: boolean; outcome: Outcome },
): SlotOutcome {
  const outcome: SlotOutcome = { present: slot.present, deny: undefined, allow: undefined };
  for (const s of slot.statements) {
    if (!actionMatches(s, lowerAction)) continue;
    let level = LEVEL_DIRECT;
    if (principal !== undefined) {
      level = statementPrincipalLevel(s, principal.facets, principal.hasBoundary);
      if (level === LEVEL_NONE) continue;
    }
    if (!resourceMatches(s, resource, ctx)) continue;
    let failed = false;
    for (const c of s.conditions) {
      const detail = explainCondition(c, ctx);
      if (detail === undefined) continue;
      failed = true;
      collected.failures.push({
        statement: statementRef(s),
        operator: c.clause.operator,
        operatorName: c.clause.name,
        key: c.clause.key,
        reason: detail.reason,
        ...(detail.requestValues === undefined ? {} : { requestValues: detail.requestValues }),
        policyValues: c.clause.values,
        message: detail.message,
      });
    }
    if (failed) continue;
    collected.matched.push(statementRef(s));
    if (s.deny) outcome.deny ??= s;
    else {
      outcome.allow ??= s;
      if (principal !== undefined && level > principal.outcome.resourceLevel) {
        principal.outcome.resourceLevel = level;
        principal.outcome.resourceLevelStatement = s;
      }
    }
  }
  return outcome;
}

const IMPLICIT_MESSAGES: Record<ImplicitDenyReason, string> = {
  "no-guardrail-allows": "no guardrail policy allows",
  "no-identity-policy-allows": "no identity-based policy allows",
  "permission-boundary-does-not-allow": "the permissions boundary does not allow",
  "session-policy-does-not-allow": "no session policy allows",
  "resource-policy-does-not-allow": "the resource-based policy does not allow",
};

/**
 * Evaluates without shortcuts or indexes, recording every matching statement and every failing
 * condition, then applies {@link decide}. Slow and allocating; used for `{ explain: true }`.
 */
export function explainEvaluation(
  identity: IdentitySide,
  resourceSide: ResourceSide | undefined,
  principal: PrincipalInfo,
  request: AuthzRequest,
): EvaluationResult {
  const ctx = request.context ?? EMPTY_CONTEXT;
  const lowerAction = request.action.toLowerCase();
  const resource = request.resource;
  const awsPrincipal = (principal.type ?? "AWS") === "AWS";
  const resourceAccount = request.resourceAccount ?? principal.accountId;
  const crossAccount = resourceAccount !== principal.accountId;
  const collected: Collected = { matched: [], failures: [] };
  const skipped = (slot: PolicySlot): SlotOutcome => ({ present: slot.present, deny: undefined, allow: undefined });
  const run = (slot: PolicySlot) =>
    awsPrincipal ? collectSlot(slot, lowerAction, resource, ctx, collected) : skipped(slot);
  const guardrail = run(identity.guardrails);
  const identityOutcome = run(identity.identity);
  const boundary = run(identity.boundary);
  const session = run(identity.session);
  const outcome: Outcome = {
    awsPrincipal,
    crossAccount,
    resourceMustAllow: resourceSide?.mustAllow === true,
    guardrail,
    identity: identityOutcome,
    boundary,
    session,
    resource: { present: false, deny: undefined, allow: undefined },
    resourceLevel: LEVEL_NONE,
    resourceLevelStatement: undefined,
  };
  if (resourceSide !== undefined) {
    const resourceOutcome = collectSlot(resourceSide.slot, lowerAction, resource, ctx, collected, {
      facets: principalFacets(principal),
      hasBoundary: identity.boundary.present,
      outcome,
    });
    outcome.resource = resourceOutcome;
  }
  const verdict = decide(outcome);
  const target = `${request.action} on ${resource}`;
  let summary: string;
  if (verdict.decision === "ExplicitDeny" && verdict.deciding !== undefined) {
    summary = `ExplicitDeny: ${target} is denied by ${statementName(verdict.deciding)}`;
  } else if (verdict.decision === "Allow" && verdict.deciding !== undefined) {
    const via = verdict.deciding.policy.type === "resource" ? `, which names ${principal.arn}` : "";
    const cross = crossAccount
      ? ` (cross-account: the resource policy of account ${resourceAccount} allows it too)`
      : "";
    summary = `Allow: ${target} is allowed by ${statementName(verdict.deciding)}${via}${cross}`;
  } else {
    const reason = verdict.reason ?? "no-identity-policy-allows";
    const extra =
      reason === "resource-policy-does-not-allow" && crossAccount
        ? ` (cross-account: account ${resourceAccount}'s resource policy must allow ${principal.arn})`
        : reason === "resource-policy-does-not-allow" && outcome.resourceMustAllow
          ? ` (this resource policy, like a role trust or key policy, must itself allow ${principal.arn} or its account: identity-based policies alone never grant)`
          : reason === "no-identity-policy-allows" && outcome.resourceMustAllow
            ? " (the resource policy names the principal's account, which delegates to its identity-based policies)"
            : reason === "no-identity-policy-allows" && !crossAccount && resourceSide !== undefined
              ? " and no resource-based policy grants it to the principal"
              : "";
    summary = `ImplicitDeny: ${IMPLICIT_MESSAGES[reason]} ${target}${extra}`;
  }
  const slotOutcome = (type: PolicyType, s: SlotOutcome): PolicyTypeOutcome => ({
    type,
    present: s.present,
    allows: s.allow !== undefined,
    denies: s.deny !== undefined,
  });
  return {
    decision: verdict.decision,
    explanation: {
      summary,
      crossAccount,
      ...(verdict.deciding === undefined ? {} : { decidingStatement: statementRef(verdict.deciding) }),
      ...(verdict.reason === undefined ? {} : { implicitDenyReason: verdict.reason }),
      matchedStatements: collected.matched,
      conditionFailures: collected.failures,
      policyTypes: [
        slotOutcome("guardrail", guardrail),
        slotOutcome("resource", { ...outcome.resource, present: resourceSide !== undefined }),
        slotOutcome("identity", identityOutcome),
        slotOutcome("boundary", boundary),
        slotOutcome("session", session),
      ],
    },
  };
}
