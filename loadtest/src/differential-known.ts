/**
 * Documented classes of disagreement between Gatehouse and @cloud-copilot/iam-simulate; the
 * differential test (`differential.test.ts`) tolerates a disagreement only when such classes explain
 * it, and fails on any other. Two kinds:
 *
 * - `iam-simulate-departs-from-aws`: AWS's documentation (`awsDocs`) gives Gatehouse's answer.
 * - `gatehouse-divergence`: a deliberate Gatehouse choice listed under "Known divergences from AWS"
 *   in `packages/policy/README.md`, where the documentation does not clearly settle it. These are
 *   open questions for the engine, kept visible here rather than hidden.
 *
 * A class explains a disagreement by counterfactual, not by resemblance: its `normalize` rewrites
 * the scenario into one that means the same thing under the class's reading but avoids the
 * construct (an empty multivalued key becomes an absent one, epoch seconds become ISO 8601, a
 * statement Gatehouse treats as not applying is dropped). The disagreement is explained when, on the
 * normalized scenario, iam-simulate gives Gatehouse's original answer and Gatehouse's answer has
 * not changed (the rewrite really was meaning-preserving). The smallest set of classes that does
 * this is reported.
 */

import type { Decision } from "@gatehouse/policy";
import { decideWithGatehouse, decideWithIamSimulate, type Scenario } from "./differential-scenario.ts";
import type { IamCondition, IamPolicyDocument, IamStatement } from "./workloads.ts";

/** One documented class of disagreement. */
export interface KnownDifference {
  /** Stable, kebab-case. */
  id: string;
  kind: "iam-simulate-departs-from-aws" | "gatehouse-divergence";
  /** What differs, and why Gatehouse's answer is right (or, for a divergence, what is unsettled). */
  summary: string;
  /** The AWS documentation page that settles it (or that a divergence departs from). */
  awsDocs: string;
  /**
   * An equivalent scenario (per `awsDocs`) without the construct, or undefined when the scenario
   * does not use it.
   */
  normalize(scenario: Scenario): Scenario | undefined;
}

