/**
 * Random authorization scenarios for the differential test of Gatehouse against
 * @cloud-copilot/iam-simulate, and how to ask each engine about one.
 *
 * The vocabulary is small on purpose, so that generated patterns, conditions and requests collide
 * often: actions from three services with shared verb prefixes, wildcards `*` and `?` in actions
 * and resources (including case variants), a dozen condition operator families on global keys,
 * identity policies plus an optional permissions boundary, resource policy and SCP level, IAM-user
 * and assumed-role principals, same- and cross-account requests.
 *
 * Not covered: session policies (iam-simulate's `runUnsafeSimulation` ignores them, and its
 * validating `runSimulation` rewrites the request context, which would no longer be "the same
 * input"), policy variables, and service-specific rules (KMS key policies, S3 ACLs).
 */

import { runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { type Decision, evaluate } from "@gatehouse/policy";
import fc from "fast-check";
import { fromIamSimulate } from "./engines.ts";
import { globToRegExp, type IamCondition, type IamPolicyDocument, type IamStatement } from "./workloads.ts";

/** One question put to both engines. */
export interface Scenario {
  principal: { arn: string; accountId: string };
  /** The account owning the resource. */
  resourceAccount: string;
  identityPolicies: IamPolicyDocument[];
  permissionBoundary?: IamPolicyDocument;
  resourcePolicy?: IamPolicyDocument;
  /** One level of service control policies (Gatehouse guardrails). */
  scps?: IamPolicyDocument[];
  request: { action: string; resource: string; context: Record<string, string | string[]> };
}

export const principalAccount = "111122223333";
export const otherAccount = "444455556666";
const userArn = `arn:aws:iam::${principalAccount}:user/alice`;
const roleArn = `arn:aws:iam::${principalAccount}:role/Dev`;
const sessionArn = `arn:aws:sts::${principalAccount}:assumed-role/Dev/alice-session`;

/** Concrete actions; verbs overlap across services so patterns like `*Item` and `Get*` collide. */
export const actions = [
  "s3:GetObject",
  "s3:GetObjectAcl",
  "s3:PutObject",
  "s3:DeleteObject",
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:Query",
  "dynamodb:BatchGetItem",
  "sqs:SendMessage",
  "sqs:ReceiveMessage",
] as const;

/** Concrete resources; `{acct}` becomes the resource account. */
const resourceTemplates = [
  "arn:aws:s3:::data/home/alice/a.txt",
  "arn:aws:s3:::data/shared/b.txt",
  "arn:aws:s3:::logs/2024/x.log",
  // An object key with a colon: wildcards of the resource part meet an ARN segment boundary.
  "arn:aws:s3:::data/shared/c:d.txt",
  "arn:aws:dynamodb:us-east-1:{acct}:table/orders",
  "arn:aws:dynamodb:us-west-2:{acct}:table/Orders",
  "arn:aws:sqs:us-east-1:{acct}:jobs",
] as const;

/** `${key}`: an IAM policy variable (a JS template literal would substitute it). */
function policyVariable(key: string): string {
  return `\${${key}}`;
}

const actionPatterns = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...actions) },
  { weight: 1, arbitrary: fc.constantFrom(...actions).map((a) => a.toLowerCase()) },
  { weight: 1, arbitrary: fc.constantFrom(...actions).map((a) => a.toUpperCase()) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "s3:Get*",
      "s3:GetObject*",
      "s3:*",
      "*",
      "dynamodb:?etItem",
      "dynamodb:*Item",
      "dynamodb:*",
      "sqs:*Message",
      "sqs:?????Message",
    ),
  },
);

