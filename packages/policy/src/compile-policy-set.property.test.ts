// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
/**
 * Property-based tests on generated policy sets: the compiled decider against a small, slow,
 * deliberately naive reference interpreter written from the AWS evaluation-logic documentation,
 * plus algebraic properties (deny wins, order independence, monotonicity).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AuthzRequest, ContextValue, PrincipalInfo } from "./authz-request.ts";
import type { PolicySetInput } from "./compile-policy-set.ts";
import type { Decision } from "./evaluation-result.ts";
import { ACCOUNT, aRoleSession, aUser, decisionOf, OTHER_ACCOUNT } from "./test-support.ts";

type Json = Record<string, unknown>;
interface GenStatement extends Json {
  Effect: "Allow" | "Deny";
}
interface GenPolicy {
  Version: "2012-10-17";
  Statement: GenStatement[];
}
interface GenSet {
  identityPolicies: GenPolicy[];
  permissionBoundary?: GenPolicy;
  sessionPolicies?: GenPolicy[];
  guardrails?: GenPolicy[];
  resourcePolicy?: GenPolicy;
  resourcePolicyMustAllow?: boolean;
}

const USER = aUser("alice");
const SESSION = aRoleSession("Admin", "s1");
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/Admin`;

const REQUEST_ACTIONS = ["s3:GetObject", "s3:PutObject", "ec2:RunInstances", "iam:CreateUser", "lambda:InvokeFunction"];
const ACTION_PATTERNS = [
  ...REQUEST_ACTIONS,
  "s3:*",
  "*",
  "s3:Get*",
  "ec2:*",
  "S3:getobject",
  "iam:Create?ser",
  "s?:*",
  "*:Run*",
];
const REQUEST_RESOURCES = [
  "arn:aws:s3:::b/k",
  "arn:aws:s3:::b/secret/k",
  "arn:aws:s3:::b/alice",
  "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
  "arn:aws:lambda:us-east-1:111122223333:function:api",
  "arn:aws:lambda:us-east-1:111122223333:function:api:prod",
];
const RESOURCE_PATTERNS = [
  "*",
  "arn:aws:s3:::b/*",
  "arn:aws:s3:::b/k",
  "arn:aws:s3:::b/secret/*",
  "arn:aws:ec2:*",
  "arn:aws:s3:::b/${aws:username}",
  "arn:aws:s3:::*/k",
  "arn:aws:s3:::b/?",
  // Segment by segment: a `*` inside a segment stays there, a last-in-segment `*` crosses colons,
  // `?` never matches a colon, variables only after the fifth colon.
  "arn:aws:lambda:us-*3:function:api",
  "arn:aws:lambda:*:111122223333:function:api*",
  "arn:aws:lambda:us-east-1:111122223333:function?api",
  "arn:aws:*:us-east-1:*:*i",
  "arn:aws:lambda:us-east-1:${aws:PrincipalTag/team}:function:api",
  "arn:aws:ec2:*1:*",
];

const conditionArb: fc.Arbitrary<readonly [string, string, readonly string[]]> = fc.oneof(
  fc.tuple(
    fc.constantFrom("StringEquals", "StringNotEquals", "StringLike", "StringEqualsIfExists", "StringNotLike"),
    fc.constantFrom("aws:username", "AWS:UserName"),
    fc.subarray(["alice", "bob", "al*", "${aws:PrincipalTag/team}"], { minLength: 1 }),
  ),
  fc.tuple(
    fc.constantFrom("Bool", "BoolIfExists"),
    fc.constant("aws:SecureTransport"),
    fc.constantFrom(["true"], ["false"]),
  ),
  fc.tuple(
    fc.constantFrom("NumericLessThan", "NumericGreaterThanEquals", "NumericNotEquals"),
    fc.constant("aws:MultiFactorAuthAge"),
    fc.constantFrom(["100"], ["3600"]),
  ),
  fc.tuple(
    fc.constantFrom(
      "ForAnyValue:StringEquals",
      "ForAllValues:StringEquals",
      "ForAllValues:StringNotEquals",
      "StringEquals",
    ),
    fc.constant("aws:TagKeys"),
    fc.subarray(["a", "b", "c"], { minLength: 1 }),
  ),
  fc.tuple(fc.constant("Null"), fc.constantFrom("aws:username", "aws:TagKeys"), fc.constantFrom(["true"], ["false"])),
  fc.tuple(
    fc.constantFrom("ArnLike", "ArnNotLike", "ArnEqualsIfExists", "ArnNotEquals"),
    fc.constant("aws:SourceArn"),
    fc.subarray(
      [
        "arn:aws:iam::*",
        "arn:aws:lambda:*:111122223333:function:*",
        "arn:aws:lambda:us-*:*:function:a?i*",
        "arn:aws:iam::111122223333:user/${aws:username}",
        "arn:aws:*:*:111122223333:*",
      ],
      { minLength: 1, maxLength: 2 },
    ),
  ),
);

