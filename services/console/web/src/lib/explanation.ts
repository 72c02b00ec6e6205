/**
 * Reads a decision's `explanationJson` (the policy engine's {@link Explanation}, as the region
 * serializes it) and says which document a deciding statement is in: a managed policy (its ARN),
 * an inline policy (`ENTITY_ARN#NAME`), a pasted document (`extraIdentityPolicies[i]`) or the
 * permissions boundary.
 */
import type { Explanation, StatementRef } from "@gatehouse/policy";

/** Parses an explanation; undefined for an empty or unreadable one. */
export function parseExplanation(json: string | undefined): Explanation | undefined {
  if (json === undefined || json === "" || json === "{}") return undefined;
  try {
    const e = JSON.parse(json) as Partial<Explanation>;
    if (typeof e.summary !== "string") return undefined;
    return {
      summary: e.summary,
      crossAccount: e.crossAccount === true,
      matchedStatements: e.matchedStatements ?? [],
      conditionFailures: e.conditionFailures ?? [],
      policyTypes: e.policyTypes ?? [],
      ...(e.decidingStatement === undefined ? {} : { decidingStatement: e.decidingStatement }),
      ...(e.implicitDenyReason === undefined ? {} : { implicitDenyReason: e.implicitDenyReason }),
    };
  } catch {
    return undefined;
  }
}

/** Where a statement's document comes from, so the simulator can fetch and show it. */
export type PolicySource =
  | { kind: "managed"; policyArn: string }
  | { kind: "inline"; entity: "user" | "group" | "role"; entityName: string; policyName: string }
  | { kind: "pasted"; index: number }
  | { kind: "boundary-pasted" }
  | { kind: "unknown"; id: string };

/** Reads a statement's policy id (see the module comment). */
export function policySourceOf(ref: StatementRef): PolicySource {
  const id = ref.policy.id ?? "";
  const pasted = /^extraIdentityPolicies\[(\d+)\]$/.exec(id);
  if (pasted !== null) return { kind: "pasted", index: Number(pasted[1]) };
  if (id === "permissionBoundary") return { kind: "boundary-pasted" };
  const hash = id.indexOf("#");
  if (hash > 0) {
    const entityArn = id.slice(0, hash);
    const m = /^arn:[^:]+:iam::\d{12}:(user|group|role)\/(?:.*\/)?([^/]+)$/.exec(entityArn);
    if (m !== null) {
      return {
        kind: "inline",
        entity: m[1] as "user" | "group" | "role",
        entityName: m[2] as string,
        policyName: id.slice(hash + 1),
      };
    }
  }
  if (/^arn:[^:]+:iam::(\d{12}|aws):policy\//.test(id)) return { kind: "managed", policyArn: id };
  return { kind: "unknown", id };
}

/** A statement's name for people: its Sid, else its position. */
export function statementLabel(ref: StatementRef): string {
  return ref.sid !== undefined && ref.sid !== "" ? `"${ref.sid}"` : `Statement[${ref.statementIndex}]`;
}
