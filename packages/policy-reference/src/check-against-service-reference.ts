import type { Finding, FindingCode, PolicyDocumentInput } from "@gatehouse/policy";
import { arnFitsFormat } from "./arn-overlap.ts";
import { nearestName } from "./nearest-name.ts";
import { type Located, policyStatements, type StatementView } from "./policy-statements.ts";
import type { ReferenceAction, ReferenceService, ServiceReference } from "./service-reference.ts";

/** An action of the reference together with its service. */
interface Resolved {
  readonly service: ReferenceService;
  readonly action: ReferenceAction;
}

/**
 * Checks a policy document against AWS's service reference, as IAM Access Analyzer's policy
 * validation does, and returns warnings with JSON paths. Pure: `reference` must hold every service
 * the document names (see `validateAgainstServiceReference`, which loads exactly those); a known
 * service that was not loaded is not checked.
 *
 * The findings, each a warning:
 * - `unknown-service`: an action's service prefix is not an AWS service (nearest prefix suggested);
 * - `unknown-action`: the service has no such action (nearest action of the service suggested);
 * - `action-wildcard-matches-nothing`: an action pattern like `s3:Gett*` names no action;
 * - `unsupported-condition-key`: a service condition key (not `aws:*`) that is no key of its
 *   service, or that none of the statement's actions supports, so the request never carries it;
 * - `no-resource-level-permissions`: every action an Action entry names acts only on `*`, but the
 *   statement's Resource names specific resources, so the statement never applies to them;
 * - `resource-matches-no-action`: a Resource ARN whose service or shape fits none of the resource
 *   types of the statement's actions.
 *
 * NotAction statements get only the first three (what they exclude is not a set of actions to
 * check keys or resources against); NotResource statements skip the two Resource checks.
 *
 * @example
 * checkAgainstServiceReference(
 *   { Version: "2012-10-17", Statement: { Effect: "Allow", Action: "s3:GetObjekt", Resource: "*" } },
 *   await loadServiceReference(["s3"]),
 * ); // [{ path: "$.Statement.Action", code: "unknown-action", message: '… (did you mean "s3:GetObject"?)', … }]
 */
export function checkAgainstServiceReference(doc: PolicyDocumentInput, reference: ServiceReference): Finding[] {
  const findings: Finding[] = [];
  const warn = (path: string, code: FindingCode, message: string) =>
    findings.push({ path, code, message, severity: "warning" });
  for (const statement of policyStatements(doc)) checkStatement(statement, reference, warn);
  return findings;
}

type Warn = (path: string, code: FindingCode, message: string) => void;

function checkStatement(statement: StatementView, reference: ServiceReference, warn: Warn): void {
  for (const entry of statement.notAction ?? []) resolveAction(entry, reference, warn);
  const resolvedEntries = (statement.action ?? []).map((entry) => ({
    entry,
    actions: resolveAction(entry, reference, warn),
  }));
  // The statement's actions are a known set only when every Action entry resolved; otherwise (a
  // `*`, an unknown or unloaded name, NotAction) the checks below could only guess.
  const actions =
    statement.action !== undefined &&
    statement.notAction === undefined &&
    resolvedEntries.every((r) => r.actions !== undefined)
      ? dedupe(resolvedEntries.flatMap((r) => r.actions ?? []))
      : undefined;

  for (const key of statement.conditionKeys) checkConditionKey(key, actions, reference, warn);

  const resources = statement.resource;
  if (resources === undefined || statement.notResource !== undefined || statement.notAction !== undefined) return;
  const specific = resources.filter((r) => !matchesEveryResource(r.value));
  if (specific.length === 0) return;
  // With a `*` beside the ARNs, actions without resource-level permissions are covered.
  const coversStar = specific.length < resources.length;
  for (const { entry, actions: named } of resolvedEntries) {
    if (coversStar || named === undefined || named.length === 0) continue;
    if (named.some((a) => a.action.resourceTypes.length > 0)) continue;
    const prefix = named[0]?.service.prefix ?? "";
    // `arn:aws:s3:::*` for s3:ListAllMyBuckets is common and works in practice; say nothing when
    // a Resource spans the action's whole service.
    if (specific.some((r) => spansService(r.value, prefix))) continue;
    const [subject, it] =
      named.length === 1
        ? [`${prefix}:${named[0]?.action.name} supports`, "it"]
        : [`the ${named.length} actions "${entry.value}" names support`, "them"];
    warn(
      entry.path,
      "no-resource-level-permissions",
      `${subject} no resource-level permissions (AWS authorizes ${it} against the resource "*"), so this statement's Resource (${quoteList(specific.map((r) => r.value))}) never matches ${it}; grant ${it} in a statement with "Resource": "*"`,
    );
  }
  if (actions !== undefined) checkResourceArns(specific, actions, warn);
}