function statementArb(withPrincipal: boolean): fc.Arbitrary<GenStatement> {
  return fc
    .record({
      effect: fc.oneof(
        { weight: 4, arbitrary: fc.constant("Allow" as const) },
        { weight: 1, arbitrary: fc.constant("Deny" as const) },
      ),
      notAction: fc.boolean(),
      notActionReally: fc.boolean(),
      actions: fc.subarray(ACTION_PATTERNS, { minLength: 1, maxLength: 2 }),
      notResource: fc.boolean(),
      resources: fc.subarray(RESOURCE_PATTERNS, { minLength: 1, maxLength: 2 }),
      conditions: fc.oneof(
        { weight: 2, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.array(conditionArb, { minLength: 1, maxLength: 2 }) },
      ),
      notPrincipal: fc.boolean(),
      principals: fc.subarray(
        [USER.arn, SESSION.arn, ROLE_ARN, ACCOUNT, `arn:aws:iam::${ACCOUNT}:root`, OTHER_ACCOUNT, "*"],
        { minLength: 1, maxLength: 3 },
      ),
    })
    .map((g) => {
      const s: GenStatement = { Effect: g.effect };
      s[g.notAction && g.notActionReally ? "NotAction" : "Action"] = g.actions;
      s[g.notResource && g.actions.length < 2 ? "NotResource" : "Resource"] = g.resources;
      if (g.conditions.length > 0) {
        const condition: Record<string, Record<string, readonly string[]>> = {};
        for (const [op, key, values] of g.conditions) {
          const block = condition[op] ?? {};
          block[key] = values;
          condition[op] = block;
        }
        s.Condition = condition;
      }
      if (withPrincipal) {
        if (g.principals.includes("*")) s.Principal = "*";
        else s[g.notPrincipal ? "NotPrincipal" : "Principal"] = { AWS: g.principals };
      }
      return s;
    });
}

const policyArb = (withPrincipal = false) =>
  fc
    .array(statementArb(withPrincipal), { minLength: 1, maxLength: 4 })
    .map((Statement): GenPolicy => ({ Version: "2012-10-17", Statement }));

/** Present in about a third of the sets. */
const sometimes = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const setArb: fc.Arbitrary<GenSet> = fc
  .record({
    identityPolicies: fc.array(policyArb(), { maxLength: 3 }),
    permissionBoundary: sometimes(policyArb()),
    sessionPolicies: sometimes(fc.array(policyArb(), { maxLength: 2 })),
    guardrails: sometimes(fc.array(policyArb(), { maxLength: 2 })),
    resourcePolicy: fc.oneof(fc.constant(undefined), policyArb(true)),
    resourcePolicyMustAllow: fc.boolean(),
  })
  .map((r) => {
    const set: GenSet = { identityPolicies: r.identityPolicies };
    if (r.permissionBoundary !== undefined) set.permissionBoundary = r.permissionBoundary;
    if (r.sessionPolicies !== undefined) set.sessionPolicies = r.sessionPolicies;
    if (r.guardrails !== undefined) set.guardrails = r.guardrails;
    if (r.resourcePolicy !== undefined) set.resourcePolicy = r.resourcePolicy;
    if (r.resourcePolicy !== undefined && r.resourcePolicyMustAllow) set.resourcePolicyMustAllow = true;
    return set;
  });

