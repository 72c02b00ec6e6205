import { splitArnPattern } from "./arn-pattern.ts";
import type { ContextValue } from "./authz-request.ts";
import { type OperatorInfo, parseOperator } from "./condition-operators.ts";
import { type Context, equalsLowered, lookupContext, presentValue, scalarToString } from "./context-lookup.ts";
import { type Cidr, ipInAny, parseCidr } from "./ip-address.ts";
import { compilePattern, MATCH, NO_MATCH, type Pattern, UNRESOLVED } from "./pattern.ts";
import type { ConditionClause } from "./policy.ts";
import {
  base64Equals,
  decodeBase64,
  parseDate,
  parseDecimal,
  toBool,
  toEpochMillis,
  toNumber,
} from "./scalar-values.ts";

/** Result of comparing one request value with all policy values of a clause. */
export const INVALID = 2;
/** One request value against a clause's policy values. */
export type ValueResult = typeof NO_MATCH | typeof MATCH | typeof INVALID | typeof UNRESOLVED;

type Scalar = string | number | boolean;

/** Compares one request value with the clause's policy values (OR), in the operator's positive form. */
interface ValueMatcher {
  match(v: Scalar, ctx: Context): ValueResult;
}

const SET_NONE = 0;
const SET_ALL = 1;
const SET_ANY = 2;

/** A condition clause compiled for evaluation. */
export interface CompiledCondition {
  readonly clause: ConditionClause;
  readonly info: OperatorInfo;
  readonly key: string;
  readonly lowerKey: string;
  readonly set: number;
  readonly ifExists: boolean;
  readonly negated: boolean;
  /** For `Null`: which answers the policy accepts. */
  readonly nullWhenMissing: boolean;
  readonly nullWhenPresent: boolean;
  readonly matcher: ValueMatcher | undefined;
}

/** After no pattern matched: UNRESOLVED when some pattern has a variable without a value. */
function noMatch(patterns: readonly Pattern[], sawUnresolved: boolean, ctx: Context): ValueResult {
  if (sawUnresolved) return UNRESOLVED;
  for (const p of patterns) if (p.hasVariables && p.unresolvable(ctx)) return UNRESOLVED;
  return NO_MATCH;
}

class StringMatcher implements ValueMatcher {
  private readonly patterns: readonly Pattern[];
  constructor(patterns: Pattern[]) {
    this.patterns = patterns;
  }
  match(v: Scalar, ctx: Context): ValueResult {
    const s = scalarToString(v);
    let unresolved = false;
    for (const p of this.patterns) {
      const r = p.match(s, 0, s.length, ctx);
      if (r === MATCH) return MATCH;
      if (r === UNRESOLVED) unresolved = true;
    }
    return noMatch(this.patterns, unresolved, ctx);
  }
}

class IgnoreCaseMatcher implements ValueMatcher {
  private readonly lowered: readonly (string | undefined)[];
  private readonly templates: readonly Pattern[];
  constructor(templates: Pattern[]) {
    this.templates = templates;
    this.lowered = templates.map((t) => (t.hasVariables ? undefined : t.source.toLowerCase()));
  }
  match(v: Scalar, ctx: Context): ValueResult {
    const s = scalarToString(v);
    let unresolved = false;
    for (let i = 0; i < this.templates.length; i++) {
      let lower = this.lowered[i];
      if (lower === undefined) {
        lower = (this.templates[i] as Pattern).resolve(ctx)?.toLowerCase();
        if (lower === undefined) {
          unresolved = true;
          continue;
        }
      }
      if (equalsLowered(s, lower)) return MATCH;
    }
    return unresolved ? UNRESOLVED : NO_MATCH;
  }
}

function compare(a: number, b: number, op: OperatorInfo["comparison"]): boolean {
  switch (op) {
    case "lt":
      return a < b;
    case "lte":
      return a <= b;
    case "gt":
      return a > b;
    case "gte":
      return a >= b;
    default:
      return a === b;
  }
}

