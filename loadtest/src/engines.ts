/**
 * The three engines behind one interface, each on its fastest public path. Everything that can be
 * done once per principal or once per request shape (compiling, pre-parsing, converting requests to
 * the engine's own form) happens in `prepare`, outside the timed `decide`.
 */

import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { compilePolicySet, type Decision } from "@gatehouse/policy";
import { type CedarRequest, toCedarPolicies, toCedarRequest } from "./cedar-translate.ts";
import type { Workload } from "./workloads.ts";

/** The engines of the benchmark. */
export type EngineName = "gatehouse" | "iam-simulate" | "cedar-wasm";
export const engineNames: readonly EngineName[] = ["gatehouse", "iam-simulate", "cedar-wasm"];

/** A principal prepared by one engine; `decide(i)` answers `workload.requests[i]`. */
export interface PreparedEngine {
  decide(index: number): Decision;
}

/** Prepares a workload for the named engine. */
export function prepareEngine(engine: EngineName, workload: Workload): PreparedEngine {
  switch (engine) {
    case "gatehouse":
      return prepareGatehouse(workload);
    case "iam-simulate":
      return prepareIamSimulate(workload);
    case "cedar-wasm":
      return prepareCedar(workload);
  }
}

/** Gatehouse: compile the principal once, then evaluate. */
export function prepareGatehouse(workload: Workload): PreparedEngine {
  const compiled = compilePolicySet({ identityPolicies: workload.policies as unknown as Record<string, unknown>[] });
  const principal = workload.principal;
  const requests = workload.requests.map((r) => ({
    action: r.action,
    resource: r.resource,
    resourceAccount: principal.accountId,
    context: r.context,
  }));
  return {
    decide: (i) => compiled.evaluate(principal, requests[i] as (typeof requests)[number]).decision,
  };
}

/**
 * iam-simulate: `runUnsafeSimulation`, its fast path (no validation against the AWS service
 * catalogue). Its public API has no compile step: it parses the policies on every call, which is
 * part of what is measured.
 */
export function prepareIamSimulate(workload: Workload): PreparedEngine {
  const identityPolicies = workload.policies.map((policy, i) => ({ name: `p${i}`, policy }));
  const simulations: Simulation[] = workload.requests.map((r) => ({
    request: {
      principal: workload.principal.arn,
      action: r.action,
      resource: { resource: r.resource, accountId: workload.principal.accountId },
      contextVariables: r.context,
    },
    identityPolicies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }));
  return { decide: (i) => fromIamSimulate(runUnsafeSimulation(simulations[i] as Simulation, {})) };
}

/** Maps iam-simulate's result names onto Gatehouse's. */
export function fromIamSimulate(result: "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"): Decision {
  switch (result) {
    case "Allowed":
      return "Allow";
    case "ExplicitlyDenied":
      return "ExplicitDeny";
    case "ImplicitlyDenied":
      return "ImplicitDeny";
  }
}

let cedarSets = 0;

/**
 * Cedar: `preparsePolicySet` once (cached inside the wasm module), then `statefulIsAuthorized`
 * with requests already in Cedar's JSON form.
 */
export function prepareCedar(workload: Workload): PreparedEngine {
  const id = `${workload.name}-${cedarSets++}`;
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: toCedarPolicies(workload.policies) });
  if (parsed.type !== "success") throw new Error(`Cedar rejected the translation: ${JSON.stringify(parsed.errors)}`);
  const calls = workload.requests.map(
    (r): cedar.StatefulAuthorizationCall => ({
      ...(toCedarRequest(workload.principal.arn, r) satisfies CedarRequest),
      preparsedPolicySetId: id,
      entities: [],
    }),
  );
  return {
    decide: (i) => {
      const answer = cedar.statefulIsAuthorized(calls[i] as cedar.StatefulAuthorizationCall);
      if (answer.type !== "success") throw new Error(`Cedar failed: ${JSON.stringify(answer.errors)}`);
      const { decision, diagnostics } = answer.response;
      if (diagnostics.errors.length > 0) throw new Error(`Cedar policy errors: ${JSON.stringify(diagnostics.errors)}`);
      if (decision === "allow") return "Allow";
      // On deny, `reason` lists the forbid policies that applied: none means nothing permitted.
      return diagnostics.reason.length > 0 ? "ExplicitDeny" : "ImplicitDeny";
    },
  };
}
