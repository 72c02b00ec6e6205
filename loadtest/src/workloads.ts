/**
 * Deterministic (seeded) policy workloads for the policy benchmark: one principal's identity
 * policies plus a request mix. The same workload is fed to every engine, so the vocabulary sticks
 * to what all three can express identically (see `cedar-translate.ts`): `*` wildcards only (no `?`),
 * resource wildcards that never need to span an ARN's `:` separators, and condition operators whose
 * missing-key behaviour is written down in the AWS condition-operator reference.
 */

/** The benchmark's synthetic principal sizes. */
export type SyntheticWorkloadName = "small" | "typical" | "large";

/** The principals carrying real AWS managed policies (`managed-workloads.ts`). */
export type ManagedWorkloadName = "aws-developer" | "aws-poweruser";

/** Every workload of the benchmark. */
export type WorkloadName = SyntheticWorkloadName | ManagedWorkloadName;

/** How a workload is generated. */
export interface WorkloadShape {
  /** Number of identity policies. */
  policies: number;
  /** Total statements across all policies. */
  statements: number;
  /** Probability that a statement is a Deny. */
  denyRate: number;
  /** Probability that an action or resource entry is a wildcard pattern rather than exact. */
  wildcardRate: number;
  /** Probability that a statement carries a Condition block. */
  conditionRate: number;
  /** Probability that a statement uses NotAction instead of Action. */
  notActionRate: number;
}

/** The three principals of the benchmark (issue #3): 3/10, 10/100 and 20/500 policies/statements. */
export const workloadShapes: Readonly<Record<SyntheticWorkloadName, WorkloadShape>> = Object.freeze({
  small: { policies: 3, statements: 10, denyRate: 0.1, wildcardRate: 0.2, conditionRate: 0.1, notActionRate: 0 },
  typical: { policies: 10, statements: 100, denyRate: 0.1, wildcardRate: 0.3, conditionRate: 0.3, notActionRate: 0 },
  large: { policies: 20, statements: 500, denyRate: 0.08, wildcardRate: 0.5, conditionRate: 0.5, notActionRate: 0.02 },
});

/** A condition block: operator → key → values. */
export type IamCondition = Record<string, Record<string, string | string[]>>;

/** An identity-policy statement as it appears in a JSON policy document. */
export interface IamStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: "*" | { AWS: string | string[] };
  NotPrincipal?: { AWS: string | string[] };
  Condition?: IamCondition;
}

/** A JSON policy document. */
export interface IamPolicyDocument {
  Version: "2012-10-17";
  Statement: IamStatement[];
}