/** Numeric and date operators: request value `op` policy value. */
class OrderedMatcher implements ValueMatcher {
  private readonly values: Float64Array;
  private readonly comparison: OperatorInfo["comparison"];
  private readonly date: boolean;
  constructor(values: number[], comparison: OperatorInfo["comparison"], date: boolean) {
    this.values = Float64Array.from(values);
    this.comparison = comparison;
    this.date = date;
  }
  match(v: Scalar, _ctx: Context): ValueResult {
    const n = this.date ? toEpochMillis(v) : toNumber(v);
    if (Number.isNaN(n)) return INVALID;
    for (let i = 0; i < this.values.length; i++) {
      if (compare(n, this.values[i] as number, this.comparison)) return MATCH;
    }
    return NO_MATCH;
  }
}

class BoolMatcher implements ValueMatcher {
  private readonly acceptsTrue: boolean;
  private readonly acceptsFalse: boolean;
  constructor(values: boolean[]) {
    this.acceptsTrue = values.includes(true);
    this.acceptsFalse = values.includes(false);
  }
  match(v: Scalar, _ctx: Context): ValueResult {
    const b = toBool(v);
    if (b === undefined) return INVALID;
    return (b ? this.acceptsTrue : this.acceptsFalse) ? MATCH : NO_MATCH;
  }
}

class BinaryMatcher implements ValueMatcher {
  private readonly values: readonly Uint8Array[];
  constructor(values: Uint8Array[]) {
    this.values = values;
  }
  match(v: Scalar, _ctx: Context): ValueResult {
    if (typeof v !== "string") return INVALID;
    for (const bytes of this.values) {
      const r = base64Equals(v, bytes);
      if (r === undefined) return INVALID;
      if (r) return MATCH;
    }
    return NO_MATCH;
  }
}

class IpMatcher implements ValueMatcher {
  private readonly cidrs: readonly Cidr[];
  constructor(cidrs: Cidr[]) {
    this.cidrs = cidrs;
  }
  match(v: Scalar, _ctx: Context): ValueResult {
    if (typeof v !== "string") return INVALID;
    const r = ipInAny(v, this.cidrs);
    return r === undefined ? INVALID : r ? MATCH : NO_MATCH;
  }
}

/**
 * `ArnEquals`/`ArnLike`: "Each of the six colon-delimited components of the ARN is checked
 * separately and each can include multi-character match wildcards (*) or single-character match
 * wildcards (?)" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN).
 * So a policy value with fewer than six components matches nothing, and no wildcard reaches past
 * its component. The sixth component is the resource (everything after the fifth colon, which per
 * the ARN format `resource-type:resource-id` may itself hold colons): it is one component, and its
 * wildcards match any character of it, colons included.
 */
class ArnMatcher implements ValueMatcher {
  private readonly arns: readonly (readonly Pattern[])[];
  private readonly all: readonly Pattern[];
  constructor(values: readonly string[], variables: boolean) {
    const arns: Pattern[][] = [];
    for (const value of values) {
      const parts = splitArnPattern(value);
      if (parts !== undefined) arns.push(parts.map((p) => compilePattern(p, { wildcards: true, variables })));
    }
    this.arns = arns;
    this.all = arns.flat();
  }
  match(v: Scalar, ctx: Context): ValueResult {
    if (typeof v !== "string") return INVALID;
    const c0 = v.indexOf(":");
    const c1 = c0 < 0 ? -1 : v.indexOf(":", c0 + 1);
    const c2 = c1 < 0 ? -1 : v.indexOf(":", c1 + 1);
    const c3 = c2 < 0 ? -1 : v.indexOf(":", c2 + 1);
    const c4 = c3 < 0 ? -1 : v.indexOf(":", c3 + 1);
    if (c4 < 0) return INVALID;
    let unresolved = false;
    for (const p of this.arns) {
      const r = matchArnComponents(p, v, c0, c1, c2, c3, c4, ctx);
      if (r === MATCH) return MATCH;
      if (r === UNRESOLVED) unresolved = true;
    }
    return noMatch(this.all, unresolved, ctx);
  }
}