const contextArb: fc.Arbitrary<Record<string, ContextValue>> = fc
  .record(
    {
      "aws:username": fc.constantFrom("alice", "bob"),
      "aws:SecureTransport": fc.constantFrom(true, false, "true", "false"),
      "aws:MultiFactorAuthAge": fc.constantFrom(50, 100, "3600", 7200),
      "aws:TagKeys": fc.subarray(["a", "b", "c", "d"]),
      "aws:PrincipalTag/team": fc.constantFrom("alice", "eng", "111122223333"),
      "aws:SourceArn": fc.constantFrom(
        "arn:aws:lambda:us-east-1:111122223333:function:api",
        "arn:aws:lambda:us-east-1:111122223333:function:api:prod",
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::444455556666:user/bob",
        "not-an-arn",
      ),
    },
    { requiredKeys: [] },
  )
  .map((c) => c as Record<string, ContextValue>);

const requestArb: fc.Arbitrary<AuthzRequest> = fc
  .record({
    action: fc.constantFrom(...REQUEST_ACTIONS),
    resource: fc.constantFrom(...REQUEST_RESOURCES),
    context: contextArb,
    resourceAccount: fc.constantFrom(undefined, ACCOUNT, OTHER_ACCOUNT),
  })
  .map((r) => ({
    action: r.action,
    resource: r.resource,
    context: r.context,
    ...(r.resourceAccount === undefined ? {} : { resourceAccount: r.resourceAccount }),
  }));

const principalArb = fc.constantFrom<PrincipalInfo>(USER, SESSION);

// ---------------------------------------------------------------------------------------------
// The reference interpreter: string-to-RegExp globbing, one function per documented rule.

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string]);

function glob(pattern: string, flags = ""): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, `s${flags}`);
}

function contextValue(ctx: Record<string, ContextValue>, key: string): ContextValue | undefined {
  const found = Object.keys(ctx).find((k) => k.toLowerCase() === key.toLowerCase());
  return found === undefined ? undefined : ctx[found];
}

/**
 * A Resource entry as a RegExp, from the Resource element page: `*` and `?` work "within the
 * individual segments of an ARN (the parts separated by colons)", except that a `*` that is "the
 * last character of a resource ARN segment ... can expand to match beyond the colon boundaries";
 * variables only after the fifth colon, their values literal. Undefined when a variable has no value.
 */
function resourceRegExp(pattern: string, ctx: Record<string, ContextValue>): RegExp | undefined {
  let fifth = pattern.length;
  for (let i = 0, colons = 0, depth = 0; i < pattern.length; i++) {
    if (pattern.startsWith("${", i)) depth++;
    else if (pattern[i] === "}" && depth > 0) depth--;
    else if (pattern[i] === ":" && depth === 0 && ++colons === 5) {
      fifth = i + 1;
      break;
    }
  }
  const literal = (t: string) => t.replace(/[.*?+^${}()|[\]\\]/g, "\\$&");
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const close = pattern.indexOf("}", i);
    if (i >= fifth && pattern.startsWith("${", i) && close > 0) {
      const v = contextValue(ctx, pattern.slice(i + 2, close));
      if (v === undefined || Array.isArray(v)) return undefined;
      source += literal(String(v));
      i = close;
    } else if (pattern[i] === "*") {
      source += i + 1 === pattern.length || pattern[i + 1] === ":" ? "[\\s\\S]*" : "[^:]*";
    } else if (pattern[i] === "?") source += "[^:]";
    else source += literal(pattern[i] as string);
  }
  return new RegExp(`^${source}$`);
}

/**
 * ArnLike from the condition operators page: "Each of the six colon-delimited components of the ARN
 * is checked separately", so both sides need six (the sixth keeps its colons); undefined when the
 * request value is not an ARN.
 */
function arnLike(pattern: string, value: string, ctx: Record<string, ContextValue>): boolean | undefined {
  const six = (t: string) => {
    const parts = t.split(":");
    return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(":")];
  };
  const v = six(value);
  if (v === undefined) return undefined;
  const resolved = substitute(pattern, ctx);
  const p = resolved === undefined ? undefined : six(pattern);
  if (p === undefined) return false;
  return p.every((component, i) => {
    const c = substitute(component, ctx);
    return c !== undefined && glob(c).test(v[i] as string);
  });
}

