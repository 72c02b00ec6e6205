/**
 * Expresses identity policies of the benchmark vocabulary as Cedar policies, so Cedar answers the
 * same question IAM does:
 *
 * - Each IAM statement becomes one `permit` (Allow) or `forbid` (Deny). Cedar's "deny unless a
 *   permit applies and no forbid does" is exactly IAM's identity-policy logic, and a forbid that
 *   applied shows up in `diagnostics.reason`, which gives ExplicitDeny vs ImplicitDeny.
 * - Exact actions and resources use entity equality (`action == Action::"s3:getobject"`); patterns
 *   use `like` on `context.action` / `context.resource`. Actions are lower-cased on both sides
 *   because IAM matches them case-insensitively; resources keep their case.
 * - Condition keys are lower-cased (IAM keys are case-insensitive) and read with `context has "k"`
 *   / `context["k"]`. Request values are typed per key (`workloads.ts`): `ip(...)` for IpAddress,
 *   Long for numeric keys, Boolean for Bool keys, a Set for multivalued keys.
 * - A key missing from the request makes a positive operator false and a negated one true
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html),
 *   `...IfExists` true, and `Null` compares presence.
 *
 * Anything outside that vocabulary (`?` wildcards, resource wildcards that would have to span
 * ARN segments, unknown operators or keys) throws instead of translating approximately.
 */

import type { CedarValueJson, Context, EntityUid } from "@cedar-policy/cedar-wasm/nodejs";
import {
  contextKeyType,
  type IamCondition,
  type IamPolicyDocument,
  type IamStatement,
  toList,
  type WorkloadRequest,
} from "./workloads.ts";

/** A Cedar request, ready for `statefulIsAuthorized` (minus the policy set id and entities). */
export interface CedarRequest {
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: Context;
}

/**
 * Translates identity policies into a Cedar static policy set (policy id → policy text). Ids are
 * `p<policy>s<statement>`, so a forbid's id names the IAM statement that denied.
 */
export function toCedarPolicies(policies: readonly IamPolicyDocument[]): Record<string, string> {
  const out: Record<string, string> = {};
  policies.forEach((policy, p) => {
    policy.Statement.forEach((statement, s) => {
      out[`p${p}s${s}`] = toCedarStatement(statement);
    });
  });
  return out;
}

/** One IAM statement as one Cedar policy. */
export function toCedarStatement(statement: IamStatement): string {
  if (statement.Principal !== undefined) throw new Error("only identity statements (no Principal) translate");
  const clauses: string[] = [];
  const actions = statement.Action ?? statement.NotAction;
  const actionMatch = anyOf(toList(actions).map(actionTest));
  clauses.push(statement.Action !== undefined ? actionMatch : `!(${actionMatch})`);
  if (statement.NotResource !== undefined) clauses.push(`!(${anyOf(toList(statement.NotResource).map(resourceTest))})`);
  else clauses.push(anyOf(toList(statement.Resource ?? "*").map(resourceTest)));
  for (const condition of conditionTests(statement.Condition ?? {})) clauses.push(condition);
  const body = clauses.filter((c) => c !== "true");
  const effect = statement.Effect === "Allow" ? "permit" : "forbid";
  return body.length === 0
    ? `${effect}(principal, action, resource);`
    : `${effect}(principal, action, resource) when { ${body.join(" && ")} };`;
}

/** The Cedar form of a benchmark request. */
export function toCedarRequest(principalArn: string, request: WorkloadRequest): CedarRequest {
  const context: Context = { action: request.action.toLowerCase(), resource: request.resource };
  for (const [key, value] of Object.entries(request.context)) context[key.toLowerCase()] = contextValue(key, value);
  return {
    principal: { type: "Principal", id: principalArn },
    action: { type: "Action", id: request.action.toLowerCase() },
    resource: { type: "Resource", id: request.resource },
    context,
  };
}

function contextValue(key: string, value: string | readonly string[]): CedarValueJson {
  const type = contextKeyType(key);
  if (typeof value !== "string") {
    if (type !== "set") throw new Error(`context key ${key} is single-valued but got an array`);
    return [...value];
  }
  switch (type) {
    case "ip":
      return { __extn: { fn: "ip", arg: value } };
    case "long":
      return Number.parseInt(value, 10);
    case "bool":
      return value.toLowerCase() === "true";
    case "set":
      return [value];
    default:
      return value;
  }
}

function actionTest(pattern: string): string {
  if (pattern === "*") return "true";
  const lower = pattern.toLowerCase();
  if (lower.includes("?")) throw new Error(`"?" wildcards have no Cedar equivalent: ${pattern}`);
  return lower.includes("*") ? `context.action like ${likePattern(lower)}` : `action == Action::${str(lower)}`;
}

