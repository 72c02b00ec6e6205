import { hasArnShape, splitArnPattern } from "./arn-pattern.ts";
import { parseOperator, suggestOperator } from "./condition-operators.ts";
import type { Finding, FindingCode } from "./finding.ts";
import { globalKeyShape } from "./global-condition-keys.ts";
import { parseCidr } from "./ip-address.ts";
import { resourcePartOffset } from "./pattern.ts";
import type {
  ConditionClause,
  Effect,
  Policy,
  PolicyDocumentInput,
  PolicyKind,
  PolicyVersion,
  PrincipalElement,
  Statement,
} from "./policy.ts";
import { parseTemplate } from "./policy-variables.ts";
import { decodeBase64, parseDate, parseDecimal, toBool } from "./scalar-values.ts";
import { findRedundantStatements } from "./statement-redundancy.ts";

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  /** Decides which elements are allowed and the size limit; defaults to `identity`. */
  kind?: PolicyKind;
  /** The caller's name for the policy, carried into explanations. */
  id?: string;
  /**
   * Run the cross-statement checks that only produce warnings (duplicate and redundant
   * statements, duplicate Sids). Defaults to true; the compiler turns them off.
   */
  crossStatementWarnings?: boolean;
  /**
   * Report findings that are only warnings. Defaults to true. The compiler, which needs only to
   * know whether a document has errors, turns them off on its first pass (the global-key checks
   * cost a lower-cased copy and lookups per condition key).
   */
  warnings?: boolean;
  /**
   * Skip the kind's size limit. For stored documents, whose size was checked when written (or
   * that have none: AWS managed policies used as boundaries or session policies are not bound by
   * those kinds' limits; ReadOnlyAccess is 60,000 characters).
   */
  ignoreSizeLimit?: boolean;
}

/**
 * AWS size limits in characters, whitespace outside strings not counted.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 * Boundaries are managed policies; session policies are limited to 2,048 characters by STS; SCPs
 * to 5,120 by Organizations. `identity` and `resource` have no generic limit.
 */
export const POLICY_SIZE_LIMITS: Readonly<Partial<Record<PolicyKind, number>>> = Object.freeze({
  managed: 6144,
  "inline-user": 2048,
  "inline-group": 5120,
  "inline-role": 10240,
  trust: 2048,
  boundary: 6144,
  session: 2048,
  scp: 5120,
});

const TOP_LEVEL = new Set(["Version", "Id", "Statement"]);
const STATEMENT_ELEMENTS = new Set([
  "Sid",
  "Effect",
  "Action",
  "NotAction",
  "Resource",
  "NotResource",
  "Principal",
  "NotPrincipal",
  "Condition",
]);
const PRINCIPAL_TYPES = new Set(["AWS", "Service", "Federated", "CanonicalUser"]);

/**
 * The element of `names` that is `key` but for case, for a "did you mean". A function of its own:
 * a closure over the key inside a `for…in` would give every iteration its own context object.
 */
function sameNameIgnoringCase(key: string, names: ReadonlySet<string>): string | undefined {
  const lower = key.toLowerCase();
  for (const name of names) if (name.toLowerCase() === lower) return name;
  return undefined;
}

/** Kinds validated by IAM itself (alphanumeric Sids). */
const IAM_KINDS = new Set<PolicyKind>([
  "managed",
  "inline-user",
  "inline-group",
  "inline-role",
  "identity",
  "trust",
  "boundary",
  "session",
]);

/**
 * Whether `a` is `*` or `service:Action`: exactly one colon, a non-empty service of letters,
 * digits, `-`, `*`, `?`, and a non-empty action of those and `_`. The same as the regular
 * expression `^(\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+)$`, written out: it runs for every action of
 * every compiled policy (ReadOnlyAccess has 1,500), and this loop is several times faster.
 */
export function isValidAction(a: string): boolean {
  if (a === "*") return true;
  const colon = a.indexOf(":");
  if (colon <= 0 || colon === a.length - 1) return false;
  for (let i = 0; i < a.length; i++) {
    if (i === colon) continue;
    const c = a.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) || // a-z
      (c >= 65 && c <= 90) || // A-Z
      (c >= 48 && c <= 57) || // 0-9
      c === 42 || // *
      c === 63 || // ?
      c === 45 || // -
      (c === 95 && i > colon); // _ in the action name only
    if (!ok) return false;
  }
  return true;
}
const SID = /^[A-Za-z0-9]*$/;
const ACCOUNT_ID = /^\d{12}$/;
const AWS_PRINCIPAL_ARN =
  /^arn:[a-z-]+:(iam::\d{12}:(root|user\/.+|role\/.+|group\/.+)|sts::\d{12}:(assumed-role\/[^/]+\/.+|federated-user\/.+))$/;
