import type { PrincipalInfo } from "./authz-request.ts";
import { type CompiledCondition, compileCondition, conditionHolds } from "./compile-condition.ts";
import type { Context } from "./context-lookup.ts";
import type { PolicyRef } from "./evaluation-result.ts";
import { compilePattern, MATCH, type Pattern, type PatternOptions, resourcePartOffset } from "./pattern.ts";
import type { Policy, PrincipalElement, Statement } from "./policy.ts";

/** A Principal/NotPrincipal element as sets, for O(1) matching. */
export interface CompiledPrincipal {
  readonly any: boolean;
  readonly arns: ReadonlySet<string>;
  readonly accounts: ReadonlySet<string>;
  /** `ACCOUNT/RoleName` for role ARNs, so sessions of the role match whatever the role's path. */
  readonly roles: ReadonlySet<string>;
  readonly service: ReadonlySet<string>;
  readonly federated: ReadonlySet<string>;
  readonly canonicalUser: ReadonlySet<string>;
}

/** One statement, compiled. Statements are immutable and shared by every evaluation. */
export interface CompiledStatement {
  /** Position within its slot (policies in order, statements in order), for stable explanations. */
  readonly ordinal: number;
  readonly policy: PolicyRef;
  readonly statement: Statement;
  readonly deny: boolean;
  /** Lower-cased action patterns; exactly one of actions/notActions is set. */
  readonly actions: readonly Pattern[] | undefined;
  readonly notActions: readonly Pattern[] | undefined;
  /** Both undefined: the statement has no Resource element (trust policies) and matches any resource. */
  readonly resources: readonly Pattern[] | undefined;
  readonly notResources: readonly Pattern[] | undefined;
  readonly conditions: readonly CompiledCondition[];
  readonly principal: CompiledPrincipal | undefined;
  readonly notPrincipal: CompiledPrincipal | undefined;
}

/**
 * A {@link CompiledStatement} built by `new`, never by an object literal: V8 pretenures what an
 * object literal's allocation site keeps alive, so once a process had kept compiled principals
 * (a region's cache does), every later compile allocated its statements, and the pattern arrays
 * stored into them, straight into the old generation. A compile whose result is dropped (a cold
 * compile measured, a cache that evicts) then left them there as garbage that only a full GC
 * frees, and kept the young objects they point to alive through every minor GC. Instances of a
 * class have no allocation site, so they start young like the rest of the compile.
 */
class StatementRecord implements CompiledStatement {
  readonly ordinal: number;
  readonly policy: PolicyRef;
  readonly statement: Statement;
  readonly deny: boolean;
  readonly actions: readonly Pattern[] | undefined;
  readonly notActions: readonly Pattern[] | undefined;
  readonly resources: readonly Pattern[] | undefined;
  readonly notResources: readonly Pattern[] | undefined;
  readonly conditions: readonly CompiledCondition[];
  readonly principal: CompiledPrincipal | undefined;
  readonly notPrincipal: CompiledPrincipal | undefined;

  constructor(
    ordinal: number,
    policy: PolicyRef,
    statement: Statement,
    deny: boolean,
    actions: readonly Pattern[] | undefined,
    notActions: readonly Pattern[] | undefined,
    resources: readonly Pattern[] | undefined,
    notResources: readonly Pattern[] | undefined,
    conditions: readonly CompiledCondition[],
    principal: CompiledPrincipal | undefined,
    notPrincipal: CompiledPrincipal | undefined,
  ) {
    this.ordinal = ordinal;
    this.policy = policy;
    this.statement = statement;
    this.deny = deny;
    this.actions = actions;
    this.notActions = notActions;
    this.resources = resources;
    this.notResources = notResources;
    this.conditions = conditions;
    this.principal = principal;
    this.notPrincipal = notPrincipal;
  }
}

const ROOT_ARN = /^arn:[^:]+:iam::(\d{12}):root$/;
const ROLE_ARN = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/;
const SESSION_ARN = /^arn:[^:]+:sts::(\d{12}):assumed-role\/([^/]+)\/.+$/;

function compilePrincipal(p: PrincipalElement): CompiledPrincipal {
  const arns = new Set<string>();
  const accounts = new Set<string>();
  const roles = new Set<string>();
  let any = p.any;
  for (const v of p.aws) {
    if (v === "*") any = true;
    else if (/^\d{12}$/.test(v)) accounts.add(v);
    else {
      const root = ROOT_ARN.exec(v);
      if (root?.[1] !== undefined) accounts.add(root[1]);
      else {
        arns.add(v);
        const role = ROLE_ARN.exec(v);
        if (role !== null) roles.add(`${role[1]}/${role[2]}`);
      }
    }
  }
  return {
    any,
    arns,
    accounts,
    roles,
    service: new Set(p.service),
    federated: new Set(p.federated),
    canonicalUser: new Set(p.canonicalUser),
  };
}

/**
 * Compiled statements per parsed policy. Policies are immutable, and a managed policy is attached
 * to many principals: compiling it once saves time and shares the patterns' memory.
 */