/** The reference actions an Action/NotAction entry names; undefined when that is not known. */
function resolveAction(entry: Located, reference: ServiceReference, warn: Warn): Resolved[] | undefined {
  const colon = entry.value.indexOf(":");
  if (colon <= 0 || colon === entry.value.length - 1) return undefined; // `*`, or an engine error
  const written = entry.value.slice(0, colon);
  const name = entry.value.slice(colon + 1);
  if (/[*?]/.test(written)) return undefined;
  const prefix = written.toLowerCase();
  if (!reference.servicePrefixes.has(prefix)) {
    const hint = nearestName(prefix, reference.servicePrefixes);
    warn(
      entry.path,
      "unknown-service",
      `"${written}" in "${entry.value}" is not an AWS service prefix${hint === undefined ? "" : ` (did you mean "${hint}:${name}"?)`}`,
    );
    return undefined;
  }
  const service = reference.services.get(prefix);
  if (service === undefined) return undefined;
  if (/[*?]/.test(name)) {
    const pattern = globRegExp(name);
    const matched = [...service.actions.values()].filter((a) => pattern.test(a.name));
    if (matched.length === 0) {
      warn(entry.path, "action-wildcard-matches-nothing", `"${entry.value}" matches no action of service ${prefix}`);
      return undefined;
    }
    return matched.map((action) => ({ service, action }));
  }
  const action = service.actions.get(name.toLowerCase());
  if (action === undefined) {
    const hint = nearestName(
      name,
      [...service.actions.values()].map((a) => a.name),
    );
    warn(
      entry.path,
      "unknown-action",
      `service ${prefix} has no action "${name}"${hint === undefined ? "" : ` (did you mean "${prefix}:${hint}"?)`}`,
    );
    return undefined;
  }
  return [{ service, action }];
}

function checkConditionKey(
  key: Located,
  actions: readonly Resolved[] | undefined,
  reference: ServiceReference,
  warn: Warn,
): void {
  const colon = key.value.indexOf(":");
  if (colon <= 0) return;
  const prefix = key.value.slice(0, colon).toLowerCase();
  // Global keys are the engine's to check (unknown-global-condition-key): any action may carry them.
  if (prefix === "aws" || reference.crossServiceConditionKeys.has(key.value.toLowerCase())) return;
  if (actions?.some((r) => actionSupportsKey(r, key.value))) return;
  const service = reference.services.get(prefix);
  if (service !== undefined && !keyMatchesAny(key.value, service.conditionKeys)) {
    const hint = nearestName(
      key.value,
      service.conditionKeys.filter((k) => !isTemplate(k)),
    );
    warn(
      key.path,
      "unsupported-condition-key",
      `"${key.value}" is not a condition key of service ${prefix}${hint === undefined ? "" : ` (did you mean "${hint}"?)`}`,
    );
    return;
  }
  // A key of no known service (saml:, an OIDC provider's) belongs to no list we could check.
  if (actions === undefined || !reference.servicePrefixes.has(prefix)) return;
  const names = actions.map((r) => `${r.service.prefix}:${r.action.name}`);
  warn(
    key.path,
    "unsupported-condition-key",
    `no action of this statement supports "${key.value}" (${names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`}), so the request never carries it and the condition tests a missing key`,
  );
}

/** A key is supported by an action when the action, one of its resource types or that type's definition lists it. */
function actionSupportsKey({ service, action }: Resolved, key: string): boolean {
  if (keyMatchesAny(key, action.conditionKeys)) return true;
  return action.resourceTypes.some(
    (rt) =>
      keyMatchesAny(key, rt.conditionKeys) ||
      keyMatchesAny(key, service.resourceTypes.get(rt.name.toLowerCase())?.conditionKeys ?? []),
  );
}

function checkResourceArns(resources: readonly Located[], actions: readonly Resolved[], warn: Warn): void {
  const formats = new Map<string, string>(); // format → resource type key
  for (const { service, action } of actions) {
    for (const rt of action.resourceTypes) {
      const type = service.resourceTypes.get(rt.name.toLowerCase());
      // A type the dataset names but does not define: the shapes are not fully known, so say nothing.
      if (type === undefined) return;
      formats.set(type.arn, type.key);
    }
  }
  if (formats.size === 0) return; // only `*` actions: no-resource-level-permissions said it
  for (const r of resources) {
    if (!r.value.startsWith("arn:")) continue; // an engine error already
    if ([...formats.keys()].some((f) => arnFitsFormat(r.value, f))) continue;
    const service = r.value.split(":")[2];
    const formatServices = new Set([...formats.keys()].map((f) => f.split(":")[2]?.toLowerCase()));
    const literalService = service !== undefined && !/[*?$]/.test(service) && service !== "";
    const anyService = [...formatServices].some((s) => s === undefined || s.includes("$"));
    if (literalService && !anyService && !formatServices.has(service.toLowerCase())) {
      warn(
        r.path,
        "resource-matches-no-action",
        `"${r.value}" is an ARN of service ${service}, but the actions of this statement act only on ${[...formatServices].join(", ")} resources`,
      );
      continue;
    }
    const types = [...formats].map(([format, key]) => `${key} (${format})`);
    warn(
      r.path,
      "resource-matches-no-action",
      `"${r.value}" fits none of the resource types of this statement's actions: ${types.length <= 4 ? types.join(", ") : `${types.slice(0, 4).join(", ")} and ${types.length - 4} more`}`,
    );
  }
}