/** One request of the mix. Context values are strings or string arrays, as AWS sends them. */
export interface WorkloadRequest {
  /** The request class, for counting exclusions (real-world workloads only). */
  kind?: string;
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

/** A principal with its policies and the requests to ask about it. */
export interface Workload {
  name: WorkloadName;
  seed: number;
  principal: { arn: string; accountId: string };
  policies: IamPolicyDocument[];
  requests: WorkloadRequest[];
  /** For real-world workloads: the AWS managed policies, in the order of `policies`. */
  policyNames?: string[];
  /** For real-world workloads: requests drawn but left out, by class (see `managed-workloads.ts`). */
  excluded?: Record<string, number>;
}

/** The account every workload principal and resource lives in. */
export const accountId = "111122223333";

/** Services, their actions, and the resource ARN shapes they act on. */
export const services = {
  s3: {
    actions: ["GetObject", "PutObject", "DeleteObject", "GetObjectTagging", "PutObjectTagging", "GetObjectAcl"],
    // S3 object ARNs have empty region and account segments.
    resource: (bucket: string, rest: string) => `arn:aws:s3:::${bucket}/${rest}`,
    names: ["data-0", "data-1", "data-2", "data-3", "logs-0", "logs-1", "backup"],
    paths: ["home/alice/report.csv", "home/bob/notes.txt", "shared/team.json", "tmp/x", "reports/2024/q1.pdf"],
  },
  dynamodb: {
    actions: ["GetItem", "PutItem", "DeleteItem", "UpdateItem", "Query", "Scan", "BatchGetItem"],
    resource: (region: string, table: string) => `arn:aws:dynamodb:${region}:${accountId}:table/${table}`,
    names: ["orders", "users", "events-0", "events-1", "events-2", "sessions"],
    paths: [],
  },
  sqs: {
    actions: ["SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "PurgeQueue"],
    resource: (region: string, queue: string) => `arn:aws:sqs:${region}:${accountId}:${queue}`,
    names: ["jobs", "jobs-dlq", "events", "audit", "mail-out"],
    paths: [],
  },
  lambda: {
    actions: ["InvokeFunction", "GetFunction", "UpdateFunctionCode", "DeleteFunction"],
    resource: (region: string, fn: string) => `arn:aws:lambda:${region}:${accountId}:function:${fn}`,
    names: ["api", "api-staging", "worker", "resize-image", "cron-nightly"],
    paths: [],
  },
  ec2: {
    actions: ["DescribeInstances", "StartInstances", "StopInstances", "TerminateInstances", "RebootInstances"],
    resource: (region: string, id: string) => `arn:aws:ec2:${region}:${accountId}:instance/${id}`,
    names: ["i-0a1b2c3d", "i-0e5f6a7b", "i-0c8d9e0f", "i-01234567"],
    paths: [],
  },
} as const;

/** A service of the vocabulary. */
export type ServiceName = keyof typeof services;
export const serviceNames = Object.keys(services) as ServiceName[];
export const regions = ["us-east-1", "us-west-2", "eu-west-1"] as const;

/**
 * The request-context keys of the vocabulary and how each is typed. The type drives the Cedar
 * encoding of request values (`ip(...)`, Long, Boolean, Set) and which operators apply.
 */
export const contextKeys = {
  "aws:RequestedRegion": { type: "string", values: [...regions] },
  "aws:PrincipalTag/team": { type: "string", values: ["red", "blue", "green"] },
  "aws:ResourceTag/env": { type: "string", values: ["prod", "dev", "test"] },
  "aws:SourceIp": { type: "ip", values: ["10.1.2.3", "10.200.0.9", "192.168.1.20", "203.0.113.7"] },
  "aws:SecureTransport": { type: "bool", values: ["true", "false"] },
  "aws:MultiFactorAuthAge": { type: "long", values: ["0", "60", "900", "3600", "86400"] },
  "aws:TagKeys": { type: "set", values: ["env", "team", "owner", "cost-center"] },
} as const;

/** A context key of the vocabulary. */
export type ContextKeyName = keyof typeof contextKeys;
export type ContextKeyType = (typeof contextKeys)[ContextKeyName]["type"];

/**
 * Service-specific keys that the real AWS managed policies of `managed-workloads.ts` test, all
 * single-valued strings. Kept apart from {@link contextKeys} so the synthetic workloads (which draw
 * from that table) stay what they were.
 */
export const serviceContextKeys = {
  "iam:PassedToService": { type: "string", values: ["lambda.amazonaws.com", "dax.amazonaws.com", "ec2.amazonaws.com"] },
  "iam:AWSServiceName": {
    type: "string",
    values: ["lambda.amazonaws.com", "dax.amazonaws.com", "autoscaling.amazonaws.com", "rds.amazonaws.com"],
  },
  "s3express:SessionMode": { type: "string", values: ["ReadOnly", "ReadWrite"] },
} as const;

/** Looks a context key up case-insensitively (IAM condition keys are case-insensitive). */
export function contextKeyType(key: string): ContextKeyType | undefined {
  const lower = key.toLowerCase();
  for (const [name, spec] of Object.entries(contextKeys)) if (name.toLowerCase() === lower) return spec.type;
  for (const [name, spec] of Object.entries(serviceContextKeys)) if (name.toLowerCase() === lower) return spec.type;
  return undefined;
}

/**
 * A small, fast, seedable PRNG (mulberry32). `Math.random` cannot be seeded, and the benchmark
 * must feed every engine, on every run, the same inputs.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  /** `k` distinct items in random order (all of them if `k` ≥ length). */
  sample<T>(items: readonly T[], k: number): T[];
}

/** Creates a {@link Rng} from a 32-bit seed. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[int(items.length)] as T;
  };
  return {
    next,
    int,
    pick,
    chance: (p) => next() < p,
    sample: <T>(items: readonly T[], k: number): T[] => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
      }
      return copy.slice(0, k);
    },
  };
}

/** Options of {@link createWorkload}. */
export interface WorkloadOptions {
  /** Defaults to a fixed per-workload seed, so runs are comparable. */
  seed?: number;
  /** Size of the request mix; defaults to 1000. */
  requests?: number;
}

const defaultSeeds: Record<SyntheticWorkloadName, number> = {
  small: 0x5eed_0001,
  typical: 0x5eed_0002,
  large: 0x5eed_0003,
};

/**
 * Builds one benchmark workload. About 70% of the requests are aimed at a statement (an action and
 * resource its patterns match, so allows, denies and condition outcomes all occur); the rest are
 * random.
 *
 * @example
 * const w = createWorkload("typical");
 * w.policies.length === 10; // 100 statements in total
 */
export function createWorkload(name: SyntheticWorkloadName, options: WorkloadOptions = {}): Workload {
  const seed = options.seed ?? defaultSeeds[name];
  const shape = workloadShapes[name];
  const rng = createRng(seed);
  const statements: IamStatement[] = [];
  for (let i = 0; i < shape.statements; i++) statements.push(generateStatement(rng, shape, i));
  // Spread the statements over the policies as evenly as their count allows.
  const policies: IamPolicyDocument[] = [];
  for (let p = 0; p < shape.policies; p++) {
    const from = Math.floor((p * shape.statements) / shape.policies);
    const to = Math.floor(((p + 1) * shape.statements) / shape.policies);
    policies.push({ Version: "2012-10-17", Statement: statements.slice(from, to) });
  }
  const requests: WorkloadRequest[] = [];
  const count = options.requests ?? 1000;
  for (let i = 0; i < count; i++) {
    const aimed = rng.chance(0.7) ? rng.pick(statements) : undefined;
    requests.push(generateRequest(rng, aimed));
  }
  return {
    name,
    seed,
    principal: { arn: `arn:aws:iam::${accountId}:user/bench-${name}`, accountId },
    policies,
    requests,
  };
}

function generateStatement(rng: Rng, shape: WorkloadShape, index: number): IamStatement {
  const service = rng.pick(serviceNames);
  const effect: IamStatement["Effect"] = rng.chance(shape.denyRate) ? "Deny" : "Allow";
  // Denies are targeted, as in real policies: never the bare `*` action or resource, which would
  // deny nearly every request and flatten the mix.
  const avoidStar = (make: () => string) => {
    let value = make();
    while (effect === "Deny" && value === "*") value = make();
    return value;
  };
  const wildcardRate = effect === "Deny" ? shape.wildcardRate / 4 : shape.wildcardRate;
  const actions = Array.from({ length: 1 + rng.int(3) }, () =>
    avoidStar(() => actionPattern(rng, service, wildcardRate)),
  );
  const resources = Array.from({ length: 1 + rng.int(2) }, () =>
    avoidStar(() => resourcePattern(rng, service, wildcardRate)),
  );
  const statement: IamStatement = { Sid: `S${index}`, Effect: effect };
  // NotAction only on Allow: a Deny with NotAction would deny nearly everything and flatten the mix.
  if (effect === "Allow" && rng.chance(shape.notActionRate)) statement.NotAction = unique(actions);
  else statement.Action = unwrap(unique(actions));
  statement.Resource = unwrap(unique(resources));
  if (rng.chance(shape.conditionRate)) {
    const condition: IamCondition = {};
    const count = 1 + rng.int(2);
    for (let i = 0; i < count; i++) {
      const [operator, key, values] = conditionClause(rng);
      condition[operator] = { ...condition[operator], [key]: unwrap(values) };
    }
    statement.Condition = condition;
  }
  return statement;
}

function actionPattern(rng: Rng, service: ServiceName, wildcardRate: number): string {
  const action = rng.pick(services[service].actions);
  if (!rng.chance(wildcardRate)) return `${service}:${action}`;
  switch (rng.int(4)) {
    case 0:
      return `${service}:*`;
    case 1:
      // A verb prefix: s3:Get*, dynamodb:Put*.
      return `${service}:${action.match(/^[A-Z][a-z]+/)?.[0] ?? action}*`;
    case 2:
      // A noun suffix: dynamodb:*Item, ec2:*Instances.
      return `${service}:*${action.replace(/^[A-Z][a-z]+/, "")}`;
    default:
      return rng.chance(0.03) ? "*" : `${service}:${action.slice(0, 1 + rng.int(action.length - 1))}*`;
  }
}

function resourcePattern(rng: Rng, service: ServiceName, wildcardRate: number): string {
  const spec = services[service];
  const name = rng.pick(spec.names);
  if (service === "s3") {
    const path = rng.pick(spec.paths);
    if (!rng.chance(wildcardRate)) return spec.resource(name, path);
    switch (rng.int(4)) {
      case 0:
        return spec.resource(name, "*");
      case 1:
        return spec.resource(name, `${path.split("/")[0]}/*`);
      case 2:
        return spec.resource(`${name.replace(/-\d+$/, "")}-*`, "*");
      default:
        return rng.chance(0.3) ? "*" : `arn:aws:s3:::*/${path.split("/")[0]}/*`;
    }
  }
  const region = rng.pick(regions);
  if (!rng.chance(wildcardRate)) return spec.resource(region, name);
  switch (rng.int(4)) {
    case 0:
      return spec.resource(region, "*");
    case 1:
      return spec.resource("*", name);
    case 2:
      return spec.resource(region, `${name.slice(0, 2)}*`);
    default:
      return rng.chance(0.3) ? "*" : spec.resource("*", "*");
  }
}

/** One random condition clause over the vocabulary: [operator, key, values]. */
function conditionClause(rng: Rng): [string, string, string[]] {
  const some = (key: ContextKeyName, max = 2) => rng.sample(contextKeys[key].values, 1 + rng.int(max));
  switch (rng.int(12)) {
    case 0:
      return ["StringEquals", "aws:RequestedRegion", some("aws:RequestedRegion")];
    case 1:
      return ["StringNotEquals", "aws:ResourceTag/env", some("aws:ResourceTag/env", 1)];
    case 2:
      return ["StringLike", "aws:PrincipalTag/team", [rng.pick(["r*", "*e*", "gr*n", "blue"])]];
    case 3:
      return ["StringEqualsIfExists", "aws:ResourceTag/env", some("aws:ResourceTag/env")];
    case 4:
      return ["IpAddress", "aws:SourceIp", rng.sample(["10.0.0.0/8", "192.168.1.0/24", "10.1.0.0/16"], 1 + rng.int(2))];
    case 5:
      return ["NotIpAddress", "aws:SourceIp", ["203.0.113.0/24"]];
    case 6:
      return ["Bool", "aws:SecureTransport", [rng.pick(["true", "false"])]];
    case 7:
      return ["NumericLessThan", "aws:MultiFactorAuthAge", [rng.pick(["300", "3600"])]];
    case 8:
      return ["NumericGreaterThanEquals", "aws:MultiFactorAuthAge", [rng.pick(["60", "900"])]];
    case 9:
      return ["Null", "aws:ResourceTag/env", [rng.pick(["true", "false"])]];
    case 10:
      return ["ForAnyValue:StringEquals", "aws:TagKeys", some("aws:TagKeys")];
    default:
      return ["ForAllValues:StringEquals", "aws:TagKeys", some("aws:TagKeys", 3)];
  }
}

function generateRequest(rng: Rng, aimed: IamStatement | undefined): WorkloadRequest {
  let action: string;
  let resource: string;
  if (aimed) {
    action = instantiateAction(rng, rng.pick(toList(aimed.Action ?? aimed.NotAction)));
    resource = instantiateResource(rng, rng.pick(toList(aimed.Resource)));
  } else if (rng.chance(0.3)) {
    // A service no statement names: only a bare `*` action can grant it.
    action = rng.pick(["sns:Publish", "sns:Subscribe", "sns:DeleteTopic"]);
    resource = `arn:aws:sns:${rng.pick(regions)}:${accountId}:${rng.pick(["alerts", "billing", "deploys"])}`;
  } else {
    const service = rng.pick(serviceNames);
    action = `${service}:${rng.pick(services[service].actions)}`;
    resource = concreteResource(rng, service);
  }
  const context: Record<string, string | string[]> = {};
  for (const [key, spec] of Object.entries(contextKeys)) {
    if (!rng.chance(0.6)) continue;
    context[key] = spec.type === "set" ? rng.sample(spec.values, rng.int(3)) : rng.pick(spec.values);
  }
  return { action, resource, context };
}

/** A concrete action that `pattern` matches (for `*`, any action of the vocabulary). */
function instantiateAction(rng: Rng, pattern: string): string {
  const all = serviceNames.flatMap((s) => services[s].actions.map((a) => `${s}:${a}`));
  const re = globToRegExp(pattern, "i");
  const matching = all.filter((a) => re.test(a));
  return matching.length > 0 ? rng.pick(matching) : rng.pick(all);
}

/** A concrete ARN that `pattern` matches: every `*` becomes a token without `:`. */
function instantiateResource(rng: Rng, pattern: string): string {
  if (pattern === "*") return concreteResource(rng, rng.pick(serviceNames));
  return pattern.replace(/\*/g, () => rng.pick(["x", "7", "alice/report.csv", "prod-eu", regions[rng.int(3)] ?? ""]));
}

function concreteResource(rng: Rng, service: ServiceName): string {
  const spec = services[service];
  if (service === "s3") return spec.resource(rng.pick(spec.names), rng.pick(services.s3.paths));
  return spec.resource(rng.pick(regions), rng.pick(spec.names));
}

/** IAM glob (`*`, `?`) to an anchored RegExp. */
export function globToRegExp(glob: string, flags = ""): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, flags);
}

/** An IAM element's values as a list (`"x"` → `["x"]`). */
export function toList(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === "string" ? [value] : [...value];
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function unwrap(values: string[]): string | string[] {
  return values.length === 1 ? (values[0] as string) : values;
}
