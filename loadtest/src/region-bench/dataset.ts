// The region bench's dataset, created through the control plane's signed gRPC API like any
// tenant's: per account, managed policies, a permissions boundary, groups with attached and inline
// policies, users in one or two groups (tags; some with inline policies, some bounded) and a role.
// And the Authorize requests the bench sends about it.
import { createSigningInterceptor } from "@gatehouse/auth";
import { AuthorizeRequest, ControlServiceClient, ControlServiceService, EntityType } from "@gatehouse/proto";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";

/** SigV4 credentials. */
export interface Creds {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A signed control-plane client (grpc-js, with the SDK's signing interceptor). */
export interface ControlClient {
  // biome-ignore lint/suspicious/noExplicitAny: bench responses are only read for a few fields
  call(method: string, request: object): Promise<any>;
  close(): void;
}

const methods = ControlServiceService as unknown as Record<string, { requestDeserialize(b: Buffer): object }>;

/** A control-plane client signing as `creds`. */
export function controlClient(address: string, creds: Creds): ControlClient {
  const c = new ControlServiceClient(address, credentials.createInsecure(), {
    interceptors: [createSigningInterceptor({ credentials: creds, authority: address })],
  });
  type Unary = Record<string, (r: object, m: Metadata, cb: (e: ServiceError | null, v: unknown) => void) => void>;
  return {
    call(method, request) {
      const full = { ...methods[method]?.requestDeserialize(Buffer.alloc(0)), ...request };
      return new Promise((res, rej) =>
        (c as unknown as Unary)[method]?.(full, new Metadata(), (e, v) => (e === null ? res(v) : rej(e))),
      );
    },
    close: () => c.close(),
  };
}

/** One account of the dataset. */
export interface BenchAccount {
  readonly accountId: string;
  readonly creds: Creds;
  readonly users: readonly string[];
  readonly roleArn: string;
}

const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

function accountPolicies(accountId: string) {
  return {
    "s3-read": doc({
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:ListBucket"],
      Resource: ["arn:aws:s3:::data-*", "arn:aws:s3:::data-*/*"],
    }),
    "own-prefix": doc({
      Effect: "Allow",
      Action: "s3:PutObject",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, literal ${…} text
      Resource: "arn:aws:s3:::data-*/${aws:username}/*",
      Condition: { Bool: { "aws:SecureTransport": "true" } },
    }),
    tables: doc({
      Effect: "Allow",
      Action: ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
      Resource: `arn:aws:dynamodb:*:${accountId}:table/app-*`,
    }),
    queues: doc({ Effect: "Allow", Action: "sqs:*", Resource: `arn:aws:sqs:*:${accountId}:queue-*` }),
    "no-deletes": doc({ Effect: "Deny", Action: ["s3:DeleteObject", "dynamodb:DeleteItem"], Resource: "*" }),
    "from-office": doc({
      Effect: "Deny",
      Action: "kms:*",
      Resource: "*",
      Condition: { NotIpAddress: { "aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"] } },
    }),
  };
}
const BOUNDARY = doc({
  Effect: "Allow",
  Action: ["s3:*", "dynamodb:*", "sqs:SendMessage", "kms:Decrypt"],
  Resource: "*",
});
const GROUPS: Record<string, { attached: string[]; inline: string }> = {
  readers: {
    attached: ["s3-read"],
    inline: doc({ Effect: "Allow", Action: "sns:Publish", Resource: "arn:aws:sns:*:*:events-*" }),
  },
  writers: {
    attached: ["own-prefix", "queues"],
    inline: doc({ Effect: "Allow", Action: "kms:Decrypt", Resource: "*" }),
  },
  ops: {
    attached: ["tables", "no-deletes", "from-office"],
    inline: doc({ Effect: "Deny", Action: "iam:*", Resource: "*" }),
  },
};
const GROUP_NAMES = Object.keys(GROUPS);
const userInline = doc({
  Effect: "Allow",
  Action: "kms:Decrypt",
  Resource: "*",
  Condition: { StringEquals: { "aws:PrincipalTag/team": ["t0", "t1"] } },
});

/** Runs `fns` with at most `limit` in flight. */
async function pooled<T>(limit: number, fns: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(fns.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, fns.length) }, async () => {
      while (next < fns.length) {
        const i = next++;
        out[i] = await (fns[i] as () => Promise<T>)();
      }
    }),
  );
  return out;
}