function matchArnComponents(
  p: readonly Pattern[],
  v: string,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  c4: number,
  ctx: Context,
): ValueResult {
  for (let i = 0; i < 6; i++) {
    const start = i === 0 ? 0 : i === 1 ? c0 + 1 : i === 2 ? c1 + 1 : i === 3 ? c2 + 1 : i === 4 ? c3 + 1 : c4 + 1;
    const end = i === 0 ? c0 : i === 1 ? c1 : i === 2 ? c2 : i === 3 ? c3 : i === 4 ? c4 : v.length;
    const r = (p[i] as Pattern).match(v, start, end, ctx);
    if (r !== MATCH) return r === UNRESOLVED ? UNRESOLVED : NO_MATCH;
  }
  return MATCH;
}

/**
 * The values parsed, without those that do not parse (NaN or undefined). Validated values all
 * parse, so the filter (a second array, grown one push at a time) is only paid for a hand-built AST.
 */
function parsedNumbers(values: readonly string[], parse: (v: string) => number): number[] {
  const parsed = values.map(parse);
  return parsed.some(Number.isNaN) ? parsed.filter((n) => !Number.isNaN(n)) : parsed;
}

/** See {@link parsedNumbers}. */
function parsedDefined<T>(values: readonly string[], parse: (v: string) => T | undefined): T[] {
  const parsed = values.map(parse);
  return parsed.includes(undefined) ? parsed.filter((v) => v !== undefined) : (parsed as T[]);
}

/**
 * Compiles one clause. The clause has been validated, so typed values parse; a value that does not
 * (only reachable with a hand-built AST) simply never matches.
 */
export function compileCondition(clause: ConditionClause, variables: boolean): CompiledCondition {
  const parsed = parseOperator(clause.operator);
  if (parsed === undefined) throw new Error(`unknown condition operator ${clause.operator}`);
  const { info } = parsed;
  let matcher: ValueMatcher | undefined;
  const values = clause.values;
  switch (info.family) {
    case "string":
      matcher = info.ignoreCase
        ? new IgnoreCaseMatcher(values.map((v) => compilePattern(v, { wildcards: false, variables })))
        : new StringMatcher(values.map((v) => compilePattern(v, { wildcards: info.wildcards === true, variables })));
      break;
    case "numeric":
      matcher = new OrderedMatcher(parsedNumbers(values, parseDecimal), info.comparison, false);
      break;
    case "date":
      matcher = new OrderedMatcher(parsedNumbers(values, parseDate), info.comparison, true);
      break;
    case "bool":
      matcher = new BoolMatcher(parsedDefined(values, toBool));
      break;
    case "binary":
      matcher = new BinaryMatcher(parsedDefined(values, decodeBase64));
      break;
    case "ip":
      matcher = new IpMatcher(parsedDefined(values, parseCidr));
      break;
    case "arn":
      matcher = new ArnMatcher(values, variables);
      break;
    case "null":
      matcher = undefined;
      break;
  }
  // Only `Null` (no matcher) reads these; other operators skip the lower-cased copies.
  let nullWhenMissing = false;
  let nullWhenPresent = false;
  if (matcher === undefined) {
    for (const v of values) {
      const lower = v.toLowerCase();
      if (lower === "true") nullWhenMissing = true;
      else if (lower === "false") nullWhenPresent = true;
    }
  }
  return {
    clause,
    info,
    key: clause.key,
    lowerKey: clause.key.toLowerCase(),
    set: parsed.setOperator === "ForAllValues" ? SET_ALL : parsed.setOperator === "ForAnyValue" ? SET_ANY : SET_NONE,
    ifExists: parsed.ifExists,
    negated: info.negated,
    nullWhenMissing,
    nullWhenPresent,
    matcher,
  };
}