const resourcePatterns = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...resourceTemplates) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "*",
      "arn:aws:s3:::data/*",
      "arn:aws:s3:::data/home/*",
      "arn:aws:s3:::*/shared/*",
      "arn:aws:s3:::data/home/alice/?.txt",
      "arn:aws:s3:::data*",
      "arn:aws:s3:::DATA/*",
      "arn:aws:dynamodb:*:{acct}:table/orders",
      "arn:aws:dynamodb:us-east-1:*:table/*",
      "arn:aws:dynamodb:*:*:table/?rders",
      "arn:aws:sqs:us-east-1:{acct}:*",
      "arn:aws:sqs:*:*:jobs",
      "arn:aws:*:*:*:*",
      // Wildcards segment by segment: `?` and a `*` followed by more text stay off colons; a `*`
      // ending its segment crosses them, in a short ARN too.
      "arn:aws:s3:::data/*/c?d.txt",
      "arn:aws:s3:::data/*/*.txt",
      "arn:aws:dynamodb:us-*-1:{acct}:table/*",
      "arn:aws:dynamodb:us-*:table/orders",
      // Policy variables, resolved from the request context (aws:username is given, not derived).
      `arn:aws:s3:::data/home/${policyVariable("aws:username")}/*`,
      `arn:aws:s3:::${policyVariable("aws:PrincipalTag/team")}/*`,
    ),
  },
);

/** [operator, key, values] triples over the context vocabulary of {@link contextArbitrary}. */
const conditionClauses: fc.Arbitrary<[string, string, string[]]> = fc.oneof(
  fc.tuple(
    fc.constantFrom(
      "StringEquals",
      "StringNotEquals",
      "StringEqualsIgnoreCase",
      "StringNotEqualsIgnoreCase",
      "StringEqualsIfExists",
      "StringNotEqualsIfExists",
    ),
    fc.constantFrom("aws:PrincipalTag/team", "aws:principaltag/team", "aws:RequestedRegion"),
    fc.subarray(["red", "blue", "Red", "us-east-1", "eu-west-1"], { minLength: 1, maxLength: 2 }),
  ),
  fc.tuple(
    fc.constantFrom("StringLike", "StringNotLike", "StringLikeIfExists"),
    fc.constantFrom("aws:PrincipalTag/team", "aws:RequestedRegion"),
    fc.subarray(["r*", "b?ue", "*", "us-*", "*-1"], { minLength: 1, maxLength: 2 }),
  ),
  fc.tuple(
    fc.constantFrom(
      "NumericEquals",
      "NumericNotEquals",
      "NumericLessThan",
      "NumericLessThanEquals",
      "NumericGreaterThan",
      "NumericGreaterThanEquals",
      "NumericLessThanIfExists",
    ),
    fc.constant("aws:MultiFactorAuthAge"),
    fc.subarray(["0", "300", "3600"], { minLength: 1, maxLength: 2 }),
  ),
  fc.tuple(
    fc.constantFrom("DateLessThan", "DateGreaterThan", "DateEquals", "DateNotEquals"),
    fc.constantFrom("aws:CurrentTime", "aws:EpochTime"),
    // 1704067200 is 2024-01-01T00:00:00Z as epoch seconds.
    fc.subarray(["2024-01-01T00:00:00Z", "2025-06-01T12:00:00Z", "1704067200"], { minLength: 1, maxLength: 1 }),
  ),
  fc.tuple(
    fc.constantFrom("Bool", "BoolIfExists"),
    fc.constantFrom("aws:SecureTransport", "aws:MultiFactorAuthPresent"),
    fc.constantFrom(["true"], ["false"], ["TRUE"]).map((v) => [...v]),
  ),
  fc.tuple(
    fc.constantFrom("IpAddress", "NotIpAddress", "IpAddressIfExists"),
    fc.constant("aws:SourceIp"),
    fc.subarray(["10.0.0.0/8", "192.168.1.0/24", "203.0.113.7/32", "2001:db8::/32"], { minLength: 1, maxLength: 2 }),
  ),
  fc.tuple(
    fc.constantFrom("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"),
    fc.constant("aws:SourceArn"),
    fc.subarray([`arn:aws:sqs:us-east-1:${principalAccount}:*`, "arn:aws:s3:::data", "arn:aws:s3:::*"], {
      minLength: 1,
      maxLength: 2,
    }),
  ),
  fc.tuple(
    fc.constant("Null"),
    fc.constantFrom("aws:PrincipalTag/team", "aws:SourceIp", "aws:TagKeys"),
    fc.constantFrom(["true"], ["false"]).map((v) => [...v]),
  ),
  fc.tuple(
    fc.constantFrom(
      "ForAnyValue:StringEquals",
      "ForAllValues:StringEquals",
      "ForAnyValue:StringLike",
      "ForAllValues:StringLike",
    ),
    fc.constant("aws:TagKeys"),
    fc.subarray(["env", "team", "own*"], { minLength: 1, maxLength: 2 }),
  ),
);

