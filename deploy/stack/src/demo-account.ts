/**
 * What the stack seeds into its demo account: an administrator with the profile's access key,
 * a developer under a permissions boundary, groups with managed and inline policies, and roles
 * whose trust policies name the account and a service. Every name here is created only when
 * missing, so a second seeding writes nothing.
 */

const doc = (...statements: object[]): string => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/** The alias the demo account is created with. */
export const DEMO_ALIAS = "gatehouse-demo";
/** The bucket the demo's policies and example commands talk about. */
export const DEMO_BUCKET = "gatehouse-demo-reports";

/** A customer managed policy of the demo account. */
export interface DemoPolicy {
  readonly name: string;
  readonly description: string;
  readonly document: string;
}

/** An inline policy: its name and document. */
export interface DemoInline {
  readonly name: string;
  readonly document: string;
}

export const DEMO_POLICIES: readonly DemoPolicy[] = [
  {
    name: "DemoReportsReadWrite",
    description: "Read and write one's own prefix of the reports bucket",
    document: doc(
      {
        Sid: "OwnPrefix",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        Resource: `arn:aws:s3:::${DEMO_BUCKET}/\${aws:username}/*`,
      },
      {
        Sid: "ListOwnPrefix",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: `arn:aws:s3:::${DEMO_BUCKET}`,
        // A policy variable, not a template placeholder.
        // biome-ignore lint/suspicious/noTemplateCurlyInString: IAM's ${aws:username}, resolved by the engine
        Condition: { StringLike: { "s3:prefix": ["${aws:username}/*"] } },
      },
    ),
  },
  {
    name: "DemoDeveloperBoundary",
    description: "The most a developer may ever be granted: data services, never IAM",
    document: doc(
      { Sid: "DataServices", Effect: "Allow", Action: ["s3:*", "sqs:*", "logs:*", "dynamodb:*"], Resource: "*" },
      { Sid: "NeverIam", Effect: "Deny", NotAction: ["s3:*", "sqs:*", "logs:*", "dynamodb:*"], Resource: "*" },
    ),
  },
  {
    name: "DemoDeployer",
    description: "What the deployer role may do: stacks and their artifacts",
    document: doc(
      { Effect: "Allow", Action: "cloudformation:*", Resource: "*" },
      {
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject"],
        Resource: "arn:aws:s3:::gatehouse-demo-artifacts/*",
      },
    ),
  },
];

/** Groups: their attached managed policies (by name, or an AWS managed ARN) and inline policies. */
export const DEMO_GROUPS: readonly { name: string; managed: readonly string[]; inline: readonly DemoInline[] }[] = [
  { name: "admins", managed: ["arn:aws:iam::aws:policy/AdministratorAccess"], inline: [] },
  {
    name: "developers",
    managed: ["DemoReportsReadWrite"],
    inline: [
      {
        name: "developers-logs",
        document: doc({
          Effect: "Allow",
          Action: ["logs:Get*", "logs:Describe*", "logs:FilterLogEvents"],
          Resource: "*",
        }),
      },
    ],
  },
];

/** Users: their groups, boundary (a managed policy name) and inline policies. */
export const DEMO_USERS: readonly {
  name: string;
  groups: readonly string[];
  boundary?: string;
  inline: readonly DemoInline[];
}[] = [
  { name: "admin", groups: ["admins"], inline: [] },
  {
    name: "alice",
    groups: ["developers"],
    boundary: "DemoDeveloperBoundary",
    inline: [
      {
        name: "alice-keep-reports",
        document: doc({
          Effect: "Deny",
          Action: "s3:DeleteObject",
          Resource: `arn:aws:s3:::${DEMO_BUCKET}/*`,
          Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } },
        }),
      },
    ],
  },
];

/** The user whose access key the profile gets. */
export const DEMO_ADMIN = "admin";
/** The user the printed Authorize example asks about. */
export const DEMO_DEVELOPER = "alice";

/** Roles: trust policy (a function of the account id), attached policies and inline policies. */
export const DEMO_ROLES: readonly {
  name: string;
  description: string;
  trust: (accountId: string) => string;
  managed: readonly string[];
  inline: readonly DemoInline[];
}[] = [
  {
    name: "deployer",
    description: "Assumed by the account's administrators to deploy",
    trust: (accountId) =>
      doc({
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${accountId}:user/${DEMO_ADMIN}` },
        Action: "sts:AssumeRole",
      }),
    managed: ["DemoDeployer"],
    inline: [
      {
        name: "deployer-pass-role",
        document: doc({ Effect: "Allow", Action: "iam:PassRole", Resource: "arn:aws:iam::*:role/deployer" }),
      },
    ],
  },
  {
    name: "auditor",
    description: "Read-only access for the auditing service",
    trust: () => doc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }),
    managed: ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    inline: [],
  },
];