const SERVICE_PRINCIPAL = /^[A-Za-z0-9.-]+$/;
const CANONICAL_USER = /^[0-9a-fA-F]{64}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether `o` has an own enumerable key (what `Object.keys(o).length > 0` says, without the array). */
function hasOwnKey(o: Record<string, unknown>): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}

let memberSuffixes = new Map<string, string>();
/**
 * `$.Statement[i]` and `$.Statement[i].Condition` by index: every policy of a set numbers its
 * statements from 0, so a cold compile of ten policies builds each path once, not ten times.
 */
let statementPaths: string[] = [];
let conditionPaths: string[] = [];
const MAX_MEMOIZED_INDEX = 1024;

/** Forgets the memoized JSON-path pieces (see `clearCompileCaches`). */
export function clearPathCache(): void {
  // A new map, not clear(): see clearCompileCaches.
  memberSuffixes = new Map();
  statementPaths = [];
  conditionPaths = [];
}

/** `$.Statement[i]`. */
function statementPath(i: number): string {
  // Bounds first: an out-of-bounds read leaves V8's fast path.
  let path = i < statementPaths.length ? statementPaths[i] : undefined;
  if (path === undefined) {
    path = `$.Statement[${i}]`;
    if (i < MAX_MEMOIZED_INDEX) statementPaths[i] = path;
  }
  return path;
}

/** `$.Statement[i].Condition`. */
function conditionPath(i: number): string {
  let path = i < conditionPaths.length ? conditionPaths[i] : undefined;
  if (path === undefined) {
    path = `${statementPath(i)}.Condition`;
    if (i < MAX_MEMOIZED_INDEX) conditionPaths[i] = path;
  }
  return path;
}

/** `path.name`, or `path['name']` when the name is not an identifier. */
function member(path: string, name: string): string {
  let suffix = memberSuffixes.get(name);
  if (suffix === undefined) {
    suffix = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `.${name}` : `['${name.replace(/'/g, "\\'")}']`;
    if (memberSuffixes.size < 4096) memberSuffixes.set(name, suffix);
  }
  return path + suffix;
}

/**
 * How deep objects and arrays may nest in a policy document. The grammar needs six levels
 * (document, Statement array, statement, Condition, operator block, value array); anything much
 * deeper is not a policy, and walking it recursively (JSON.stringify in a message, say) would
 * overflow the stack. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 */
export const MAX_POLICY_NESTING = 32;

/**
 * Whether `value`, at nesting level `depth`, nests objects/arrays deeper than `max` levels. The
 * recursion stops at `max`, so a 10,000-deep document cannot overflow the call stack (and a cyclic
 * object is simply too deep). It allocates nothing: it runs on every document a region compiles.
 */
function nestsDeeperThan(value: object, depth: number, max: number): boolean {
  if (depth > max) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (typeof child === "object" && child !== null && nestsDeeperThan(child, depth + 1, max)) return true;
    }
    return false;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const child: unknown = (value as Record<string, unknown>)[key];
    if (typeof child === "object" && child !== null && nestsDeeperThan(child, depth + 1, max)) return true;
  }
  return false;
}

function nestingTooDeep(): Finding {
  return {
    path: "$",
    code: "nesting-too-deep",
    message: `objects and arrays nest deeper than ${MAX_POLICY_NESTING} levels; a policy document needs at most 6`,
    severity: "error",
  };
}

/**
 * A value as JSON, for a message. A value nested too deeply (or cyclic) is not stringified: the
 * document then gets only the `nesting-too-deep` finding, so the message is never shown.
 */
function quote(value: unknown): string {
  if (typeof value === "object" && value !== null && nestsDeeperThan(value, 1, MAX_POLICY_NESTING)) {
    return "(a value nested too deeply)";
  }
  return JSON.stringify(value);
}

/** Characters of JSON text, not counting whitespace outside strings. */
export function policySize(text: string): number {
  let count = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      count++;
      if (c === 92) {
        i++;
        count++;
      } else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
      count++;
    } else if (c !== 32 && c !== 9 && c !== 10 && c !== 13) count++;
  }
  return count;
}

class Collector {
  readonly findings: Finding[] = [];
  errors = 0;
  readonly warnings: boolean;
  constructor(warnings: boolean) {
    this.warnings = warnings;
  }
  error(path: string, code: FindingCode, message: string): void {
    this.errors++;
    this.findings.push({ path, code, message, severity: "error" });
  }
  warn(path: string, code: FindingCode, message: string): void {
    if (this.warnings) this.findings.push({ path, code, message, severity: "warning" });
  }
  get hasErrors(): boolean {
    return this.errors > 0;
  }
}

interface Scope {
  /** True when the document was JSON text: its parsed arrays are ours to keep in the AST. */
  readonly owned: boolean;
  readonly kind: PolicyKind;
  readonly version: PolicyVersion;
  readonly out: Collector;
}