/** Substitutes `${key}`; undefined when a key is missing or multivalued. */
function substitute(value: string, ctx: Record<string, ContextValue>): string | undefined {
  let ok = true;
  const out = value.replace(/\$\{([^}]+)\}/g, (_, key: string) => {
    const v = contextValue(ctx, key);
    if (v === undefined || Array.isArray(v)) {
      ok = false;
      return "";
    }
    return String(v);
  });
  return ok ? out : undefined;
}

function conditionHolds(operator: string, key: string, values: string[], ctx: Record<string, ContextValue>): boolean {
  const setOp = operator.startsWith("ForAllValues:") ? "all" : operator.startsWith("ForAnyValue:") ? "any" : "none";
  let base = operator.replace(/^For(All|Any)Values?:/, "");
  const ifExists = base.endsWith("IfExists");
  base = base.replace(/IfExists$/, "");
  const raw = contextValue(ctx, key);
  const missing = raw === undefined || (Array.isArray(raw) && raw.length === 0);
  if (base === "Null") return values.some((v) => (v === "true" ? missing : !missing));
  const negated = base.includes("Not");
  if (missing) return setOp === "all" ? true : setOp === "any" ? false : ifExists || negated;
  if (Array.isArray(raw) && setOp === "none") return false;
  // One request value against all policy values: "match", "nomatch" or "invalid" (never satisfies). A
  // value whose variable has no value is effectively null: it equals nothing, so only "nomatch".
  const one = (x: string | number | boolean): boolean => {
    let anyMatch = false;
    let broken = false;
    for (const pv of values) {
      if (base.startsWith("String")) {
        const resolved = substitute(pv, ctx);
        if (resolved !== undefined && (base.includes("Like") ? glob(resolved).test(String(x)) : resolved === String(x)))
          anyMatch = true;
      } else if (base.startsWith("Arn")) {
        const r = arnLike(pv, String(x), ctx);
        if (r === undefined) broken = true;
        else if (r) anyMatch = true;
      } else if (base === "Bool") {
        const b = String(x).toLowerCase();
        if (b !== "true" && b !== "false") broken = true;
        else if (b === pv) anyMatch = true;
      } else {
        const n = Number(x);
        const p = Number(pv);
        if (base === "NumericLessThan" && n < p) anyMatch = true;
        if (base === "NumericGreaterThanEquals" && n >= p) anyMatch = true;
        if (base === "NumericNotEquals" && n === p) anyMatch = true;
      }
    }
    if (anyMatch) return !negated;
    return negated && !broken;
  };
  const vals = Array.isArray(raw) ? raw : [raw as string | number | boolean];
  return setOp === "all" ? vals.every(one) : vals.some(one);
}

function applies(s: GenStatement, req: AuthzRequest): boolean {
  const ctx = req.context ?? {};
  const actionHit = list(s.Action ?? s.NotAction).some((p) => glob(p, "i").test(req.action));
  if (s.Action !== undefined ? !actionHit : actionHit) return false;
  if (s.Resource !== undefined) {
    if (!list(s.Resource).some((p) => resourceRegExp(p, ctx)?.test(req.resource) === true)) return false;
  } else if (s.NotResource !== undefined) {
    if (list(s.NotResource).some((p) => resourceRegExp(p, ctx)?.test(req.resource) === true)) return false;
  }
  const condition = (s.Condition ?? {}) as Record<string, Record<string, string[]>>;
  return Object.entries(condition).every(([op, block]) =>
    Object.entries(block).every(([k, v]) => conditionHolds(op, k, v, ctx)),
  );
}

/** How a resource-policy statement names the principal: none, account, role, direct. */
function principalMatch(
  s: GenStatement,
  p: PrincipalInfo,
  hasBoundary: boolean,
): "none" | "account" | "role" | "direct" {
  const isSession = p.arn.includes(":assumed-role/");
  const listed = (v: unknown) => {
    const aws = v === "*" ? ["*"] : list((v as { AWS?: unknown }).AWS);
    return {
      any: aws.includes("*"),
      self: aws.includes(p.arn),
      role: isSession && aws.includes(ROLE_ARN),
      account: aws.includes(ACCOUNT) || aws.includes(`arn:aws:iam::${ACCOUNT}:root`),
    };
  };
  if (s.Principal !== undefined) {
    const l = listed(s.Principal);
    return l.any || l.self ? "direct" : l.role ? "role" : l.account ? "account" : "none";
  }
  if (s.Effect === "Deny" && hasBoundary) return "direct";
  const l = listed(s.NotPrincipal);
  const excluded = l.any || (l.self && l.account && (!isSession || l.role));
  return excluded ? "none" : "direct";
}