/** Every known class; empty means the engines must agree on every generated scenario. */
export const knownDifferences: readonly KnownDifference[] = [
  {
    id: "empty-multivalued-key-is-absent",
    kind: "iam-simulate-departs-from-aws",
    summary:
      "A multivalued key sent as an empty list (aws:TagKeys: []) is treated as absent (null) by Gatehouse, for " +
      "every operator (Null:true holds, ForAllValues holds, a negated operator holds); iam-simulate treats it " +
      "as present. AWS treats 'context keys with empty values' like missing ones: 'You can prevent missing " +
      "context keys or context keys with empty values from evaluating to true by including a Null condition " +
      "operator in your policy with a value of false to check if the context key in the request exists and its " +
      "value is not null.'",
    awsDocs:
      "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html",
    normalize(scenario) {
      const empty = Object.entries(scenario.request.context)
        .filter(([, v]) => Array.isArray(v) && v.length === 0)
        .map(([k]) => k.toLowerCase());
      const used = conditionClauses(scenario).some((c) => empty.includes(c.key.toLowerCase()));
      return used ? withoutContextKeys(scenario, empty) : undefined;
    },
  },
  {
    id: "not-principal-deny-needs-whole-principal-chain",
    kind: "iam-simulate-departs-from-aws",
    summary:
      "A Deny with NotPrincipal exempts a principal only when the element names every identity AWS evaluates " +
      "for it: the account and the user, or the account, the role and the role session. Naming only the user " +
      "(or only the account) still denies. And a principal with a permissions boundary is always denied by a " +
      "NotPrincipal Deny. iam-simulate exempts a principal named alone and ignores the boundary rule. AWS: " +
      "'When you use NotPrincipal, you must also specify the account ARN of the not-denied principal. " +
      "Otherwise, the policy might deny access to the entire account containing the principal.' and 'The " +
      "NotPrincipal element with a Deny effect will always deny any IAM principal that has a permissions " +
      "boundary policy attached, regardless of the values specified in the NotPrincipal element.'",
    awsDocs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html",
    normalize(scenario) {
      const identities = principalChain(scenario);
      let changed = false;
      const out = mapStatements(scenario, (st) => {
        if (st.Effect !== "Deny" || !st.NotPrincipal) return st;
        const listed = toArray(st.NotPrincipal.AWS);
        const exempt = !scenario.permissionBoundary && identities.every((ids) => ids.some((id) => listed.includes(id)));
        if (exempt) return st;
        // Not exempt per AWS: write the list without this principal's identities, so any engine denies it.
        const rest = listed.filter((id) => !identities.flat().includes(id));
        if (rest.length === listed.length) return st;
        changed = true;
        return { ...st, NotPrincipal: { AWS: rest.length > 0 ? rest : "arn:aws:iam::999999999999:root" } };
      });
      return changed ? out : undefined;
    },
  },
  {
    id: "date-epoch-seconds",
    kind: "iam-simulate-departs-from-aws",
    summary:
      "Date operators accept ISO 8601 or epoch (UNIX) seconds, and the two compare as the same instant: " +
      "aws:EpochTime 1704067200 equals 2024-01-01T00:00:00Z. iam-simulate 0.1.173 reads an all-digit value as " +
      "epoch seconds but an ISO value as epoch milliseconds (Date.parse) and compares the numbers, so any " +
      "comparison mixing the forms is off by a factor of 1000.",
    awsDocs:
      "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date",
    normalize(scenario) {
      const dateKeys = new Set(
        conditionClauses(scenario)
          .filter((c) => isDateOperator(c.operator))
          .map((c) => c.key.toLowerCase()),
      );
      const used =
        conditionClauses(scenario).some((c) => isDateOperator(c.operator) && c.values.some(isEpoch)) ||
        Object.entries(scenario.request.context).some(
          ([k, v]) => dateKeys.has(k.toLowerCase()) && typeof v === "string" && isEpoch(v),
        );
      return used ? epochToIso(scenario, dateKeys) : undefined;
    },
  },
  {
    id: "negated-operator-matches-null-variable",
    kind: "iam-simulate-departs-from-aws",
    summary:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text names a policy variable
      "A policy value whose variable has no value in the request (e.g. ${aws:PrincipalTag/Team} for an " +
      "untagged principal) is effectively null: it equals nothing. Gatehouse lets a negated operator " +
      "(StringNotEquals, StringNotLike, ArnNotLike, ...) match against it; iam-simulate treats the value as an " +
      "error and fails the condition. AWS: 'Inverted condition operators like StringNotEquals or StringNotLike " +
      "do match against a null value, as the value of the condition key they are testing against is not equal " +
      "to or like the effectively null value.'",
    awsDocs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value",
    normalize(scenario) {
      const resolvable = resolvableKeys(scenario);
      const isNull = (value: string) => hasNullVariable(value, resolvable);
      let changed = false;
      const out = mapStatements(scenario, (st) => {
        if (!st.Condition) return st;
        const condition: IamCondition = {};
        for (const [operator, entries] of Object.entries(st.Condition)) {
          const negated = /^(ForAnyValue:|ForAllValues:)?(String|Arn)Not/.test(operator);
          for (const [key, raw] of Object.entries(entries)) {
            const values = toArray(raw);
            const kept = negated ? values.filter((v) => !isNull(v)) : values;
            if (kept.length !== values.length) changed = true;
            if (kept.length > 0) {
              condition[operator] = { ...condition[operator], [key]: kept };
            } else if (operator.startsWith("ForAnyValue:")) {
              // "Some request value differs from nothing": true exactly when the key has a value.
              condition.Null = { ...condition.Null, [key]: "false" };
            }
            // Any other negated clause over only null values always holds: dropping it is equivalent.
          }
        }
        if (Object.keys(condition).length > 0) return { ...st, Condition: condition };
        const { Condition: _dropped, ...unconditional } = st;
        return unconditional;
      });
      return changed ? out : undefined;
    },
  },
  {
    id: "not-resource-entry-with-null-variable-matches-nothing",
    kind: "iam-simulate-departs-from-aws",
    summary:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text names a policy variable
      "A NotResource entry whose policy variable has no value in the request (e.g. ${aws:username} for a role " +
      "session) matches no resource, so the NotResource statement still applies to the request's resource. " +
      "iam-simulate, for a resource of the same service, treats the statement as not applying. AWS: 'If a " +
      "variable that has no value in the authorization context is used as part of the Resource or NotResource " +
      "element of a policy, the resource that includes a policy variable with no value will not match any " +
      "resource.'",
    awsDocs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value",
    normalize(scenario) {
      const resolvable = resolvableKeys(scenario);
      let changed = false;
      const out = mapStatements(scenario, (st) => {
        if (st.NotResource === undefined) return st;
        const entries = toArray(st.NotResource);
        const kept = entries.filter((e) => !hasNullVariable(e, resolvable));
        if (kept.length === entries.length) return st;
        changed = true;
        // Entries that match nothing exclude nothing; with none left the statement covers every resource.
        const { NotResource: _dropped, ...rest } = st;
        return kept.length > 0 ? { ...rest, NotResource: kept } : { ...rest, Resource: "*" };
      });
      return changed ? out : undefined;
    },
  },
  {
    id: "resource-wildcard-stays-in-its-segment",
    kind: "iam-simulate-departs-from-aws",
    summary:
      "In Resource and NotResource a `?`, and a `*` followed by more text of its segment, never match a colon, in " +
      "the resource part of the ARN as in the other segments: arn:aws:s3:::data/*/c?d.txt does not match the object " +
      "data/shared/c:d.txt. iam-simulate checks partition, service, region and account segment by segment but " +
      "matches the resource part as one glob whose wildcards cross colons. AWS: 'You can use wildcard characters " +
      "(* and ?) within the individual segments of an ARN (the parts separated by colons)' and only 'If the * " +
      "wildcard is the last character of a resource ARN segment, it can expand to match beyond the colon " +
      "boundaries.'",
    awsDocs:
      "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards",
    normalize(scenario) {
      return resolveResourceEntries(scenario, (entry) => segmentBoundWildcard(entry.slice(resourcePartStart(entry))));
    },
  },
  {
    id: "short-resource-arn-trailing-star-crosses-colons",
    kind: "iam-simulate-departs-from-aws",
    summary:
      "A Resource with fewer than six segments whose `*` ends a segment matches across the colons that follow: " +
      "arn:aws:dynamodb:us-*:table/orders covers arn:aws:dynamodb:us-east-1:111122223333:table/orders. " +
      "iam-simulate pads a short ARN with `*` segments and then matches segment by segment, so `us-*` must match " +
      "the region alone and `table/orders` the account. AWS: 'If the * wildcard is the last character of a " +
      "resource ARN segment, it can expand to match beyond the colon boundaries.'",
    awsDocs:
      "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards",
    normalize(scenario) {
      return resolveResourceEntries(
        scenario,
        (entry) => resourcePartStart(entry) === entry.length && entry.includes("*"),
      );
    },
  },
];