/**
 * `base.name`, or `base` when `name` is undefined. Element paths are built only for a finding: a
 * valid policy (the common case) needs none, and building them cost an allocation per element.
 */
function elementPath(base: string, name: string | undefined): string {
  return name === undefined ? base : `${base}.${name}`;
}

/**
 * A string or non-empty array of strings; reports and returns undefined otherwise. The value is at
 * `elementPath(base, name)`.
 */
function stringList(
  value: unknown,
  base: string,
  name: string | undefined,
  element: string,
  scope: Scope,
): string[] | undefined {
  const out = scope.out;
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.error(elementPath(base, name), "empty-element", `${element} must not be an empty array`);
      return undefined;
    }
    // An array parsed here from JSON text is ours: a valid one is kept as is. A caller's object
    // is copied, so changing it later cannot change the parsed policy.
    let ok = true;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v !== "string") {
        out.error(
          `${elementPath(base, name)}[${i}]`,
          "invalid-element-type",
          `${element} entries must be strings, got ${quote(v)}`,
        );
        ok = false;
      }
    }
    if (!ok) return undefined;
    return scope.owned ? (value as string[]) : (value.slice() as string[]);
  }
  out.error(elementPath(base, name), "invalid-element-type", `${element} must be a string or an array of strings`);
  return undefined;
}

/**
 * Checks `${…}` in a Resource or string/ARN condition value; `from` is where variables may start
 * (a Resource's resource part, after the fifth colon). Text that is not a variable is literal, and
 * reported as a warning, as IAM Access Analyzer does, since IAM accepts the policy.
 */
function checkVariables(value: string, path: string, scope: Scope, from = 0): void {
  const at = value.indexOf("${");
  if (at < 0) return;
  if (scope.version === "2008-10-17") {
    // The Version element page: without 2012-10-17, "variables such as ${aws:username} aren't
    // recognized as variables and are instead treated as literal strings".
    scope.out.warn(
      path,
      "policy-variable-in-old-version",
      `"${value}" looks like it uses a policy variable, but without "Version": "2012-10-17" it is literal text`,
    );
    return;
  }
  if (at < from) {
    scope.out.warn(
      path,
      "policy-variable-outside-resource-part",
      `"${value}" has "\${" before the fifth colon: a policy variable works only in the resource part of the ARN, so this text is literal`,
    );
  }
  if (value.indexOf("${", from) < 0) return;
  const parsed = parseTemplate(value.slice(from));
  if ("error" in parsed) scope.out.error(path, "invalid-policy-variable", parsed.error);
}

function isValidResource(r: string): boolean {
  if (r === "*") return true;
  if (!r.startsWith("arn:")) return false;
  return hasArnShape(r) || (splitArnPattern(r) === undefined && r.includes("*"));
}

/** The Action or NotAction (`element`) of the statement at `statementPath`. */
function parseActions(value: unknown, statementPath: string, element: string, scope: Scope): string[] | undefined {
  const list = stringList(value, statementPath, element, element, scope);
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) {
    const a = list[i] as string;
    if (!isValidAction(a)) {
      scope.out.error(
        itemPath(value, elementPath(statementPath, element), i),
        "invalid-action",
        `"${a}" is not a valid action: use "service:ActionName" (wildcards * and ? allowed) or "*"`,
      );
    } else if (scope.kind === "trust" && !a.toLowerCase().startsWith("sts:")) {
      scope.out.error(
        itemPath(value, elementPath(statementPath, element), i),
        "trust-action-not-sts",
        `a role trust policy can only grant sts:* actions, not "${a}"`,
      );
    }
  }
  return list;
}

/** The path of entry `i` of an element that is an array (`path[i]`) or a single value (`path`). */
function itemPath(value: unknown, path: string, i: number): string {
  return Array.isArray(value) ? `${path}[${i}]` : path;
}

/** The Resource or NotResource (`element`) of the statement at `statementPath`. */
function parseResources(value: unknown, statementPath: string, element: string, scope: Scope): string[] | undefined {
  const list = stringList(value, statementPath, element, element, scope);
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) {
    const r = list[i] as string;
    if (!isValidResource(r)) {
      scope.out.error(
        itemPath(value, elementPath(statementPath, element), i),
        "invalid-resource",
        `"${r}" is not a valid resource: use an ARN (arn:partition:service:region:account:resource) or "*"`,
      );
    } else if (r.includes("${")) {
      checkVariables(r, itemPath(value, elementPath(statementPath, element), i), scope, resourcePartOffset(r));
    }
  }
  return list;
}