function resourceTest(pattern: string): string {
  if (pattern === "*") return "true";
  if (pattern.includes("?")) throw new Error(`"?" wildcards have no Cedar equivalent: ${pattern}`);
  if (!pattern.includes("*")) return `resource == Resource::${str(pattern)}`;
  // IAM matches the six ARN segments separately; Cedar's `like` sees one string. They agree as long
  // as every `*` is alone in its segment or sits in the last (resource) segment, where `:` may occur.
  const segments = pattern.split(":");
  if (segments.length < 6) throw new Error(`not a full ARN pattern: ${pattern}`);
  segments.slice(0, 5).forEach((segment) => {
    if (segment.includes("*") && segment !== "*") throw new Error(`partial wildcard in an ARN segment: ${pattern}`);
  });
  return `context.resource like ${likePattern(pattern)}`;
}

/** Every `operator: {key: values}` pair as one Cedar boolean expression. */
function conditionTests(condition: IamCondition): string[] {
  const out: string[] = [];
  for (const [operator, entries] of Object.entries(condition)) {
    for (const [key, raw] of Object.entries(entries)) out.push(`(${conditionTest(operator, key, toList(raw))})`);
  }
  return out;
}

function conditionTest(operator: string, key: string, values: string[]): string {
  const k = key.toLowerCase();
  const has = `context has ${str(k)}`;
  const get = `context[${str(k)}]`;
  const type = contextKeyType(key);
  if (type === undefined) throw new Error(`unknown condition key ${key}`);
  const ifExists = operator.endsWith("IfExists");
  const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
  const positive = (test: string) => (ifExists ? `!(${has}) || (${test})` : `${has} && (${test})`);
  const negative = (test: string) => `!(${has}) || !(${test})`;
  switch (base) {
    case "StringEquals":
      return positive(anyOf(values.map((v) => `${get} == ${str(v)}`)));
    case "StringNotEquals":
      return negative(anyOf(values.map((v) => `${get} == ${str(v)}`)));
    case "StringLike":
      return positive(anyOf(values.map((v) => `${get} like ${likePattern(v)}`)));
    case "StringNotLike":
      return negative(anyOf(values.map((v) => `${get} like ${likePattern(v)}`)));
    case "IpAddress":
      return positive(anyOf(values.map((v) => `${get}.isInRange(ip(${str(v)}))`)));
    case "NotIpAddress":
      return negative(anyOf(values.map((v) => `${get}.isInRange(ip(${str(v)}))`)));
    case "Bool":
      return positive(anyOf(values.map((v) => `${get} == ${v.toLowerCase() === "true"}`)));
    case "NumericEquals":
    case "NumericLessThan":
    case "NumericLessThanEquals":
    case "NumericGreaterThan":
    case "NumericGreaterThanEquals":
      return positive(anyOf(values.map((v) => `${get} ${numericOperators[base]} ${integer(v)}`)));
    case "Null":
      // "true": the key must be absent; "false": present.
      return values.map((v) => (v.toLowerCase() === "true" ? `!(${has})` : has)).join(" || ");
    case "ForAnyValue:StringEquals":
      if (type !== "set") throw new Error(`${operator} needs a multivalued key, not ${key}`);
      return `${has} && ${get}.containsAny(${set(values)})`;
    case "ForAllValues:StringEquals":
      // A missing key (or an empty set) satisfies ForAllValues.
      if (type !== "set") throw new Error(`${operator} needs a multivalued key, not ${key}`);
      return `!(${has}) || ${set(values)}.containsAll(${get})`;
    default:
      throw new Error(`no Cedar translation for condition operator ${operator}`);
  }
}

const numericOperators: Record<string, string> = {
  NumericEquals: "==",
  NumericLessThan: "<",
  NumericLessThanEquals: "<=",
  NumericGreaterThan: ">",
  NumericGreaterThanEquals: ">=",
};

function anyOf(tests: string[]): string {
  if (tests.includes("true")) return "true";
  if (tests.length > 16) {
    // Cedar parses `a || b || …` into a left-deep tree and evaluates it recursively: ReadOnlyAccess's
    // 1,500 actions in one statement overflow the wasm stack. Halves nest only log2(n) deep.
    const half = Math.ceil(tests.length / 2);
    return `(${anyOf(tests.slice(0, half))} || ${anyOf(tests.slice(half))})`;
  }
  return tests.length === 1 ? (tests[0] as string) : `(${tests.map((t) => `(${t})`).join(" || ")})`;
}

/** A Cedar string literal. */
function str(value: string): string {
  return JSON.stringify(value);
}

/** An IAM `*` glob as a Cedar `like` pattern (Cedar escapes a literal `*` as `\*`). */
function likePattern(glob: string): string {
  return `"${glob.replace(/[\\"]/g, "\\$&")}"`;
}

function set(values: string[]): string {
  return `[${values.map(str).join(", ")}]`;
}

function integer(value: string): string {
  if (!/^-?\d+$/.test(value)) throw new Error(`Cedar Longs are integers, got ${value}`);
  return value;
}
