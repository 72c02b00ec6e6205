import type { ConditionOperatorName, SetOperator } from "./policy.ts";

/** The value type an operator compares. */
export type OperatorFamily = "string" | "numeric" | "date" | "bool" | "binary" | "ip" | "arn" | "null";

/** Static facts about one base operator. */
export interface OperatorInfo {
  readonly name: ConditionOperatorName;
  readonly family: OperatorFamily;
  /** Negated operators hold when no policy value matches, and when the key is missing. */
  readonly negated: boolean;
  /** For numeric and date operators. */
  readonly comparison?: "eq" | "lt" | "lte" | "gt" | "gte";
  readonly ignoreCase?: boolean;
  /** `*`/`?` are wildcards (StringLike, Arn operators). */
  readonly wildcards?: boolean;
}

const table: OperatorInfo[] = [
  { name: "StringEquals", family: "string", negated: false },
  { name: "StringNotEquals", family: "string", negated: true },
  { name: "StringEqualsIgnoreCase", family: "string", negated: false, ignoreCase: true },
  { name: "StringNotEqualsIgnoreCase", family: "string", negated: true, ignoreCase: true },
  { name: "StringLike", family: "string", negated: false, wildcards: true },
  { name: "StringNotLike", family: "string", negated: true, wildcards: true },
  { name: "NumericEquals", family: "numeric", negated: false, comparison: "eq" },
  { name: "NumericNotEquals", family: "numeric", negated: true, comparison: "eq" },
  { name: "NumericLessThan", family: "numeric", negated: false, comparison: "lt" },
  { name: "NumericLessThanEquals", family: "numeric", negated: false, comparison: "lte" },
  { name: "NumericGreaterThan", family: "numeric", negated: false, comparison: "gt" },
  { name: "NumericGreaterThanEquals", family: "numeric", negated: false, comparison: "gte" },
  { name: "DateEquals", family: "date", negated: false, comparison: "eq" },
  { name: "DateNotEquals", family: "date", negated: true, comparison: "eq" },
  { name: "DateLessThan", family: "date", negated: false, comparison: "lt" },
  { name: "DateLessThanEquals", family: "date", negated: false, comparison: "lte" },
  { name: "DateGreaterThan", family: "date", negated: false, comparison: "gt" },
  { name: "DateGreaterThanEquals", family: "date", negated: false, comparison: "gte" },
  { name: "Bool", family: "bool", negated: false },
  { name: "BinaryEquals", family: "binary", negated: false },
  { name: "IpAddress", family: "ip", negated: false },
  { name: "NotIpAddress", family: "ip", negated: true },
  { name: "ArnEquals", family: "arn", negated: false, wildcards: true },
  { name: "ArnLike", family: "arn", negated: false, wildcards: true },
  { name: "ArnNotEquals", family: "arn", negated: true, wildcards: true },
  { name: "ArnNotLike", family: "arn", negated: true, wildcards: true },
  { name: "Null", family: "null", negated: false },
];

const byName = new Map<string, OperatorInfo>(table.map((o) => [o.name, o]));
const byLowerName = new Map<string, OperatorInfo>(table.map((o) => [o.name.toLowerCase(), o]));

/** An operator as written, split into set operator, base operator and `IfExists`. */
export interface ParsedOperator {
  readonly info: OperatorInfo;
  readonly setOperator?: SetOperator;
  readonly ifExists: boolean;
}

/**
 * Parses `ForAnyValue:StringLikeIfExists` and friends (exact case, as IAM requires). Returns
 * undefined for unknown operators, including `NullIfExists`, which AWS does not accept.
 */
export function parseOperator(op: string): ParsedOperator | undefined {
  let rest = op;
  let setOperator: SetOperator | undefined;
  if (rest.startsWith("ForAllValues:")) {
    setOperator = "ForAllValues";
    rest = rest.slice("ForAllValues:".length);
  } else if (rest.startsWith("ForAnyValue:")) {
    setOperator = "ForAnyValue";
    rest = rest.slice("ForAnyValue:".length);
  }
  let ifExists = false;
  if (rest.endsWith("IfExists")) {
    ifExists = true;
    rest = rest.slice(0, -"IfExists".length);
  }
  const info = byName.get(rest);
  if (info === undefined || (info.family === "null" && ifExists)) return undefined;
  return setOperator === undefined ? { info, ifExists } : { info, setOperator, ifExists };
}

/** The correctly-cased operator for a mis-cased one (`stringequals` → `StringEquals`), for hints. */
export function suggestOperator(op: string): string | undefined {
  const lower = op.toLowerCase();
  const prefix = lower.startsWith("forallvalues:")
    ? "ForAllValues:"
    : lower.startsWith("foranyvalue:")
      ? "ForAnyValue:"
      : "";
  let rest = lower.slice(prefix.length);
  const ifExists = rest.endsWith("ifexists");
  if (ifExists) rest = rest.slice(0, -"ifexists".length);
  const info = byLowerName.get(rest);
  return info === undefined ? undefined : `${prefix}${info.name}${ifExists ? "IfExists" : ""}`;
}
