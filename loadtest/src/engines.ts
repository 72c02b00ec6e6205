/**
 * The three engines behind one interface, each timed two ways:
 *
 * - `prepared`: everything that can be done once per principal or per request (compiling,
 *   pre-parsing, converting requests to the engine's own form) happens in `prepare`, outside the
 *   timed `decide`. For iam-simulate this still parses the policies on every call: its public API
 *   has no compile step.
 * - `end-to-end`: what a region pays per Authorize. `decide` receives the raw request (shaped as
 *   the Authorize RPC delivers it, see `raw-request.ts`), looks the principal up by ARN in a Map
 *   of prepared principals (10,000 other principals beside it, as a region holds many), builds the
 *   engine's request from the raw one, and decides.
 *
 * {@link figureIncludes} says exactly what each timed region contains; the bench prints it and
 * writes it to the JSON.
 */

import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { type CompiledPolicySet, compilePolicySet, type Decision, type PrincipalInfo } from "@gatehouse/policy";
import { type CedarRequest, toCedarPolicies, toCedarRequest } from "./cedar-translate.ts";
import { type RawAuthorizeRequest, rawArn, toAuthzContext, toRawRequest, toStringContext } from "./raw-request.ts";
import type { Workload } from "./workloads.ts";

/** The engines of the benchmark. */
export type EngineName = "gatehouse" | "iam-simulate" | "cedar-wasm";
export const engineNames: readonly EngineName[] = ["gatehouse", "iam-simulate", "cedar-wasm"];

/** The two timed figures of every engine. */
export type FigureName = "prepared" | "end-to-end";
export const figureNames: readonly FigureName[] = ["prepared", "end-to-end"];

/** What each engine's timed `decide` contains, per figure (printed and written to the JSON). */
export const figureIncludes: Readonly<Record<EngineName, Readonly<Record<FigureName, string>>>> = Object.freeze({
  gatehouse: {
    prepared: "evaluate() with the compiled principal and a prebuilt AuthzRequest",
    "end-to-end":
      "Map lookup of the compiled principal by ARN + AuthzRequest and context built from the raw request + evaluate()",
  },
  "cedar-wasm": {
    prepared: "statefulIsAuthorized() on a preparsed policy set with a prebuilt Cedar request object",
    "end-to-end":
      "Map lookup of the preparsed policy-set id by ARN + Cedar request and context built from the raw request + statefulIsAuthorized()",
  },
  "iam-simulate": {
    prepared: "runUnsafeSimulation() with a prebuilt Simulation; parses every policy on every call (no compile API)",
    "end-to-end":
      "Map lookup of the policy documents by ARN + Simulation built from the raw request + runUnsafeSimulation() (parses every policy on every call)",
  },
});

/** A principal prepared by one engine; `decide(i)` answers `workload.requests[i]`. */
export interface PreparedEngine {
  decide(index: number): Decision;
}

/** Both figures of one engine on one workload. */
export type EngineFigures = Readonly<Record<FigureName, PreparedEngine>>;

/** How many other principals share the end-to-end lookup Map with the workload's principal. */
export const OTHER_PRINCIPALS = 10_000;

/**
 * A Map keyed by principal ARN holding `entry` for the workload's principal and `filler` for
 * {@link OTHER_PRINCIPALS} other ARNs, so lookups hash into a realistically sized table.
 */
export function principalDirectory<T>(workload: Workload, entry: T, filler: T): Map<string, T> {
  const map = new Map<string, T>();
  for (let i = 0; i < OTHER_PRINCIPALS; i++) map.set(`arn:aws:iam::${workload.principal.accountId}:user/u${i}`, filler);
  map.set(workload.principal.arn, entry);
  return map;
}

/** The raw requests of a workload; fresh strings, not the workload's own string objects. */
function rawRequests(workload: Workload): RawAuthorizeRequest[] {
  return workload.requests.map((r) => toRawRequest(workload.principal.arn, r));
}

function lookup<T>(map: Map<string, T>, raw: RawAuthorizeRequest): T {
  const entry = map.get(rawArn(raw));
  if (entry === undefined) throw new Error(`unknown principal ${rawArn(raw)}`);
  return entry;
}

/** Prepares a workload for the named engine, both figures. */
export function prepareEngine(engine: EngineName, workload: Workload): EngineFigures {
  switch (engine) {
    case "gatehouse":
      return { prepared: prepareGatehouse(workload), "end-to-end": gatehouseEndToEnd(workload) };
    case "iam-simulate":
      return { prepared: prepareIamSimulate(workload), "end-to-end": iamSimulateEndToEnd(workload) };
    case "cedar-wasm":
      return { prepared: prepareCedar(workload), "end-to-end": cedarEndToEnd(workload) };
  }
}

/** Compiles the principal from JSON text, as a region receives its policies. */
function compileGatehouse(workload: Workload): CompiledPolicySet {
  return compilePolicySet({ identityPolicies: workload.policies.map((p) => JSON.stringify(p)) });
}