/** Whether a Resource pattern like `arn:aws:s3:::*` or `arn:*:ec2:*:*:*` spans every resource of service `prefix`. */
function spansService(pattern: string, prefix: string): boolean {
  const parts = pattern.split(":");
  const service = parts[2];
  if (parts[0] !== "arn" || (service !== undefined && !globRegExp(service).test(prefix))) return false;
  return (parts.length >= 6 ? parts.slice(5).join(":") : parts[parts.length - 1]) === "*";
}

/** Whether a Resource pattern matches the resource `*` of an action without resource-level permissions. */
function matchesEveryResource(pattern: string): boolean {
  return /^\*+$|^\**\?\**$/.test(pattern);
}

function globRegExp(glob: string): RegExp {
  const source = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "i");
}

/**
 * Placeholders in the dataset's condition keys: `${TagKey}`, `<key>`, and the AWS pages' spellings
 * `…/tag-key` and a bare trailing `/` (`secretsmanager:ResourceTag/tag-key`, `glacier:ResourceTag/`).
 */
const TEMPLATE_PART = /\$\{[^}]*\}|<[^>]*>/g;

function isTemplate(key: string): boolean {
  return key.includes("${") || key.includes("<") || key.endsWith("/") || /\/tag-key$/i.test(key);
}

/** Templates compiled once; they come from the dataset, so the cache is bounded by it. */
const templateCache = new Map<string, RegExp>();

function keyMatchesAny(key: string, candidates: readonly string[]): boolean {
  const lower = key.toLowerCase();
  for (const c of candidates) {
    if (c.toLowerCase() === lower) return true;
    if (!isTemplate(c)) continue;
    let re = templateCache.get(c);
    if (re === undefined) {
      // The two loose spellings become a placeholder like the others (any non-empty text).
      const spelled = c.endsWith("/") ? `${c}<tag-key>` : c.replace(/\/tag-key$/i, "/<tag-key>");
      const parts = spelled.split(TEMPLATE_PART).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
      re = new RegExp(`^${parts.join(".+")}$`, "i");
      templateCache.set(c, re);
    }
    if (re.test(key)) return true;
  }
  return false;
}

function dedupe(resolved: Resolved[]): Resolved[] {
  const seen = new Set<ReferenceAction>();
  return resolved.filter((r) => {
    if (seen.has(r.action)) return false;
    seen.add(r.action);
    return true;
  });
}

function quoteList(values: readonly string[]): string {
  const shown = values.slice(0, 2).map((v) => `"${v}"`);
  return values.length > 2 ? `${shown.join(", ")} and ${values.length - 2} more` : shown.join(", ");
}