let compiledByPolicy = new WeakMap<Policy, readonly CompiledStatement[]>();

/** Forgets every cached compiled statement (see `clearCompileCaches`). */
export function clearStatementCache(): void {
  compiledByPolicy = new WeakMap();
}

/** Pattern options are shared constants: a cold compile builds hundreds of patterns. */
const ACTION_PATTERN: PatternOptions = Object.freeze({ wildcards: true, variables: false });
/** Options of a Resource pattern without `${` (it has no variable, whatever the policy's version). */
const RESOURCE_PATTERN: PatternOptions = Object.freeze({ wildcards: true, variables: false, arnSegments: true });
const NO_CONDITIONS: readonly CompiledCondition[] = Object.freeze([]);

// `map` with module-level functions: exact-size packed arrays (the hot path iterates them), no closures.
const actionPattern = (a: string): Pattern => compilePattern(a.toLowerCase(), ACTION_PATTERN);
/** Wildcards segment by segment, variables only in the resource part (after the fifth colon). */
const resourcePattern = (r: string): Pattern =>
  // Only text with a `${` can hold a variable; only then is the resource part looked for.
  r.includes("${")
    ? compilePattern(r, { wildcards: true, variables: true, variablesFrom: resourcePartOffset(r), arnSegments: true })
    : compilePattern(r, RESOURCE_PATTERN);
/** In a 2008-10-17 (or version-less) policy `${…}` is literal text (AWS, Version element page). */
const literalResourcePattern = (r: string): Pattern => compilePattern(r, RESOURCE_PATTERN);

/** Whether two references name the same policy in the same place of a slot. */
function samePlace(a: PolicyRef, b: PolicyRef): boolean {
  return a.type === b.type && a.index === b.index && a.kind === b.kind && a.id === b.id;
}

/**
 * Compiles every statement of `policy`, numbering them from `firstOrdinal`. With `cache`, the
 * compiled statements are kept (weakly) with the policy object and reused next time: as they are
 * when the policy sits at the same place again (the statements are immutable, so sets may share
 * them), as copies with their own ordinal and reference otherwise. A cold compile builds each
 * statement once, without a second object per statement for its place in the slot.
 */
export function compileStatements(
  policy: Policy,
  ref: PolicyRef,
  firstOrdinal: number,
  cache: boolean,
): readonly CompiledStatement[] {
  const cached = cache ? compiledByPolicy.get(policy) : undefined;
  if (cached !== undefined) {
    const head = cached[0];
    if (head === undefined || (head.ordinal === firstOrdinal && samePlace(head.policy, ref))) return cached;
    return cached.map(
      (s, i) =>
        new StatementRecord(
          firstOrdinal + i,
          ref,
          s.statement,
          s.deny,
          s.actions,
          s.notActions,
          s.resources,
          s.notResources,
          s.conditions,
          s.principal,
          s.notPrincipal,
        ),
    );
  }
  const variables = policy.version === "2012-10-17";
  const toResource = variables ? resourcePattern : literalResourcePattern;
  const statements = policy.statements;
  const compiled: CompiledStatement[] = new Array(statements.length);
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i] as Statement;
    const conditions = s.conditions;
    compiled[i] = new StatementRecord(
      firstOrdinal + i,
      ref,
      s,
      s.effect === "Deny",
      s.action?.map(actionPattern),
      s.notAction?.map(actionPattern),
      s.resource?.map(toResource),
      s.notResource?.map(toResource),
      conditions.length === 0 ? NO_CONDITIONS : conditions.map((c) => compileCondition(c, variables)),
      s.principal === undefined ? undefined : compilePrincipal(s.principal),
      s.notPrincipal === undefined ? undefined : compilePrincipal(s.notPrincipal),
    );
  }
  if (cache) compiledByPolicy.set(policy, compiled);
  return compiled;
}

/** Whether the statement's Action/NotAction matches a lower-cased action. */
export function actionMatches(s: CompiledStatement, lowerAction: string): boolean {
  if (s.actions !== undefined) {
    for (const p of s.actions) if (p.match(lowerAction, 0, lowerAction.length, EMPTY) === MATCH) return true;
    return false;
  }
  for (const p of s.notActions as readonly Pattern[]) {
    if (p.match(lowerAction, 0, lowerAction.length, EMPTY) === MATCH) return false;
  }
  return true;
}

const EMPTY: Context = Object.freeze({});

/**
 * Whether the statement's Resource/NotResource matches. A Resource or NotResource entry with a
 * policy variable that has no value matches no resource, so it widens a NotResource statement
 * rather than disabling it (AWS, "Policy variables with no value":
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value).
 */
export function resourceMatches(s: CompiledStatement, resource: string, ctx: Context): boolean {
  const list = s.resources ?? s.notResources;
  if (list === undefined) return true;
  const allow = s.resources !== undefined;
  for (let i = 0; i < list.length; i++) {
    if ((list[i] as Pattern).match(resource, 0, resource.length, ctx) === MATCH) return allow;
  }
  return !allow;
}

