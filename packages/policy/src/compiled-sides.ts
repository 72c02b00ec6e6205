import type { PrincipalInfo } from "./authz-request.ts";
import { type CompiledStatement, type PrincipalFacets, principalFacets } from "./compiled-statement.ts";
import type { Policy } from "./policy.ts";
import { PolicySlot } from "./policy-slot.ts";

/** Plans cached per compiled side; beyond this, plans are built per request and not kept. */
const MAX_PLANS = 1024;

/** The identity-side statements whose Action matches one request action, per slot and effect. */
export interface IdentityPlan {
  readonly guardrailDeny: readonly CompiledStatement[];
  readonly guardrailAllow: readonly CompiledStatement[];
  readonly identityDeny: readonly CompiledStatement[];
  readonly identityAllow: readonly CompiledStatement[];
  readonly boundaryDeny: readonly CompiledStatement[];
  readonly boundaryAllow: readonly CompiledStatement[];
  readonly sessionDeny: readonly CompiledStatement[];
  readonly sessionAllow: readonly CompiledStatement[];
}

/** The resource-policy statements whose Action matches one request action. */
export interface ResourcePlan {
  readonly deny: readonly CompiledStatement[];
  readonly allow: readonly CompiledStatement[];
}

/**
 * A compiled identity side: identity policies, permissions boundary, session policies, guardrails.
 * Per request action it builds (once, then caches) the candidate statement lists, so a warm
 * evaluation is one Map lookup plus resource and condition checks on a few statements.
 */
export class IdentitySide {
  readonly guardrails: PolicySlot;
  readonly identity: PolicySlot;
  readonly boundary: PolicySlot;
  readonly session: PolicySlot;
  readonly statementCount: number;
  private readonly plans = new Map<string, IdentityPlan>();

  constructor(
    identity: Policy[],
    boundary: Policy | undefined,
    session: Policy[],
    guardrails: Policy[],
    shared: (p: Policy) => boolean,
  ) {
    this.identity = new PolicySlot("identity", identity, shared);
    this.boundary = new PolicySlot("boundary", boundary === undefined ? [] : [boundary], shared);
    this.session = new PolicySlot("session", session, shared);
    this.guardrails = new PolicySlot("guardrail", guardrails, shared);
    this.statementCount =
      this.identity.statements.length +
      this.boundary.statements.length +
      this.session.statements.length +
      this.guardrails.statements.length;
  }

  /** Candidate statements for `action` (as written in the request). */
  plan(action: string): IdentityPlan {
    const cached = this.plans.get(action);
    if (cached !== undefined) return cached;
    const lower = action.toLowerCase();
    const plan: IdentityPlan = {
      guardrailDeny: this.guardrails.denies.candidates(lower),
      guardrailAllow: this.guardrails.allows.candidates(lower),
      identityDeny: this.identity.denies.candidates(lower),
      identityAllow: this.identity.allows.candidates(lower),
      boundaryDeny: this.boundary.denies.candidates(lower),
      boundaryAllow: this.boundary.allows.candidates(lower),
      sessionDeny: this.session.denies.candidates(lower),
      sessionAllow: this.session.allows.candidates(lower),
    };
    if (this.plans.size < MAX_PLANS) this.plans.set(action, plan);
    return plan;
  }
}

/** A compiled resource-based policy. */
export class ResourceSide {
  readonly slot: PolicySlot;
  readonly statementCount: number;
  /** The policy must itself allow the principal (a role trust or key policy). */
  readonly mustAllow: boolean;
  private readonly plans = new Map<string, ResourcePlan>();
  private lastPrincipal: PrincipalInfo | undefined;
  private lastFacets: PrincipalFacets | undefined;

  constructor(policy: Policy, shared: boolean, mustAllow: boolean) {
    this.mustAllow = mustAllow;
    this.slot = new PolicySlot("resource", [policy], () => shared);
    this.statementCount = this.slot.statements.length;
  }

  plan(action: string): ResourcePlan {
    const cached = this.plans.get(action);
    if (cached !== undefined) return cached;
    const lower = action.toLowerCase();
    const plan: ResourcePlan = { deny: this.slot.denies.candidates(lower), allow: this.slot.allows.candidates(lower) };
    if (this.plans.size < MAX_PLANS) this.plans.set(action, plan);
    return plan;
  }

  /** Principal facets, memoized for the last principal seen (regions evaluate one principal in bursts). */
  facets(p: PrincipalInfo): PrincipalFacets {
    const last = this.lastPrincipal;
    const facets = this.lastFacets;
    if (
      last !== undefined &&
      facets !== undefined &&
      last.arn === p.arn &&
      last.accountId === p.accountId &&
      last.type === p.type &&
      last.roleArn === p.roleArn
    ) {
      return facets;
    }
    const fresh = principalFacets(p);
    this.lastPrincipal = { arn: p.arn, accountId: p.accountId, type: p.type, roleArn: p.roleArn };
    this.lastFacets = fresh;
    return fresh;
  }
}