function reference(set: GenSet, p: PrincipalInfo, req: AuthzRequest): Decision {
  const statements = (policies: GenPolicy[] | undefined) => (policies ?? []).flatMap((x) => x.Statement);
  const hasBoundary = set.permissionBoundary !== undefined;
  const identitySide = [
    statements(set.guardrails),
    statements(set.identityPolicies),
    statements(hasBoundary ? [set.permissionBoundary as GenPolicy] : []),
    statements(set.sessionPolicies),
  ];
  const resourceStatements = statements(set.resourcePolicy === undefined ? [] : [set.resourcePolicy]);
  // 1. An explicit Deny in any applicable policy.
  if (identitySide.some((ss) => ss.some((s) => s.Effect === "Deny" && applies(s, req)))) return "ExplicitDeny";
  if (
    resourceStatements.some(
      (s) => s.Effect === "Deny" && principalMatch(s, p, hasBoundary) !== "none" && applies(s, req),
    )
  )
    return "ExplicitDeny";
  const allows = (ss: GenStatement[]) => ss.some((s) => s.Effect === "Allow" && applies(s, req));
  // 2. Guardrails must allow when there are any.
  if ((set.guardrails ?? []).length > 0 && !allows(statements(set.guardrails))) return "ImplicitDeny";
  // 3. Boundary and session policies limit the identity side (and role-ARN resource grants).
  const boundaryOk = !hasBoundary || allows(statements([set.permissionBoundary as GenPolicy]));
  const sessionOk = (set.sessionPolicies ?? []).length === 0 || allows(statements(set.sessionPolicies));
  const identityOk = allows(statements(set.identityPolicies)) && boundaryOk && sessionOk;
  const levels = resourceStatements
    .filter((s) => s.Effect === "Allow" && applies(s, req))
    .map((s) => principalMatch(s, p, hasBoundary));
  const crossAccount = req.resourceAccount !== undefined && req.resourceAccount !== p.accountId;
  // 4. Cross-account: both sides. Same account: either side, with the documented nuances.
  if (crossAccount) return levels.some((l) => l !== "none") && identityOk ? "Allow" : "ImplicitDeny";
  // A role trust or key policy must itself allow: naming the account delegates to the identity side.
  if (set.resourcePolicyMustAllow === true && !levels.some((l) => l !== "none")) return "ImplicitDeny";
  if (identityOk || levels.includes("direct") || (levels.includes("role") && boundaryOk && sessionOk)) return "Allow";
  return "ImplicitDeny";
}

// ---------------------------------------------------------------------------------------------

const decide = (set: GenSet, p: PrincipalInfo, req: AuthzRequest) =>
  decisionOf(set as unknown as PolicySetInput, p, req);

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function reorder(set: GenSet, seed: number): GenSet {
  const shufflePolicy = (p: GenPolicy, k: number): GenPolicy => ({ ...p, Statement: shuffle(p.Statement, seed + k) });
  const out: GenSet = { identityPolicies: shuffle(set.identityPolicies.map(shufflePolicy), seed) };
  if (set.permissionBoundary) out.permissionBoundary = shufflePolicy(set.permissionBoundary, 7);
  if (set.sessionPolicies) out.sessionPolicies = shuffle(set.sessionPolicies.map(shufflePolicy), seed + 1);
  if (set.guardrails) out.guardrails = shuffle(set.guardrails.map(shufflePolicy), seed + 2);
  if (set.resourcePolicy) out.resourcePolicy = shufflePolicy(set.resourcePolicy, 9);
  if (set.resourcePolicyMustAllow !== undefined) out.resourcePolicyMustAllow = set.resourcePolicyMustAllow;
  return out;
}

type Slot = "identity" | "boundary" | "session" | "guardrail" | "resource";

