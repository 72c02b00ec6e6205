// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text
/**
 * The load-test population, as data: per account, customer managed policies, groups with managed
 * and inline policies, users (tags, groups, a permissions boundary on some, an inline policy on
 * some) and roles with trust policies; and the mix of checks the harness asks about them. Pure:
 * the loader sends it through the SDK, the oracle and the samplers read it.
 */

/** A policy document. */
export type PolicyDoc = { Version: "2012-10-17"; Statement: Record<string, unknown>[] };
const doc = (...Statement: Record<string, unknown>[]): string => JSON.stringify({ Version: "2012-10-17", Statement });

/** Services a developer may use; the boundary denies everything else with `NotAction`. */
const DATA_SERVICES = ["s3:*", "sqs:*", "dynamodb:*", "logs:*"];
/** Teams users are tagged with (`team`), used by `${aws:PrincipalTag/team}` in resources. */
export const TEAMS = ["red", "blue", "green", "gold", "teal"] as const;

/** A customer managed policy of every account (name → document). */
export const MANAGED_POLICIES: Readonly<Record<string, string>> = {
  LtHomePrefix: doc({
    Sid: "OwnHome",
    Effect: "Allow",
    Action: ["s3:Get*", "s3:PutObject"],
    Resource: "arn:aws:s3:::lt-data/home/${aws:username}/*",
  }),
  LtDeveloperBoundary: doc(
    { Sid: "DataServices", Effect: "Allow", Action: DATA_SERVICES, Resource: "*" },
    { Sid: "NothingElse", Effect: "Deny", NotAction: DATA_SERVICES, Resource: "*" },
  ),
  LtTeamTables: doc({
    Sid: "TeamTablesInHomeRegions",
    Effect: "Allow",
    Action: ["dynamodb:GetItem", "dynamodb:Query"],
    Resource: "arn:aws:dynamodb:*:*:table/${aws:PrincipalTag/team}-*",
    Condition: { StringEquals: { "aws:RequestedRegion": ["us-east-1", "eu-west-1"] } },
  }),
  LtOperations: doc(
    { Sid: "Describe", Effect: "Allow", Action: ["ec2:Describe*", "cloudwatch:Get*"], Resource: "*" },
    {
      Sid: "TerminateNeedsMfa",
      Effect: "Deny",
      Action: "ec2:TerminateInstances",
      Resource: "*",
      Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } },
    },
  ),
};

/** A group: managed policies attached, inline policies (name → document with `{account}`). */
export interface GroupPlan {
  readonly name: string;
  readonly managed: readonly string[];
  readonly inline: Readonly<Record<string, string>>;
}

export const GROUPS: readonly GroupPlan[] = [
  {
    name: "developers",
    managed: ["LtHomePrefix", "LtTeamTables"],
    inline: {
      "app-logs": doc({
        Effect: "Allow",
        Action: "logs:*",
        Resource: "arn:aws:logs:*:{account}:log-group:/app/*",
      }),
    },
  },
  {
    name: "operators",
    managed: ["LtOperations"],
    inline: {
      "no-iam-but-self": doc({
        Effect: "Deny",
        Action: "iam:*",
        NotResource: "arn:aws:iam::{account}:user/${aws:username}",
      }),
    },
  },
  {
    name: "readers",
    managed: [],
    inline: {
      shared: doc({
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:ListBucket"],
        Resource: ["arn:aws:s3:::lt-shared", "arn:aws:s3:::lt-shared/*"],
        Condition: { StringLikeIfExists: { "s3:prefix": ["public/*", ""] } },
      }),
    },
  },
];

/** The queue inline policy some users carry (a policy variable after the fifth colon). */
export const USER_QUEUE_POLICY = doc({
  Effect: "Allow",
  Action: ["sqs:SendMessage", "sqs:ReceiveMessage"],
  Resource: "arn:aws:sqs:*:{account}:q-${aws:PrincipalTag/team}-*",
});

/** One user of an account, derived from its index. */
export interface UserPlan {
  readonly name: string;
  readonly team: string;
  readonly groups: readonly string[];
  readonly boundary: boolean;
  readonly queuePolicy: boolean;
}