function parsePrincipal(value: unknown, path: string, element: string, scope: Scope): PrincipalElement | undefined {
  const out = scope.out;
  if (value === "*") return { any: true, aws: [], service: [], federated: [], canonicalUser: [] };
  if (!isRecord(value)) {
    out.error(
      path,
      "invalid-principal",
      `${element} must be "*" or an object like {"AWS": "arn:aws:iam::123456789012:root"}`,
    );
    return undefined;
  }
  const lists: Record<string, string[]> = { AWS: [], Service: [], Federated: [], CanonicalUser: [] };
  let ok = true;
  const keys = Object.keys(value);
  if (keys.length === 0) {
    out.error(path, "empty-element", `${element} must name at least one principal`);
    return undefined;
  }
  for (const type of keys) {
    const p = member(path, type);
    if (!PRINCIPAL_TYPES.has(type)) {
      out.error(
        p,
        "invalid-principal",
        `unknown principal type "${type}": use AWS, Service, Federated or CanonicalUser`,
      );
      ok = false;
      continue;
    }
    const list = stringList(value[type], p, undefined, `${element}.${type}`, scope);
    if (list === undefined) {
      ok = false;
      continue;
    }
    list.forEach((v, i) => {
      const vp = typeof value[type] === "string" ? p : `${p}[${i}]`;
      let valid: boolean;
      switch (type) {
        case "AWS":
          valid = v === "*" || ACCOUNT_ID.test(v) || (AWS_PRINCIPAL_ARN.test(v) && !/[*?]/.test(v));
          break;
        case "Service":
          valid = SERVICE_PRINCIPAL.test(v);
          break;
        case "CanonicalUser":
          valid = CANONICAL_USER.test(v);
          break;
        default:
          valid = v.length > 0 && !v.includes("*");
      }
      if (!valid) {
        out.error(
          vp,
          "invalid-principal",
          `"${v}" is not a valid ${type} principal${type === "AWS" ? ' (an account id, an IAM/STS principal ARN without wildcards, or "*")' : ""}`,
        );
        ok = false;
      }
    });
    (lists[type] as string[]).push(...list);
  }
  if (!ok) return undefined;
  return {
    any: false,
    aws: lists.AWS as string[],
    service: lists.Service as string[],
    federated: lists.Federated as string[],
    canonicalUser: lists.CanonicalUser as string[],
  };
}

function conditionValueError(family: string, v: string): string | undefined {
  switch (family) {
    case "numeric":
      return Number.isNaN(parseDecimal(v)) ? `"${v}" is not a number` : undefined;
    case "date":
      return Number.isNaN(parseDate(v))
        ? `"${v}" is not a date (ISO 8601 like 2024-01-31T12:00:00Z, or epoch seconds)`
        : undefined;
    case "bool":
      return toBool(v) === undefined ? `"${v}" is not a boolean ("true" or "false")` : undefined;
    case "null":
      return toBool(v) === undefined ? `"${v}" is not "true" or "false"` : undefined;
    case "binary":
      return decodeBase64(v) === undefined ? `"${v}" is not base64` : undefined;
    case "ip":
      return parseCidr(v) === undefined ? `"${v}" is not an IPv4/IPv6 address or CIDR block` : undefined;
    case "arn":
      return !hasArnShape(v) && !v.includes("*") && !v.includes("${")
        ? `"${v}" is not an ARN (arn:partition:service:region:account:resource)`
        : undefined;
    default:
      return undefined;
  }
}

