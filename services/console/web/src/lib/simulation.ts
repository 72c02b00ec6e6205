/**
 * The simulator's pure parts: reading the form (actions, resources, context entries) into a
 * request, and evaluating pasted policies with the policy engine in the browser.
 */
import {
  type ContextValue,
  type EvaluationResult,
  type Explanation,
  evaluate,
  type Policy,
  parsePolicy,
} from "@gatehouse/policy";
import type { ContextValueJson, DecisionName } from "../api/types.ts";

/** A context entry as the form holds it. */
export interface ContextEntry {
  key: string;
  type: "String" | "Number" | "Boolean" | "List";
  value: string;
}

/** Splits a list field (one per line, or comma-separated) into trimmed, non-empty items. */
export function listOf(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** The value of one entry; a number that does not read is an error naming the key. */
export function contextValueOf(e: ContextEntry): ContextValue {
  switch (e.type) {
    case "String":
      return e.value;
    case "Number": {
      const n = Number(e.value);
      if (e.value.trim() === "" || !Number.isFinite(n))
        throw new Error(`context ${e.key}: "${e.value}" is not a number`);
      return n;
    }
    case "Boolean":
      return e.value.trim().toLowerCase() === "true";
    case "List":
      return listOf(e.value);
  }
}

/** The entries as the engine's context (entries without a key are left out). */
export function contextOf(entries: readonly ContextEntry[]): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = {};
  for (const e of entries) if (e.key.trim() !== "") out[e.key.trim()] = contextValueOf(e);
  return out;
}

/** The entries as SimulateRequest's `context` map (ContextValue's JSON form). */
export function contextJsonOf(entries: readonly ContextEntry[]): Record<string, ContextValueJson> {
  const out: Record<string, ContextValueJson> = {};
  for (const [key, v] of Object.entries(contextOf(entries))) {
    if (typeof v === "string") out[key] = { stringValue: v };
    else if (typeof v === "number") out[key] = { numberValue: v };
    else if (typeof v === "boolean") out[key] = { boolValue: v };
    else out[key] = { listValue: { values: [...v] } };
  }
  return out;
}

/** One simulated decision, whether the region or this browser made it. */
export interface SimulatedDecision {
  action: string;
  resource: string;
  decision: DecisionName;
  explanation: Explanation | undefined;
}

const DECISION: Record<EvaluationResult["decision"], DecisionName> = {
  Allow: "DECISION_ALLOW",
  ExplicitDeny: "DECISION_EXPLICIT_DENY",
  ImplicitDeny: "DECISION_IMPLICIT_DENY",
};

/** What {@link simulateLocally} takes. */
export interface LocalSimulation {
  principalArn: string;
  /** Identity policy documents, named `extraIdentityPolicies[i]` in explanations as the region names them. */
  identityPolicies: readonly string[];
  /** A permissions boundary document, or "" for none. */
  boundary: string;
  actions: readonly string[];
  resources: readonly string[];
  context: readonly ContextEntry[];
}

function parsed(text: string, kind: "identity" | "boundary", id: string): Policy {
  const { policy, findings } = parsePolicy(text, { kind, id, warnings: false });
  if (policy !== undefined) return policy;
  const first = findings.find((f) => f.severity === "error");
  throw new Error(`${id}: ${first?.path ?? "$"}: ${first?.message ?? "invalid policy"}`);
}

/** Evaluates every action × resource against pasted policies with the engine, explained. */
export function simulateLocally(s: LocalSimulation): SimulatedDecision[] {
  const m = /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(s.principalArn);
  if (m === null) throw new Error(`principal ARN "${s.principalArn}" is not an IAM or STS ARN with an account id`);
  const principal = { arn: s.principalArn, accountId: m[1] as string };
  const input = {
    identityPolicies: s.identityPolicies.map((text, i) => parsed(text, "identity", `extraIdentityPolicies[${i}]`)),
    ...(s.boundary.trim() === "" ? {} : { permissionBoundary: parsed(s.boundary, "boundary", "permissionBoundary") }),
  };
  const context = contextOf(s.context);
  const out: SimulatedDecision[] = [];
  for (const action of s.actions) {
    for (const resource of s.resources) {
      const r = evaluate(input, principal, { action, resource, context }, { explain: true });
      out.push({ action, resource, decision: DECISION[r.decision], explanation: r.explanation });
    }
  }
  return out;
}