/** Adds a statement to a slot (creating the slot's policy if needed). */
function withStatement(set: GenSet, slot: Slot, s: GenStatement): GenSet {
  const add = (p: GenPolicy | undefined): GenPolicy => ({
    Version: "2012-10-17",
    Statement: [...(p?.Statement ?? []), s],
  });
  switch (slot) {
    case "identity":
      return { ...set, identityPolicies: [...set.identityPolicies.slice(1), add(set.identityPolicies[0])] };
    case "boundary":
      return { ...set, permissionBoundary: add(set.permissionBoundary) };
    case "session":
      return { ...set, sessionPolicies: [add(set.sessionPolicies?.[0]), ...(set.sessionPolicies ?? []).slice(1)] };
    case "guardrail":
      return { ...set, guardrails: [add(set.guardrails?.[0]), ...(set.guardrails ?? []).slice(1)] };
    case "resource":
      return { ...set, resourcePolicy: add(set.resourcePolicy) };
  }
}

const slotArb = fc.constantFrom<Slot>("identity", "boundary", "session", "guardrail", "resource");
const RUNS = { numRuns: 600 };

describe("generated policy sets (properties)", () => {
  it("generates sets that reach every decision, same- and cross-account (the properties are not vacuous)", () => {
    const counts: Record<string, number> = {};
    for (const [set, p, req] of fc.sample(fc.tuple(setArb, principalArb, requestArb), { numRuns: 4000, seed: 7 })) {
      const key = `${decide(set, p, req)}/${req.resourceAccount === OTHER_ACCOUNT ? "cross" : "same"}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    for (const decision of ["Allow", "ExplicitDeny", "ImplicitDeny"]) {
      for (const where of ["same", "cross"]) expect(counts[`${decision}/${where}`] ?? 0).toBeGreaterThan(10);
    }
  });

  it("the compiled decider agrees with the reference interpreter (and explain agrees with the fast path)", () => {
    fc.assert(
      fc.property(setArb, principalArb, requestArb, (set, p, req) => {
        expect(decide(set, p, req)).toBe(reference(set, p, req));
      }),
      { numRuns: 5000 },
    );
  });

  it("an applicable explicit Deny always wins", () => {
    fc.assert(
      fc.property(setArb, principalArb, requestArb, slotArb, (set, p, req, slot) => {
        const denyAll: GenStatement = { Effect: "Deny", Action: req.action, Resource: "*" };
        if (slot === "resource") denyAll.Principal = "*";
        expect(decide(withStatement(set, slot, denyAll), p, req)).toBe("ExplicitDeny");
      }),
      RUNS,
    );
  });

  it("statement order and policy order never change the decision", () => {
    fc.assert(
      fc.property(setArb, principalArb, requestArb, fc.integer({ min: 1, max: 1_000_000 }), (set, p, req, seed) => {
        expect(decide(reorder(set, seed), p, req)).toBe(decide(set, p, req));
      }),
      RUNS,
    );
  });

  it("adding a Deny statement never turns anything into Allow", () => {
    fc.assert(
      fc.property(setArb, principalArb, requestArb, slotArb, statementArb(true), (set, p, req, slot, s) => {
        const before = decide(set, p, req);
        const extra: GenStatement = { ...s, Effect: "Deny" };
        if (slot !== "resource") {
          delete extra.Principal;
          delete extra.NotPrincipal;
        }
        const after = decide(withStatement(set, slot, extra), p, req);
        if (before !== "Allow") expect(after).not.toBe("Allow");
        if (before === "ExplicitDeny") expect(after).toBe("ExplicitDeny");
      }),
      RUNS,
    );
  });

  it("adding an Allow statement never removes an explicit Deny", () => {
    fc.assert(
      fc.property(setArb, principalArb, requestArb, slotArb, statementArb(true), (set, p, req, slot, s) => {
        fc.pre(decide(set, p, req) === "ExplicitDeny");
        const extra: GenStatement = { ...s, Effect: "Allow" };
        if (slot !== "resource") {
          delete extra.Principal;
          delete extra.NotPrincipal;
        }
        expect(decide(withStatement(set, slot, extra), p, req)).toBe("ExplicitDeny");
      }),
      RUNS,
    );
  });
});