function parseCondition(
  value: unknown,
  path: string,
  effect: Effect | undefined,
  scope: Scope,
): ConditionClause[] | undefined {
  const out = scope.out;
  if (!isRecord(value)) {
    out.error(path, "invalid-element-type", "Condition must be an object of {operator: {key: values}}");
    return undefined;
  }
  // Most statements have one clause: an array literal of one, not an empty array grown by push.
  let clauses: ConditionClause[] | undefined;
  let ok = true;
  // for-in rather than Object.entries: the same own keys in the same order, without an array of
  // pairs per Condition and per operator block. Paths are built only for a finding.
  for (const operator in value) {
    if (!Object.hasOwn(value, operator)) continue;
    const block = value[operator];
    const parsed = parseOperator(operator);
    if (parsed === undefined) {
      const hint = suggestOperator(operator);
      out.error(
        member(path, operator),
        "unknown-condition-operator",
        `unknown condition operator "${operator}"${hint !== undefined && hint !== operator ? ` (did you mean "${hint}"?)` : ""}`,
      );
      ok = false;
      continue;
    }
    if (!isRecord(block) || !hasOwnKey(block)) {
      out.error(
        member(path, operator),
        "invalid-condition",
        `${operator} must map at least one condition key to values`,
      );
      ok = false;
      continue;
    }
    const { info } = parsed;
    for (const key in block) {
      if (!Object.hasOwn(block, key)) continue;
      const raw = block[key];
      const colon = key.indexOf(":");
      if (colon <= 0 || colon === key.length - 1) {
        out.error(
          keyPathOf(path, operator, key),
          "invalid-condition-key",
          `"${key}" is not a condition key (expected prefix:name, e.g. aws:SourceIp)`,
        );
        ok = false;
        continue;
      }
      const rawValues = Array.isArray(raw) ? raw : [raw];
      if (rawValues.length === 0) {
        out.error(
          keyPathOf(path, operator, key),
          "invalid-condition-value",
          `${operator} ${key} needs at least one value`,
        );
        ok = false;
        continue;
      }
      let allStrings = true;
      let valuesOk = true;
      for (let i = 0; i < rawValues.length; i++) {
        const rv: unknown = rawValues[i];
        if (typeof rv !== "string" && typeof rv !== "number" && typeof rv !== "boolean") {
          out.error(
            itemPath(raw, keyPathOf(path, operator, key), i),
            "invalid-condition-value",
            `condition values must be strings, numbers or booleans, got ${quote(rv)}`,
          );
          ok = false;
          valuesOk = false;
          continue;
        }
        if (typeof rv !== "string") allStrings = false;
        const v = String(rv);
        const problem = conditionValueError(info.family, v);
        if (problem !== undefined) {
          out.error(
            itemPath(raw, keyPathOf(path, operator, key), i),
            "invalid-condition-value",
            `${operator}: ${problem}`,
          );
          ok = false;
        } else if (info.family === "string" || info.family === "arn") {
          if (v.includes("${")) checkVariables(v, itemPath(raw, keyPathOf(path, operator, key), i), scope);
          if (out.warnings && info.family === "arn" && splitArnPattern(v) === undefined) {
            out.warn(
              itemPath(raw, keyPathOf(path, operator, key), i),
              "arn-condition-value-matches-nothing",
              `${operator}: "${v}" has fewer than six colon-separated components, so it matches no ARN (each component is checked separately)`,
            );
          }
        }
      }
      if (out.warnings && key.toLowerCase().startsWith("aws:")) {
        const shape = globalKeyShape(key);
        if (shape === "unknown") {
          out.warn(
            keyPathOf(path, operator, key),
            "unknown-global-condition-key",
            `"${key}" is not a known AWS global condition key`,
          );
        } else if (shape === "single" && parsed.setOperator !== undefined) {
          out.warn(
            keyPathOf(path, operator, key),
            "set-operator-on-single-valued-key",
            `${parsed.setOperator} is meant for multivalued keys; "${key}" is single-valued`,
          );
        } else if (shape === "multi" && parsed.setOperator === undefined && info.family !== "null") {
          out.warn(
            keyPathOf(path, operator, key),
            "missing-set-operator-on-multivalued-key",
            `"${key}" is multivalued: without ForAllValues/ForAnyValue the condition never matches a multivalued request value`,
          );
        }
      }
      if (parsed.setOperator === "ForAllValues" && effect === "Allow" && !parsed.ifExists) {
        out.warn(
          keyPathOf(path, operator, key),
          "for-all-values-with-allow",
          `ForAllValues in an Allow statement also matches when "${key}" is missing or empty; consider adding a Null condition`,
        );
      }
      // The document is invalid already (and the values may not be convertible to strings).
      if (!valuesOk) continue;
      // Like stringList: an array of strings parsed here from JSON text is kept as is (no copy,
      // no growing array per clause); anything else is copied with its values as strings.
      const values: string[] =
        allStrings && (scope.owned || rawValues !== raw) ? (rawValues as string[]) : rawValues.map(String);
      const clause: Mutable<ConditionClause> = { operator, name: info.name, ifExists: parsed.ifExists, key, values };
      if (parsed.setOperator !== undefined) clause.setOperator = parsed.setOperator;
      if (clauses === undefined) clauses = [clause];
      else clauses.push(clause);
    }
  }
  return ok ? (clauses ?? []) : undefined;
}

/** The path of a condition key: `path.Operator.key` (quoted where needed). */
function keyPathOf(path: string, operator: string, key: string): string {
  return member(member(path, operator), key);
}

const PRINCIPAL_REQUIRED = new Set<PolicyKind>(["resource", "trust"]);

/** The conditions of a statement without Condition: one shared frozen array (policies are immutable). */
const NO_CLAUSES: readonly ConditionClause[] = Object.freeze([]);

// The statement elements present, as bits (see parseStatement).
const HAS_SID = 1;
const HAS_EFFECT = 2;
const HAS_ACTION = 4;
const HAS_NOT_ACTION = 8;
const HAS_RESOURCE = 16;
const HAS_NOT_RESOURCE = 32;
const HAS_PRINCIPAL = 64;
const HAS_NOT_PRINCIPAL = 128;
const HAS_CONDITION = 256;
const RESOURCE_OPTIONAL = new Set<PolicyKind>(["trust", "scp"]);