/** Set operators on single-valued keys, and policy variables in condition values. */
const unusualClauses: fc.Arbitrary<[string, string, string[]]> = fc.oneof(
  fc.tuple(
    fc.constantFrom("ForAnyValue:StringEquals", "ForAllValues:StringEquals", "ForAnyValue:StringLike"),
    fc.constant("aws:PrincipalTag/team"),
    fc.subarray(["red", "blue", "r*"], { minLength: 1, maxLength: 2 }),
  ),
  fc.tuple(
    fc.constantFrom("StringEquals", "StringLike", "StringNotEquals"),
    fc.constant("aws:PrincipalTag/team"),
    fc
      .constantFrom(
        [policyVariable("aws:username")],
        [`${policyVariable("aws:username")}-*`],
        [policyVariable("aws:RequestedRegion")],
      )
      .map((v) => [...v]),
  ),
  // A multivalued key without a set operator, and negated set operators.
  fc.tuple(
    fc.constantFrom(
      "StringEquals",
      "StringNotEquals",
      "ForAllValues:StringNotEquals",
      "ForAnyValue:StringNotEquals",
      "ForAnyValue:StringNotLike",
    ),
    fc.constant("aws:TagKeys"),
    fc.subarray(["env", "team", "own*"], { minLength: 1, maxLength: 2 }),
  ),
);

const conditionArbitrary: fc.Arbitrary<IamCondition | undefined> = fc.option(
  fc
    .array(fc.oneof({ weight: 6, arbitrary: conditionClauses }, { weight: 1, arbitrary: unusualClauses }), {
      minLength: 1,
      maxLength: 2,
    })
    .map((clauses) => {
      const condition: IamCondition = {};
      for (const [operator, key, values] of clauses) {
        condition[operator] = { ...condition[operator], [key]: values.length === 1 ? (values[0] as string) : values };
      }
      return condition;
    }),
  { freq: 2, nil: undefined },
);