/**
 * One request value against the clause. A policy value whose variable has no value is "effectively
 * null": nothing equals it, so a negated operator matches against it (AWS, "Policy variables with
 * no value": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value).
 */
function satisfied(c: CompiledCondition, v: Scalar, ctx: Context): boolean {
  const r = (c.matcher as ValueMatcher).match(v, ctx);
  return c.negated ? r === NO_MATCH || r === UNRESOLVED : r === MATCH;
}

/** Evaluates a compiled clause against the request context. Hot path: allocates nothing. */
export function conditionHolds(c: CompiledCondition, ctx: Context): boolean {
  const raw = lookupContext(ctx, c.key, c.lowerKey);
  const v = presentValue(raw);
  if (c.matcher === undefined) return v === undefined ? c.nullWhenMissing : c.nullWhenPresent;
  if (v === undefined) {
    if (c.set === SET_ALL) return true;
    if (c.set === SET_ANY) return false;
    return c.ifExists || c.negated;
  }
  if (typeof v !== "object") {
    return satisfied(c, v, ctx);
  }
  // A multivalued request value needs a set operator; without one the condition does not match.
  if (c.set === SET_NONE) return false;
  if (c.set === SET_ALL) {
    for (let i = 0; i < v.length; i++) if (!satisfied(c, v[i] as string, ctx)) return false;
    return true;
  }
  for (let i = 0; i < v.length; i++) if (satisfied(c, v[i] as string, ctx)) return true;
  return false;
}

/** Why a clause failed, for explanations (allocates freely). */
export interface ConditionFailureDetail {
  reason: "missing-key" | "no-match" | "invalid-request-value";
  requestValues?: string[];
  message: string;
}

function describeValues(v: ContextValue): string[] {
  return typeof v === "object" ? [...v] : [scalarToString(v)];
}

/** Explains a clause that does not hold; undefined when it holds. */
export function explainCondition(c: CompiledCondition, ctx: Context): ConditionFailureDetail | undefined {
  if (conditionHolds(c, ctx)) return undefined;
  const raw = lookupContext(ctx, c.key, c.lowerKey);
  const v = presentValue(raw);
  const op = c.clause.operator;
  const policy = JSON.stringify(c.clause.values);
  if (c.matcher === undefined) {
    return v === undefined
      ? { reason: "missing-key", message: `${op}: ${c.key} is missing but the policy requires it to be present` }
      : {
          reason: "no-match",
          requestValues: describeValues(v),
          message: `${op}: ${c.key} is present but the policy requires it to be absent`,
        };
  }
  if (v === undefined) {
    const why = c.set === SET_ANY ? " (ForAnyValue with a missing key never matches)" : "";
    return { reason: "missing-key", message: `${op}: ${c.key} is not in the request context${why}` };
  }
  const requestValues = describeValues(v);
  if (typeof v === "object" && c.set === SET_NONE) {
    return {
      reason: "no-match",
      requestValues,
      message: `${op}: ${c.key} is multivalued (${JSON.stringify(requestValues)}) and needs ForAllValues/ForAnyValue`,
    };
  }
  const scalars: Scalar[] = typeof v === "object" ? [...v] : [v];
  const results = scalars.map((s) => (c.matcher as ValueMatcher).match(s, ctx));
  if (results.includes(INVALID)) {
    return {
      reason: "invalid-request-value",
      requestValues,
      message: `${op}: request value ${JSON.stringify(requestValues)} of ${c.key} is not a valid ${c.info.family} value`,
    };
  }
  const unresolved = results.includes(UNRESOLVED) ? " (a policy variable in the policy values has no value)" : "";
  const verb = c.negated ? "matched" : "did not match";
  return {
    reason: "no-match",
    requestValues,
    message: `${op}: ${c.key} = ${JSON.stringify(requestValues)} ${verb} ${policy}${unresolved}`,
  };
}