/** Where the resource part of an ARN pattern starts: after its fifth colon (or at the end). */
function resourcePartStart(arn: string): number {
  let colons = 0;
  for (let i = 0; i < arn.length; i++) if (arn[i] === ":" && ++colons === 5) return i + 1;
  return arn.length;
}

/** Whether a pattern has a `?`, or a `*` followed by more text of its segment (which cannot cross a colon). */
function segmentBoundWildcard(pattern: string): boolean {
  return /\?|\*[^:*]/.test(pattern);
}

/** A Resource entry (without variables) as Gatehouse reads it, segment by segment. */
function resourceEntryRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") source += i + 1 === pattern.length || pattern[i + 1] === ":" ? "[\\s\\S]*" : "[^:]*";
    else if (c === "?") source += "[^:]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/**
 * The scenario with every Resource/NotResource entry that `uses` the construct (and has no policy
 * variable) replaced by what it means for this request under Gatehouse's reading: the request's
 * resource itself when the entry matches it, an ARN that matches nothing otherwise.
 */
function resolveResourceEntries(scenario: Scenario, uses: (entry: string) => boolean): Scenario | undefined {
  const target = scenario.request.resource;
  let changed = false;
  const resolve = (value: string | string[]): string | string[] => {
    const entries = toArray(value).map((entry) => {
      if (entry === "*" || entry.includes("${") || !uses(entry)) return entry;
      changed = true;
      return resourceEntryRegExp(entry).test(target) ? target : "arn:aws:none:::none";
    });
    return typeof value === "string" ? (entries[0] as string) : entries;
  };
  const out = mapStatements(scenario, (st) => {
    if (st.Resource !== undefined) return { ...st, Resource: resolve(st.Resource) };
    if (st.NotResource !== undefined) return { ...st, NotResource: resolve(st.NotResource) };
    return st;
  });
  return changed ? out : undefined;
}