/** The request context: every key of the vocabulary, each present or not. */
const contextArbitrary: fc.Arbitrary<Record<string, string | string[]>> = fc.record(
  {
    "aws:PrincipalTag/team": fc.constantFrom("red", "blue", "Red", "green"),
    "aws:RequestedRegion": fc.constantFrom("us-east-1", "eu-west-1"),
    // Includes values that are not of the operator's type.
    "aws:MultiFactorAuthAge": fc.constantFrom("0", "300", "3599", "86400", "299.5", "abc"),
    "aws:CurrentTime": fc.constantFrom("2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
    "aws:EpochTime": fc.constantFrom("1704067199", "1704067200"),
    "aws:SecureTransport": fc.constantFrom("true", "false", "True", "yes"),
    "aws:MultiFactorAuthPresent": fc.constantFrom("true", "false"),
    "aws:SourceIp": fc.constantFrom("10.1.2.3", "192.168.1.20", "203.0.113.7", "198.51.100.1", "2001:db8::1"),
    "aws:username": fc.constantFrom("alice", "red"),
    "aws:SourceArn": fc.constantFrom(`arn:aws:sqs:us-east-1:${principalAccount}:jobs`, "arn:aws:s3:::data"),
    "aws:TagKeys": fc.subarray(["env", "team", "owner"]),
  },
  { requiredKeys: [] },
);

function statementArbitrary(options: { principal: boolean; principalArns: string[] }): fc.Arbitrary<IamStatement> {
  const principal = options.principal
    ? fc.oneof(
        fc.constantFrom<IamStatement["Principal"]>("*", { AWS: "*" }),
        fc.constantFrom(...options.principalArns).map((arn): IamStatement["Principal"] => ({ AWS: arn })),
        fc
          .subarray(options.principalArns, { minLength: 2, maxLength: 3 })
          .map((arns): IamStatement["Principal"] => ({ AWS: arns })),
      )
    : fc.constant(undefined);
  return fc
    .record({
      effect: fc.constantFrom<"Allow" | "Deny">("Allow", "Allow", "Deny"),
      actions: fc.array(actionPatterns, { minLength: 1, maxLength: 3 }),
      useNotAction: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      resources: fc.array(resourcePatterns, { minLength: 1, maxLength: 2 }),
      useNotResource: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      condition: conditionArbitrary,
      principal,
      notPrincipal: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    })
    .map((r) => {
      const statement: IamStatement = { Effect: r.effect };
      if (r.principal !== undefined) {
        // Now and then a Deny names who it does not apply to instead.
        if (r.effect === "Deny" && r.notPrincipal && typeof r.principal === "object") {
          statement.NotPrincipal = r.principal;
        } else statement.Principal = r.principal;
      }
      const actionList = [...new Set(r.actions)];
      const actionValue = actionList.length === 1 ? (actionList[0] as string) : actionList;
      if (r.useNotAction) statement.NotAction = actionValue;
      else statement.Action = actionValue;
      const resourceList = [...new Set(r.resources)];
      const resourceValue = resourceList.length === 1 ? (resourceList[0] as string) : resourceList;
      if (r.useNotResource) statement.NotResource = resourceValue;
      else statement.Resource = resourceValue;
      if (r.condition) statement.Condition = r.condition;
      return statement;
    });
}

function policyArbitrary(options: { principal: boolean; principalArns: string[] }): fc.Arbitrary<IamPolicyDocument> {
  return fc
    .array(statementArbitrary(options), { minLength: 1, maxLength: 4 })
    .map((Statement) => ({ Version: "2012-10-17", Statement }));
}

/** Replaces the `{acct}` placeholder in every string of a policy. */
function withAccount<T>(value: T, account: string): T {
  return JSON.parse(JSON.stringify(value).replaceAll("{acct}", account)) as T;
}

/** A policy that, more often than not, starts with an allow-all statement (guardrails are mostly permissive). */
function guardPolicyArbitrary(): fc.Arbitrary<IamPolicyDocument> {
  return fc
    .tuple(policyArbitrary({ principal: false, principalArns: [] }), fc.integer({ min: 0, max: 9 }))
    .map(([policy, n]) =>
      n < 6 ? { ...policy, Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }, ...policy.Statement] } : policy,
    );
}

const resourcePolicyPrincipals = [
  userArn,
  roleArn,
  sessionArn,
  `arn:aws:iam::${principalAccount}:root`,
  principalAccount,
  `arn:aws:iam::${otherAccount}:root`,
];

/**
 * Random {@link Scenario}s. Half of the requests are aimed at an Allow statement (an action and a
 * resource its patterns match), otherwise random requests into a small policy set are nearly
 * always implicitly denied and the interesting interactions never happen.
 */