/** The `i`-th user of an account: groups by index, a boundary on every 4th, a queue policy on every 5th. */
export function userPlan(i: number): UserPlan {
  const groups = [GROUPS[i % 3]?.name as string];
  if (i % 7 === 0) groups.push("readers");
  return {
    name: `user-${i}`,
    team: TEAMS[i % TEAMS.length] as string,
    groups: [...new Set(groups)],
    boundary: i % 4 === 1,
    queuePolicy: i % 5 === 2,
  };
}

/** Roles of every account: trust policy, managed policies, an inline policy. */
export const ROLES = [
  {
    name: "app-server",
    trust: doc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }),
    managed: ["LtTeamTables"],
    inline: doc({ Effect: "Allow", Action: "sqs:*", Resource: "arn:aws:sqs:*:{account}:app-*" }),
  },
  {
    name: "deployer",
    trust: doc({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::{account}:root" }, Action: "sts:AssumeRole" }),
    managed: ["LtOperations"],
    inline: doc({ Effect: "Allow", NotAction: ["iam:*", "organizations:*"], Resource: "*" }),
  },
] as const;

/** Replaces `{account}` in a document. */
export const forAccount = (text: string, accountId: string): string => text.replaceAll("{account}", accountId);

/** A check the harness asks: principal, action, resource, caller context. */
export interface CheckPlan {
  readonly principalArn: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
}

/**
 * The `k`-th check of the mix for a user or role of an account (`pick` in [0, 1) chooses the
 * principal and the question): allowed and denied answers from every template.
 */
export function checkPlan(accountId: string, users: number, k: number, pick: number): CheckPlan {
  const roleTurn = k % 10 === 9;
  if (roleTurn) {
    const role = ROLES[k % 2] as (typeof ROLES)[number];
    const arn = `arn:aws:iam::${accountId}:role/${role.name}`;
    const q = [
      { action: "sqs:SendMessage", resource: `arn:aws:sqs:us-east-1:${accountId}:app-orders` },
      { action: "dynamodb:Query", resource: `arn:aws:dynamodb:us-east-1:${accountId}:table/red-x` },
      { action: "iam:CreateUser", resource: `arn:aws:iam::${accountId}:user/x` },
      { action: "ec2:TerminateInstances", resource: "*" },
    ][Math.floor(pick * 4)] as { action: string; resource: string };
    return { principalArn: arn, ...q };
  }
  const i = Math.floor(pick * users);
  const u = userPlan(i);
  const other = userPlan((i + 1) % users);
  const arn = `arn:aws:iam::${accountId}:user/${u.name}`;
  const mix: Omit<CheckPlan, "principalArn">[] = [
    { action: "s3:GetObject", resource: `arn:aws:s3:::lt-data/home/${u.name}/q3.csv` },
    { action: "s3:GetObject", resource: `arn:aws:s3:::lt-data/home/${other.name}/q3.csv` },
    { action: "dynamodb:Query", resource: `arn:aws:dynamodb:us-east-1:${accountId}:table/${u.team}-orders` },
    { action: "dynamodb:GetItem", resource: `arn:aws:dynamodb:us-east-1:${accountId}:table/${other.team}-orders` },
    { action: "logs:PutLogEvents", resource: `arn:aws:logs:eu-west-1:${accountId}:log-group:/app/web` },
    { action: "ec2:TerminateInstances", resource: "*" },
    { action: "ec2:DescribeInstances", resource: "*" },
    { action: "iam:ChangePassword", resource: arn },
    { action: "iam:CreateUser", resource: `arn:aws:iam::${accountId}:user/new` },
    { action: "sqs:SendMessage", resource: `arn:aws:sqs:us-east-1:${accountId}:q-${u.team}-jobs` },
    { action: "s3:ListBucket", resource: "arn:aws:s3:::lt-shared", context: { "s3:prefix": "public/2026" } },
    { action: "s3:ListBucket", resource: "arn:aws:s3:::lt-shared", context: { "s3:prefix": "private/" } },
  ];
  return { principalArn: arn, ...(mix[k % mix.length] as Omit<CheckPlan, "principalArn">) };
}

/** Writes one account's dataset costs (for progress): policies, groups, users, roles. */
export function writesPerAccount(users: number): number {
  let n = Object.keys(MANAGED_POLICIES).length;
  for (const g of GROUPS) n += 1 + g.managed.length + Object.keys(g.inline).length;
  for (let i = 0; i < users; i++) {
    const u = userPlan(i);
    n += 1 + u.groups.length + (u.queuePolicy ? 1 : 0);
  }
  return n + ROLES.length * 3 + 1;
}