/** Gatehouse: compile the principal once, then evaluate prebuilt requests. */
export function prepareGatehouse(workload: Workload): PreparedEngine {
  const compiled = compileGatehouse(workload);
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

/** Gatehouse end to end: principal by ARN from a Map of compiled principals, request built from the raw one. */
export function gatehouseEndToEnd(workload: Workload): PreparedEngine {
  interface Entry {
    principal: PrincipalInfo;
    compiled: CompiledPolicySet;
  }
  const filler: Entry = {
    principal: { arn: "arn:aws:iam::111122223333:user/other", accountId: workload.principal.accountId },
    compiled: compilePolicySet({ identityPolicies: [] }),
  };
  const directory = principalDirectory<Entry>(
    workload,
    { principal: { ...workload.principal }, compiled: compileGatehouse(workload) },
    filler,
  );
  const raws = rawRequests(workload);
  return {
    decide: (i) => {
      const raw = raws[i] as RawAuthorizeRequest;
      const { principal, compiled } = lookup(directory, raw);
      return compiled.evaluate(principal, {
        action: raw.action,
        resource: raw.resource,
        resourceAccount: raw.resourceAccount === "" ? principal.accountId : raw.resourceAccount,
        context: toAuthzContext(raw.context),
      }).decision;
    },
  };
}

function identityPoliciesOf(workload: Workload): Simulation["identityPolicies"] {
  return workload.policies.map((policy, i) => ({ name: `p${i}`, policy }));
}

/**
 * iam-simulate: `runUnsafeSimulation`, its fast path (no validation against the AWS service
 * catalogue). Its public API has no compile step: it parses the policies on every call, which is
 * part of what is measured.
 */
export function prepareIamSimulate(workload: Workload): PreparedEngine {
  const identityPolicies = identityPoliciesOf(workload);
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

/** iam-simulate end to end: policy documents by ARN from a Map, Simulation built from the raw request. */
export function iamSimulateEndToEnd(workload: Workload): PreparedEngine {
  interface Entry {
    accountId: string;
    identityPolicies: Simulation["identityPolicies"];
  }
  const directory = principalDirectory<Entry>(
    workload,
    { accountId: workload.principal.accountId, identityPolicies: identityPoliciesOf(workload) },
    { accountId: workload.principal.accountId, identityPolicies: [] },
  );
  const raws = rawRequests(workload);
  return {
    decide: (i) => {
      const raw = raws[i] as RawAuthorizeRequest;
      const entry = lookup(directory, raw);
      const simulation: Simulation = {
        request: {
          principal: rawArn(raw),
          action: raw.action,
          resource: {
            resource: raw.resource,
            accountId: raw.resourceAccount === "" ? entry.accountId : raw.resourceAccount,
          },
          contextVariables: toStringContext(raw.context),
        },
        identityPolicies: entry.identityPolicies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      };
      return fromIamSimulate(runUnsafeSimulation(simulation, {}));
    },
  };
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

function preparseCedar(workload: Workload): string {
  const id = `${workload.name}-${cedarSets++}`;
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: toCedarPolicies(workload.policies) });
  if (parsed.type !== "success") throw new Error(`Cedar rejected the translation: ${JSON.stringify(parsed.errors)}`);
  return id;
}

function cedarDecision(call: cedar.StatefulAuthorizationCall): Decision {
  const answer = cedar.statefulIsAuthorized(call);
  if (answer.type !== "success") throw new Error(`Cedar failed: ${JSON.stringify(answer.errors)}`);
  const { decision, diagnostics } = answer.response;
  if (diagnostics.errors.length > 0) throw new Error(`Cedar policy errors: ${JSON.stringify(diagnostics.errors)}`);
  if (decision === "allow") return "Allow";
  // On deny, `reason` lists the forbid policies that applied: none means nothing permitted.
  return diagnostics.reason.length > 0 ? "ExplicitDeny" : "ImplicitDeny";
}

/**
 * Cedar: `preparsePolicySet` once (cached inside the wasm module), then `statefulIsAuthorized`
 * with requests already in Cedar's JSON form.
 */
export function prepareCedar(workload: Workload): PreparedEngine {
  const id = preparseCedar(workload);
  const calls = workload.requests.map(
    (r): cedar.StatefulAuthorizationCall => ({
      ...(toCedarRequest(workload.principal.arn, r) satisfies CedarRequest),
      preparsedPolicySetId: id,
      entities: [],
    }),
  );
  return { decide: (i) => cedarDecision(calls[i] as cedar.StatefulAuthorizationCall) };
}

/** Cedar end to end: preparsed policy-set id by ARN from a Map, Cedar request built from the raw request. */
export function cedarEndToEnd(workload: Workload): PreparedEngine {
  const directory = principalDirectory(workload, preparseCedar(workload), "none");
  const raws = rawRequests(workload);
  return {
    decide: (i) => {
      const raw = raws[i] as RawAuthorizeRequest;
      const id = lookup(directory, raw);
      const request = toCedarRequest(rawArn(raw), {
        action: raw.action,
        resource: raw.resource,
        context: toStringContext(raw.context),
      });
      return cedarDecision({ ...request, preparsedPolicySetId: id, entities: [] });
    },
  };
}