export const scenarioArbitrary: fc.Arbitrary<Scenario> = fc
  .record({
    asRole: fc.boolean(),
    crossAccount: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    resourceAccountInPatterns: fc.constantFrom(principalAccount, otherAccount),
    identityPolicies: fc.array(policyArbitrary({ principal: false, principalArns: [] }), {
      minLength: 0,
      maxLength: 3,
    }),
    permissionBoundary: fc.option(guardPolicyArbitrary(), { freq: 3, nil: undefined }),
    resourcePolicy: fc.option(policyArbitrary({ principal: true, principalArns: resourcePolicyPrincipals }), {
      freq: 2,
      nil: undefined,
    }),
    scps: fc.option(fc.array(guardPolicyArbitrary(), { minLength: 1, maxLength: 2 }), { freq: 4, nil: undefined }),
    action: fc.constantFrom(...actions),
    resource: fc.constantFrom(...resourceTemplates),
    context: contextArbitrary,
  })
  .map((r): Scenario => {
    const resourceAccount = r.crossAccount ? otherAccount : principalAccount;
    const scenario: Scenario = {
      principal: { arn: r.asRole ? sessionArn : userArn, accountId: principalAccount },
      resourceAccount,
      identityPolicies: withAccount(r.identityPolicies, r.resourceAccountInPatterns),
      request: { action: r.action, resource: r.resource.replace("{acct}", resourceAccount), context: r.context },
    };
    if (r.permissionBoundary) {
      scenario.permissionBoundary = withAccount(r.permissionBoundary, r.resourceAccountInPatterns);
    }
    if (r.resourcePolicy) scenario.resourcePolicy = withAccount(r.resourcePolicy, resourceAccount);
    if (r.scps) scenario.scps = withAccount(r.scps, r.resourceAccountInPatterns);
    return scenario;
  })
  .chain((scenario) => {
    const targets = [...scenario.identityPolicies, ...(scenario.resourcePolicy ? [scenario.resourcePolicy] : [])]
      .flatMap((p) => p.Statement)
      .filter((st) => st.Effect === "Allow")
      .map((st) => ({
        actions: matching(actions, st.Action, "i"),
        resources: matching(concreteResources(scenario), st.Resource, ""),
      }))
      .filter((t) => t.actions.length > 0 && t.resources.length > 0);
    if (targets.length === 0) return fc.constant(scenario);
    return fc.tuple(fc.boolean(), fc.constantFrom(...targets), fc.nat(), fc.nat()).map(([aim, target, a, r]) =>
      aim
        ? {
            ...scenario,
            request: {
              ...scenario.request,
              action: target.actions[a % target.actions.length] as string,
              resource: target.resources[r % target.resources.length] as string,
            },
          }
        : scenario,
    );
  });

function concreteResources(scenario: Scenario): string[] {
  return resourceTemplates.map((t) => t.replace("{acct}", scenario.resourceAccount));
}

/** The values among `candidates` that one of `patterns` matches, as a plain glob (bias only, not an oracle). */
function matching(candidates: readonly string[], patterns: string | string[] | undefined, flags: string): string[] {
  if (patterns === undefined) return [];
  const res = (typeof patterns === "string" ? [patterns] : patterns).map((p) => globToRegExp(p, flags));
  return candidates.filter((c) => res.some((re) => re.test(c)));
}

/** Gatehouse's answer. */
export function decideWithGatehouse(s: Scenario): Decision {
  const doc = (p: IamPolicyDocument) => p as unknown as Record<string, unknown>;
  return evaluate(
    {
      identityPolicies: s.identityPolicies.map(doc),
      ...(s.resourcePolicy ? { resourcePolicy: doc(s.resourcePolicy) } : {}),
      ...(s.permissionBoundary ? { permissionBoundary: doc(s.permissionBoundary) } : {}),
      ...(s.scps ? { guardrails: s.scps.map(doc) } : {}),
    },
    s.principal,
    { ...s.request, resourceAccount: s.resourceAccount },
  ).decision;
}

/** iam-simulate's answer, through its non-validating entry point (the request context as given). */
export function decideWithIamSimulate(s: Scenario): Decision {
  const simulation: Simulation = {
    request: {
      principal: s.principal.arn,
      action: s.request.action,
      resource: { resource: s.request.resource, accountId: s.resourceAccount },
      contextVariables: s.request.context,
    },
    identityPolicies: s.identityPolicies.map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: s.scps
      ? [{ orgIdentifier: "ou-gatehouse", policies: s.scps.map((policy, i) => ({ name: `scp-${i}`, policy })) }]
      : [],
    resourceControlPolicies: [],
  };
  if (s.resourcePolicy) {
    // runUnsafeSimulation loads the resource policy without a name and then crashes reading it
    // (iam-simulate 0.1.173, `resourcePolicy.metadata().name`). A pre-validated policy in
    // @cloud-copilot/iam-policy's ValidatedPolicy shape carries its metadata along.
    simulation.resourcePolicy = {
      __validated: true,
      policyDocument: s.resourcePolicy,
      metadata: { name: "resource-policy" },
      errors: [],
    };
  }
  if (s.permissionBoundary)
    simulation.permissionBoundaryPolicies = [{ name: "boundary", policy: s.permissionBoundary }];
  return fromIamSimulate(runUnsafeSimulation(simulation, {}));
}