/** Creates the dataset: `accounts` accounts of `usersPerAccount` users each; returns what it made and how many writes. */
export async function createDataset(
  address: string,
  operator: Creds,
  accounts: number,
  usersPerAccount: number,
): Promise<{ accounts: BenchAccount[]; writes: number }> {
  const op = controlClient(address, operator);
  let writes = 0;
  const made = await pooled(
    4,
    Array.from({ length: accounts }, () => async (): Promise<BenchAccount> => {
      const a = await op.call("createAccount", {});
      writes++;
      const creds = { accessKeyId: a.rootAccessKeyId, secretAccessKey: a.rootSecretAccessKey };
      const c = controlClient(address, creds);
      const call = async (method: string, request: object) => {
        writes++;
        return c.call(method, request);
      };
      const arns: Record<string, string> = {};
      for (const [name, document] of Object.entries(accountPolicies(a.accountId))) {
        arns[name] = (await call("createPolicy", { policyName: name, policyDocument: document })).policy.arn;
      }
      const boundaryArn = (await call("createPolicy", { policyName: "boundary", policyDocument: BOUNDARY })).policy.arn;
      for (const [group, g] of Object.entries(GROUPS)) {
        await call("createGroup", { groupName: group });
        for (const p of g.attached) {
          await call("attachPolicy", {
            entityType: EntityType.ENTITY_TYPE_GROUP,
            entityName: group,
            policyArn: arns[p],
          });
        }
        await call("putInlinePolicy", {
          entityType: EntityType.ENTITY_TYPE_GROUP,
          entityName: group,
          policyName: "inline",
          policyDocument: g.inline,
        });
      }
      const users = Array.from({ length: usersPerAccount }, (_, i) => `u-${i}`);
      await pooled(
        8,
        users.map((userName, i) => async () => {
          const user = { entityType: EntityType.ENTITY_TYPE_USER, entityName: userName };
          await call("createUser", {
            userName,
            tags: [
              { key: "team", value: `t${i % 4}` },
              { key: "tier", value: i % 2 === 0 ? "gold" : "silver" },
            ],
            ...(i % 4 === 0 ? { permissionsBoundaryArn: boundaryArn } : {}),
          });
          await call("addUserToGroup", { groupName: GROUP_NAMES[i % 3], userName });
          if (i % 2 === 0) await call("addUserToGroup", { groupName: GROUP_NAMES[(i + 1) % 3], userName });
          await call("attachPolicy", { ...user, policyArn: arns[i % 2 === 0 ? "queues" : "tables"] });
          if (i % 3 === 0) await call("putInlinePolicy", { ...user, policyName: "kms", policyDocument: userInline });
        }),
      );
      const role = await call("createRole", {
        roleName: "app",
        assumeRolePolicyDocument: doc({
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${a.accountId}:root` },
          Action: "sts:AssumeRole",
        }),
        tags: [{ key: "team", value: "t0" }],
      });
      const roleEntity = { entityType: EntityType.ENTITY_TYPE_ROLE, entityName: "app" };
      await call("attachPolicy", { ...roleEntity, policyArn: arns["s3-read"] });
      await call("attachPolicy", { ...roleEntity, policyArn: arns.tables });
      await call("putInlinePolicy", { ...roleEntity, policyName: "kms", policyDocument: userInline });
      c.close();
      return { accountId: a.accountId, creds, users, roleArn: role.role.arn };
    }),
  );
  op.close();
  return { accounts: made, writes };
}

/** Deterministic pseudo-random numbers (mulberry32), so every run asks the same questions. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every principal of the dataset by ARN, with its account. */
export function principalsOf(accounts: readonly BenchAccount[]): { arn: string; accountId: string; name: string }[] {
  return accounts.flatMap((a) => [
    ...a.users.map((u) => ({ arn: `arn:aws:iam::${a.accountId}:user/${u}`, accountId: a.accountId, name: u })),
    { arn: a.roleArn, accountId: a.accountId, name: "app" },
  ]);
}

const EMPTY: AuthorizeRequest = AuthorizeRequest.fromPartial({});

/**
 * An Authorize request about `principal`, the `n`th of the mix (allowed, implicitly and explicitly
 * denied). With `object`, its S3 reads and deletes name that one of 16 report objects (as a
 * service's checks name different objects); else always the same one. (A stored resource policy
 * is looked up per exact ARN and remembered for 10,000 ARNs: endless distinct objects would
 * measure Redis reads, not decisions.)
 */
export function authorizeRequest(
  principal: { arn: string; accountId: string; name: string },
  n: number,
  object?: number,
): AuthorizeRequest {
  const acct = principal.accountId;
  const report = object === undefined ? "q3.csv" : `r-${object % 16}.csv`;
  const questions: [string, string][] = [
    ["s3:GetObject", `arn:aws:s3:::data-1/reports/${report}`],
    ["s3:PutObject", `arn:aws:s3:::data-1/${principal.name}/upload.bin`],
    ["s3:DeleteObject", `arn:aws:s3:::data-1/reports/${report}`],
    ["dynamodb:GetItem", `arn:aws:dynamodb:us-east-1:${acct}:table/app-orders`],
    ["sqs:SendMessage", `arn:aws:sqs:us-east-1:${acct}:queue-jobs`],
    ["kms:Decrypt", `arn:aws:kms:us-east-1:${acct}:key/1234abcd-12ab-34cd-56ef-1234567890ab`],
    ["sns:Publish", `arn:aws:sns:us-east-1:${acct}:events-orders`],
    ["ec2:RunInstances", `arn:aws:ec2:us-east-1:${acct}:instance/*`],
  ];
  const [action, resource] = questions[n % questions.length] as [string, string];
  return {
    ...EMPTY,
    principal: { kind: { $case: "arn", value: principal.arn } },
    action,
    resource,
    context: {
      "aws:SourceIp": { kind: { $case: "stringValue", value: n % 5 === 0 ? "203.0.113.7" : "10.1.2.3" } },
      "aws:SecureTransport": { kind: { $case: "boolValue", value: n % 7 !== 0 } },
    },
    correlationId: `c${n}`,
  };
}