const dateOperators =
  /^(ForAnyValue:|ForAllValues:)?Date(Not)?(Equals|LessThan|LessThanEquals|GreaterThan|GreaterThanEquals)(IfExists)?$/;

function isDateOperator(operator: string): boolean {
  return dateOperators.test(operator);
}

function isEpoch(value: string): boolean {
  return /^\d+$/.test(value);
}

function toIso(value: string): string {
  return isEpoch(value) ? new Date(Number(value) * 1000).toISOString().replace(".000Z", "Z") : value;
}

/** The scenario with epoch-second date values (policy and request) written as ISO 8601. */
function epochToIso(scenario: Scenario, dateKeys: ReadonlySet<string>): Scenario {
  const converted = mapStatements(scenario, (st) => {
    if (!st.Condition) return st;
    const condition = Object.fromEntries(
      Object.entries(st.Condition).map(([operator, entries]) => [
        operator,
        isDateOperator(operator)
          ? Object.fromEntries(
              Object.entries(entries).map(([k, v]) => [k, typeof v === "string" ? toIso(v) : v.map(toIso)]),
            )
          : entries,
      ]),
    );
    return { ...st, Condition: condition };
  });
  const context = Object.fromEntries(
    Object.entries(scenario.request.context).map(([k, v]) => [
      k,
      dateKeys.has(k.toLowerCase()) && typeof v === "string" ? toIso(v) : v,
    ]),
  );
  return { ...converted, request: { ...converted.request, context } };
}

/**
 * The identities AWS evaluates for the request principal, each as its accepted spellings: the
 * account, then (for a role session) the role, then the principal's own ARN.
 */
function principalChain(scenario: Scenario): string[][] {
  const { arn, accountId } = scenario.principal;
  const chain = [[accountId, `arn:aws:iam::${accountId}:root`]];
  const session = /^arn:aws:sts::(\d+):assumed-role\/([^/]+)\/.+$/.exec(arn);
  if (session) chain.push([`arn:aws:iam::${session[1]}:role/${session[2]}`]);
  chain.push([arn]);
  return chain;
}

function toArray(value: string | string[]): string[] {
  return typeof value === "string" ? [value] : value;
}

/** Lower-cased context keys a policy variable can resolve from: present with a single value. */
function resolvableKeys(scenario: Scenario): Set<string> {
  return new Set(
    Object.entries(scenario.request.context)
      .filter(([, v]) => !Array.isArray(v))
      .map(([k]) => k.toLowerCase()),
  );
}