function parseStatement(raw: unknown, index: number, arrayed: boolean, scope: Scope): Statement | undefined {
  const path = arrayed ? statementPath(index) : "$.Statement";
  const out = scope.out;
  if (!isRecord(raw)) {
    out.error(path, "invalid-element-type", "a statement must be an object");
    return undefined;
  }
  const before = out.errors;
  // One pass over the statement's own keys, instead of an `in` check and a load per element:
  // statements differ in which elements they have, so each of those is a megamorphic lookup.
  let present = 0;
  let sidValue: unknown;
  let effectValue: unknown;
  let actionValue: unknown;
  let notActionValue: unknown;
  let resourceValue: unknown;
  let notResourceValue: unknown;
  let principalValue: unknown;
  let notPrincipalValue: unknown;
  let conditionValue: unknown;
  for (const key in raw) {
    if (!Object.hasOwn(raw, key)) continue;
    const value = raw[key];
    switch (key) {
      case "Sid":
        present |= HAS_SID;
        sidValue = value;
        break;
      case "Effect":
        present |= HAS_EFFECT;
        effectValue = value;
        break;
      case "Action":
        present |= HAS_ACTION;
        actionValue = value;
        break;
      case "NotAction":
        present |= HAS_NOT_ACTION;
        notActionValue = value;
        break;
      case "Resource":
        present |= HAS_RESOURCE;
        resourceValue = value;
        break;
      case "NotResource":
        present |= HAS_NOT_RESOURCE;
        notResourceValue = value;
        break;
      case "Principal":
        present |= HAS_PRINCIPAL;
        principalValue = value;
        break;
      case "NotPrincipal":
        present |= HAS_NOT_PRINCIPAL;
        notPrincipalValue = value;
        break;
      case "Condition":
        present |= HAS_CONDITION;
        conditionValue = value;
        break;
      default: {
        const hint = sameNameIgnoringCase(key, STATEMENT_ELEMENTS);
        out.error(
          member(path, key),
          "unknown-element",
          `unknown statement element "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
        );
      }
    }
  }
  let sid: string | undefined;
  if ((present & HAS_SID) !== 0) {
    if (typeof sidValue !== "string") out.error(`${path}.Sid`, "invalid-element-type", "Sid must be a string");
    else {
      sid = sidValue;
      if (IAM_KINDS.has(scope.kind) && !SID.test(sid)) {
        out.error(
          `${path}.Sid`,
          "invalid-sid",
          `Sid "${sid}" must contain only ASCII letters and digits in IAM policies`,
        );
      }
    }
  }
  let effect: Effect | undefined;
  if ((present & HAS_EFFECT) === 0) out.error(path, "missing-effect", "statement has no Effect");
  else if (effectValue !== "Allow" && effectValue !== "Deny") {
    out.error(`${path}.Effect`, "invalid-effect", `Effect must be "Allow" or "Deny", got ${quote(effectValue)}`);
  } else effect = effectValue;

  let action: string[] | undefined;
  let notAction: string[] | undefined;
  const hasAction = (present & HAS_ACTION) !== 0;
  const hasNotAction = (present & HAS_NOT_ACTION) !== 0;
  if (hasAction && hasNotAction) {
    out.error(path, "action-and-not-action", "a statement cannot have both Action and NotAction");
  } else if (hasAction) action = parseActions(actionValue, path, "Action", scope);
  else if (hasNotAction) notAction = parseActions(notActionValue, path, "NotAction", scope);
  else out.error(path, "missing-action", "statement needs Action or NotAction");

  let resource: string[] | undefined;
  let notResource: string[] | undefined;
  const hasResource = (present & HAS_RESOURCE) !== 0;
  const hasNotResource = (present & HAS_NOT_RESOURCE) !== 0;
  if (hasResource && hasNotResource) {
    out.error(path, "resource-and-not-resource", "a statement cannot have both Resource and NotResource");
  } else if (scope.kind === "trust" && (hasResource || hasNotResource)) {
    out.error(
      `${path}.${hasResource ? "Resource" : "NotResource"}`,
      "resource-not-allowed",
      "a role trust policy cannot have Resource or NotResource (the resource is the role)",
    );
  } else if (hasResource) resource = parseResources(resourceValue, path, "Resource", scope);
  else if (hasNotResource) notResource = parseResources(notResourceValue, path, "NotResource", scope);
  else if (!RESOURCE_OPTIONAL.has(scope.kind))
    out.error(path, "missing-resource", "statement needs Resource or NotResource");

  let principal: PrincipalElement | undefined;
  let notPrincipal: PrincipalElement | undefined;
  const hasPrincipal = (present & HAS_PRINCIPAL) !== 0;
  const hasNotPrincipal = (present & HAS_NOT_PRINCIPAL) !== 0;
  if (PRINCIPAL_REQUIRED.has(scope.kind)) {
    if (hasPrincipal && hasNotPrincipal) {
      out.error(path, "principal-and-not-principal", "a statement cannot have both Principal and NotPrincipal");
    } else if (hasPrincipal) principal = parsePrincipal(principalValue, `${path}.Principal`, "Principal", scope);
    else if (hasNotPrincipal && scope.kind === "trust") {
      out.error(
        `${path}.NotPrincipal`,
        "principal-not-allowed",
        "a role trust policy cannot use NotPrincipal; use Principal",
      );
    } else if (hasNotPrincipal) {
      notPrincipal = parsePrincipal(notPrincipalValue, `${path}.NotPrincipal`, "NotPrincipal", scope);
    } else out.error(path, "missing-principal", `a ${scope.kind} policy statement needs Principal or NotPrincipal`);
  } else if (hasPrincipal || hasNotPrincipal) {
    out.error(
      `${path}.${hasPrincipal ? "Principal" : "NotPrincipal"}`,
      "principal-not-allowed",
      `a ${scope.kind} policy cannot have Principal or NotPrincipal (the principal is whoever the policy is attached to)`,
    );
  }

  let conditions: readonly ConditionClause[] | undefined = NO_CLAUSES;
  if ((present & HAS_CONDITION) !== 0) {
    conditions = parseCondition(
      conditionValue,
      arrayed ? conditionPath(index) : "$.Statement.Condition",
      effect,
      scope,
    );
  }

  if (effect === "Allow") {
    if (notAction !== undefined)
      out.warn(
        `${path}.NotAction`,
        "allow-with-not-action",
        "Allow with NotAction grants every action not listed, including future ones; prefer Action",
      );
    if (notResource !== undefined)
      out.warn(
        `${path}.NotResource`,
        "allow-with-not-resource",
        "Allow with NotResource grants every resource not listed, including future ones; prefer Resource",
      );
    if (notPrincipal !== undefined)
      out.warn(
        `${path}.NotPrincipal`,
        "allow-with-not-principal",
        "Allow with NotPrincipal grants everyone not listed, including anonymous users",
      );
  }

  if (out.errors > before || effect === undefined || conditions === undefined) return undefined;
  return new ParsedStatement(
    index,
    sid,
    effect,
    action,
    notAction,
    resource,
    notResource,
    principal,
    notPrincipal,
    conditions,
  );
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A parsed {@link Statement}, built by `new` rather than as an object literal: V8 pretenures what
 * an object literal's allocation site keeps alive, so once a process had kept parsed policies (a
 * region caches compiled principals) every later parse allocated its statements in the old
 * generation, where a dropped compile left them as garbage holding young objects through minor
 * GCs (see `StatementRecord` in compiled-statement.ts). Elements the statement lacks are
 * `undefined`, as the interface reads them.
 */
class ParsedStatement implements Statement {
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: Effect;
  readonly action: readonly string[] | undefined;
  readonly notAction: readonly string[] | undefined;
  readonly resource: readonly string[] | undefined;
  readonly notResource: readonly string[] | undefined;
  readonly principal: PrincipalElement | undefined;
  readonly notPrincipal: PrincipalElement | undefined;
  readonly conditions: readonly ConditionClause[];

  constructor(
    index: number,
    sid: string | undefined,
    effect: Effect,
    action: readonly string[] | undefined,
    notAction: readonly string[] | undefined,
    resource: readonly string[] | undefined,
    notResource: readonly string[] | undefined,
    principal: PrincipalElement | undefined,
    notPrincipal: PrincipalElement | undefined,
    conditions: readonly ConditionClause[],
  ) {
    this.index = index;
    this.sid = sid;
    this.effect = effect;
    this.action = action;
    this.notAction = notAction;
    this.resource = resource;
    this.notResource = notResource;
    this.principal = principal;
    this.notPrincipal = notPrincipal;
    this.conditions = conditions;
  }
}

/**
 * Parses and validates a policy document. `policy` is undefined when any finding is an error.
 *
 * @example
 * const { policy, findings } = parsePolicy(
 *   '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}',
 *   { kind: "managed", id: "arn:aws:iam::123456789012:policy/S3Full" },
 * );
 */
export function parsePolicy(
  doc: PolicyDocumentInput,
  options?: ParsePolicyOptions,
): { policy?: Policy; findings: Finding[] } {
  const kind = options?.kind ?? "identity";
  const out = new Collector(options?.warnings !== false);
  let root: unknown = doc;
  if (typeof doc === "string") {
    try {
      root = JSON.parse(doc);
    } catch (e) {
      out.error("$", "malformed-json", `policy is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
      return { findings: out.findings };
    }
  }
  if (!isRecord(root)) {
    out.error("$", "not-an-object", "a policy document must be a JSON object");
    return { findings: out.findings };
  }
  // The nesting check walks the whole document, so it runs only where it can matter: before
  // JSON.stringify of a whole object document (its size), and once validation has found an error
  // (at the end). A document without errors follows the grammar, at most 6 levels deep, and
  // validation itself reads only those levels; messages quoting a value use `quote`, which never
  // stringifies a deep or cyclic one.
  const limit = options?.ignoreSizeLimit === true ? undefined : POLICY_SIZE_LIMITS[kind];
  if (limit !== undefined && typeof doc !== "string" && nestsDeeperThan(root, 1, MAX_POLICY_NESTING)) {
    return { findings: [nestingTooDeep()] };
  }
  if (limit !== undefined) {
    const size = typeof doc === "string" ? policySize(doc) : JSON.stringify(root).length;
    if (size > limit) {
      out.error(
        "$",
        "policy-too-large",
        `policy has ${size} characters (whitespace excluded); a ${kind} policy may have at most ${limit}`,
      );
    }
  }
  for (const key of Object.keys(root)) {
    if (!TOP_LEVEL.has(key)) {
      const hint = sameNameIgnoringCase(key, TOP_LEVEL) ?? sameNameIgnoringCase(key, STATEMENT_ELEMENTS);
      out.error(
        member("$", key),
        "unknown-element",
        `unknown top-level element "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
      );
    }
  }
  let version: PolicyVersion = "2008-10-17";
  const versionSpecified = "Version" in root;
  if (!versionSpecified) {
    out.warn(
      "$",
      "missing-version",
      'no Version: the policy gets 2008-10-17 semantics (no policy variables); add "Version": "2012-10-17"',
    );
  } else if (root.Version === "2012-10-17" || root.Version === "2008-10-17") {
    version = root.Version;
  } else {
    out.error(
      "$.Version",
      "invalid-version",
      `Version must be "2012-10-17" or "2008-10-17", got ${quote(root.Version)}`,
    );
  }
  let policyId: string | undefined;
  if ("Id" in root) {
    if (typeof root.Id === "string") policyId = root.Id;
    else out.error("$.Id", "invalid-id", "Id must be a string");
  }
  const scope: Scope = { owned: typeof doc === "string", kind, version, out };
  const statements: Statement[] = [];
  if (!("Statement" in root)) {
    out.error("$", "missing-statement", "policy has no Statement");
  } else if (Array.isArray(root.Statement)) {
    if (root.Statement.length === 0) out.error("$.Statement", "empty-element", "Statement must not be an empty array");
    const list: unknown[] = root.Statement;
    for (let i = 0; i < list.length; i++) {
      const s = parseStatement(list[i], i, true, scope);
      if (s !== undefined) statements.push(s);
    }
  } else if (isRecord(root.Statement)) {
    const s = parseStatement(root.Statement, 0, false, scope);
    if (s !== undefined) statements.push(s);
  } else {
    out.error("$.Statement", "invalid-element-type", "Statement must be an object or an array of objects");
  }

  if (options?.crossStatementWarnings !== false && out.warnings) crossStatementChecks(root, statements, out);

  if (out.hasErrors) {
    // A document nested too deeply gets that finding alone, whatever else was wrong with it.
    return { findings: nestsDeeperThan(root, 1, MAX_POLICY_NESTING) ? [nestingTooDeep()] : out.findings };
  }
  const policy: Policy = {
    kind,
    ...(options?.id === undefined ? {} : { id: options.id }),
    ...(policyId === undefined ? {} : { policyId }),
    version,
    versionSpecified,
    statements,
  };
  return { policy, findings: out.findings };
}

function crossStatementChecks(root: Record<string, unknown>, statements: Statement[], out: Collector): void {
  const pathOf = (i: number) => (Array.isArray(root.Statement) ? `$.Statement[${i}]` : "$.Statement");
  const sids = new Map<string, number>();
  for (const s of statements) {
    if (s.sid === undefined || s.sid === "") continue;
    const first = sids.get(s.sid);
    if (first === undefined) sids.set(s.sid, s.index);
    else out.warn(`${pathOf(s.index)}.Sid`, "duplicate-sid", `Sid "${s.sid}" is also used by statement ${first}`);
  }
  for (const r of findRedundantStatements(statements)) {
    if (r.duplicate) {
      out.warn(
        pathOf(r.index),
        "duplicate-statement",
        `statement ${r.index} is identical to statement ${r.coveredBy} (Sid aside)`,
      );
    } else {
      out.warn(
        pathOf(r.index),
        "redundant-statement",
        `statement ${r.index} is redundant: statement ${r.coveredBy} already covers every action and resource it names`,
      );
    }
  }
}

/** Validates a policy document and returns every finding (errors and warnings). */
export function validatePolicy(doc: PolicyDocumentInput, options?: { kind?: PolicyKind }): Finding[] {
  return parsePolicy(doc, options).findings;
}