/** Whether every condition holds. */
export function conditionsHold(s: CompiledStatement, ctx: Context): boolean {
  const cs = s.conditions;
  for (let i = 0; i < cs.length; i++) if (!conditionHolds(cs[i] as CompiledCondition, ctx)) return false;
  return true;
}

/** Resource and conditions (the action was matched by the plan). */
export function statementApplies(s: CompiledStatement, resource: string, ctx: Context): boolean {
  return resourceMatches(s, resource, ctx) && conditionsHold(s, ctx);
}

/** The facts about a request principal that resource-policy Principal matching needs. */
export interface PrincipalFacets {
  readonly type: "AWS" | "Service" | "Federated" | "CanonicalUser";
  readonly arn: string;
  readonly account: string;
  /** `ACCOUNT/RoleName` for assumed-role sessions and role ARNs. */
  readonly roleKey: string | undefined;
  readonly isRoleArn: boolean;
  readonly isRoot: boolean;
}

/** Derives {@link PrincipalFacets} from a {@link PrincipalInfo}. */
export function principalFacets(p: PrincipalInfo): PrincipalFacets {
  const type = p.type ?? "AWS";
  let roleKey: string | undefined;
  let isRoleArn = false;
  let isRoot = false;
  if (type === "AWS") {
    const session = SESSION_ARN.exec(p.arn);
    const role = ROLE_ARN.exec(p.arn);
    if (session !== null) roleKey = `${session[1]}/${session[2]}`;
    else if (role !== null) {
      roleKey = `${role[1]}/${role[2]}`;
      isRoleArn = true;
    } else isRoot = ROOT_ARN.test(p.arn);
    if (session !== null && p.roleArn !== undefined) {
      const given = ROLE_ARN.exec(p.roleArn);
      if (given !== null) roleKey = `${given[1]}/${given[2]}`;
    }
  }
  return { type, arn: p.arn, account: p.accountId, roleKey, isRoleArn, isRoot };
}

/** How a resource-policy statement names the principal. Higher is more direct. */
export const LEVEL_NONE = 0;
/** Named through its account (`123456789012`, `…:root`): a delegation to the account's IAM policies. */
export const LEVEL_ACCOUNT = 1;
/** Named through its role ARN: limited by the session's boundary and session policies. */
export const LEVEL_ROLE = 2;
/** Named exactly (user, role session, federated user ARN) or by `*`: not limited by them. */
export const LEVEL_DIRECT = 3;

function otherTypeSet(cp: CompiledPrincipal, f: PrincipalFacets): ReadonlySet<string> {
  return f.type === "Service" ? cp.service : f.type === "Federated" ? cp.federated : cp.canonicalUser;
}

/** How a Principal element names the request principal (a LEVEL_* value). */
export function principalLevel(cp: CompiledPrincipal, f: PrincipalFacets): number {
  if (cp.any) return LEVEL_DIRECT;
  if (f.type !== "AWS") return otherTypeSet(cp, f).has(f.arn) ? LEVEL_DIRECT : LEVEL_NONE;
  if (cp.arns.has(f.arn)) return f.isRoleArn ? LEVEL_ROLE : LEVEL_DIRECT;
  if (f.roleKey !== undefined && cp.roles.has(f.roleKey)) return LEVEL_ROLE;
  if (cp.accounts.has(f.account)) return LEVEL_ACCOUNT;
  return LEVEL_NONE;
}

/**
 * Whether a NotPrincipal statement applies to the principal. AWS evaluates a principal as each of
 * its identities (the account, the role, the session or user); the principal escapes the statement
 * only when every one of them is listed.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
 */
export function notPrincipalApplies(cp: CompiledPrincipal, f: PrincipalFacets): boolean {
  if (cp.any) return false;
  if (f.type !== "AWS") return !otherTypeSet(cp, f).has(f.arn);
  const accountListed = cp.accounts.has(f.account);
  const selfListed = f.isRoot ? accountListed : cp.arns.has(f.arn);
  const roleListed = f.roleKey === undefined || f.isRoleArn || cp.roles.has(f.roleKey);
  return !(selfListed && accountListed && roleListed);
}

/**
 * The level at which a resource-policy statement applies to the principal (LEVEL_NONE: it does not).
 * A Deny with NotPrincipal always applies to a principal with a permissions boundary, as AWS documents:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
 */
export function statementPrincipalLevel(s: CompiledStatement, f: PrincipalFacets, hasBoundary: boolean): number {
  if (s.principal !== undefined) return principalLevel(s.principal, f);
  if (s.notPrincipal !== undefined) {
    if (s.deny && hasBoundary && f.type === "AWS") return LEVEL_DIRECT;
    return notPrincipalApplies(s.notPrincipal, f) ? LEVEL_DIRECT : LEVEL_NONE;
  }
  // A resource policy without Principal never validates; treat as applying to everyone.
  return LEVEL_DIRECT;
}