/** Whether a policy value uses a variable (without a default) that the request cannot resolve. */
function hasNullVariable(value: string, resolvable: ReadonlySet<string>): boolean {
  return [...value.matchAll(/\$\{([^},]+)(,\s*'[^']*')?\}/g)].some(
    (m) =>
      m[2] === undefined &&
      !["*", "?", "$"].includes(m[1] as string) &&
      !resolvable.has((m[1] as string).toLowerCase()),
  );
}

/** Every statement of every policy of the scenario. */
function allStatements(scenario: Scenario): IamStatement[] {
  return policiesOf(scenario).flatMap((p) => p.Statement);
}

function policiesOf(scenario: Scenario): IamPolicyDocument[] {
  return [
    ...scenario.identityPolicies,
    ...(scenario.permissionBoundary ? [scenario.permissionBoundary] : []),
    ...(scenario.resourcePolicy ? [scenario.resourcePolicy] : []),
    ...(scenario.scps ?? []),
  ];
}

/**
 * Rewrites (or, returning undefined, drops) every statement. A policy left without statements
 * gets one that never matches, which is what an empty policy means to every policy type.
 */
function mapStatements(scenario: Scenario, fn: (st: IamStatement) => IamStatement | undefined): Scenario {
  const never: IamStatement = { Effect: "Allow", Action: "gatehouse:NeverMatches", Resource: "arn:aws:none:::none" };
  const map = (p: IamPolicyDocument, filler = never): IamPolicyDocument => {
    const statements = p.Statement.flatMap((st) => fn(st) ?? []);
    return { ...p, Statement: statements.length > 0 ? statements : [filler] };
  };
  const out: Scenario = { ...scenario, identityPolicies: scenario.identityPolicies.map((p) => map(p)) };
  if (scenario.permissionBoundary) out.permissionBoundary = map(scenario.permissionBoundary);
  if (scenario.resourcePolicy) {
    out.resourcePolicy = map(scenario.resourcePolicy, {
      ...never,
      Principal: { AWS: "arn:aws:iam::999999999999:root" },
    });
  }
  if (scenario.scps) out.scps = scenario.scps.map((p) => map(p));
  return out;
}

/** Every `operator: {key: …}` pair in every policy of the scenario. */
function conditionClauses(scenario: Scenario): { operator: string; key: string; values: string[] }[] {
  return allStatements(scenario).flatMap((st) =>
    Object.entries(st.Condition ?? {}).flatMap(([operator, entries]) =>
      Object.entries(entries).map(([key, v]) => ({ operator, key, values: typeof v === "string" ? [v] : v })),
    ),
  );
}

/** The scenario with the given context keys (lower-cased) removed from the request. */
function withoutContextKeys(scenario: Scenario, keys: readonly string[]): Scenario {
  const context = Object.fromEntries(
    Object.entries(scenario.request.context).filter(([k]) => !keys.includes(k.toLowerCase())),
  );
  return { ...scenario, request: { ...scenario.request, context } };
}

/**
 * The smallest set of known classes that explains a disagreement (see the file comment), or an
 * empty list: then the disagreement is a finding.
 */
export function explainDifference(scenario: Scenario, gatehouse: Decision): KnownDifference[] {
  const relevant = knownDifferences.filter((k) => k.normalize(scenario) !== undefined);
  // Subsets in order of size; there are only a handful of classes.
  const subsets = [...Array(2 ** relevant.length).keys()]
    .slice(1)
    .map((mask) => relevant.filter((_, i) => mask & (1 << i)))
    .sort((x, y) => x.length - y.length);
  for (const subset of subsets) {
    const normalized = subset.reduce((s, k) => k.normalize(s) ?? s, scenario);
    if (decideWithIamSimulate(normalized) === gatehouse && decideWithGatehouse(normalized) === gatehouse) {
      return subset;
    }
  }
  return [];
}
