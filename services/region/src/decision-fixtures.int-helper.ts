// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables and fixture placeholders are literal ${…} text
// One decision-fixture table, run through two targets: the pure engine (`@gatehouse/policy`, with
// the context keys AWS fills written out by hand) and a live region (the same documents stored
// as a user's inline, group and boundary policies and the account's guardrails).

/** A policy document. */
type Doc = { Version: "2012-10-17"; Statement: Record<string, unknown>[] };
const doc = (...Statement: Record<string, unknown>[]): Doc => ({ Version: "2012-10-17", Statement });

/** One fixture: a user's policies, one request, the expected decision. */
export interface DecisionFixture {
  readonly name: string;
  readonly userPolicies: readonly Doc[];
  readonly groupPolicies?: readonly Doc[];
  readonly boundary?: Doc;
  readonly guardrails?: readonly Doc[];
  readonly tags?: readonly { key: string; value: string }[];
  readonly action: string;
  readonly resource: string;
  readonly resourceAccount?: string;
  readonly resourcePolicy?: Doc;
  readonly context?: Readonly<Record<string, string>>;
  readonly expected: "Allow" | "ExplicitDeny" | "ImplicitDeny";
}

const OTHER = "999988887777";

/** The table. `${user}` in a resource is the fixture user's name. */
export const DECISION_FIXTURES: readonly DecisionFixture[] = [
  {
    name: "inline allow",
    userPolicies: [doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" })],
    action: "s3:GetObject",
    resource: "arn:aws:s3:::b/k",
    expected: "Allow",
  },
  {
    name: "nothing allows",
    userPolicies: [doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" })],
    action: "s3:PutObject",
    resource: "arn:aws:s3:::b/k",
    expected: "ImplicitDeny",
  },
  {
    name: "explicit deny wins",
    userPolicies: [doc({ Effect: "Allow", Action: "s3:*", Resource: "*" })],
    groupPolicies: [doc({ Effect: "Deny", Action: "s3:DeleteObject", Resource: "*" })],
    action: "s3:DeleteObject",
    resource: "arn:aws:s3:::b/k",
    expected: "ExplicitDeny",
  },
  {
    name: "group policy allows",
    userPolicies: [],
    groupPolicies: [doc({ Effect: "Allow", Action: "sqs:SendMessage", Resource: "*" })],
    action: "sqs:SendMessage",
    resource: "arn:aws:sqs:us-east-1:111122223333:q",
    expected: "Allow",
  },
  {
    name: "boundary limits",
    userPolicies: [doc({ Effect: "Allow", Action: "*", Resource: "*" })],
    boundary: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
    action: "s3:PutObject",
    resource: "arn:aws:s3:::b/k",
    expected: "ImplicitDeny",
  },
  {
    name: "guardrail denies",
    userPolicies: [doc({ Effect: "Allow", Action: "*", Resource: "*" })],
    guardrails: [
      doc({ Effect: "Allow", Action: "*", Resource: "*" }, { Effect: "Deny", Action: "iam:*", Resource: "*" }),
    ],
    action: "iam:CreateUser",
    resource: "*",
    expected: "ExplicitDeny",
  },
  {
    name: "aws:username filled by the region",
    userPolicies: [doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::home/${aws:username}/*" })],
    action: "s3:GetObject",
    resource: "arn:aws:s3:::home/${user}/notes",
    expected: "Allow",
  },
  {
    name: "someone else's folder",
    userPolicies: [doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::home/${aws:username}/*" })],
    action: "s3:GetObject",
    resource: "arn:aws:s3:::home/somebody-else/notes",
    expected: "ImplicitDeny",
  },
  {
    name: "principal tag condition",
    tags: [{ key: "team", value: "blue" }],
    userPolicies: [
      doc({
        Effect: "Allow",
        Action: "ec2:StartInstances",
        Resource: "*",
        Condition: { StringEquals: { "aws:PrincipalTag/team": "blue" } },
      }),
    ],
    action: "ec2:StartInstances",
    resource: "*",
    expected: "Allow",
  },
  {
    name: "caller context condition",
    userPolicies: [
      doc({
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: "*",
        Condition: { Bool: { "aws:SecureTransport": "true" } },
      }),
    ],
    action: "s3:GetObject",
    resource: "arn:aws:s3:::b/k",
    context: { "aws:SecureTransport": "false" },
    expected: "ImplicitDeny",
  },
  {
    name: "cross-account needs the resource policy",
    userPolicies: [doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" })],
    action: "s3:GetObject",
    resource: "arn:aws:s3:::theirs/k",
    resourceAccount: OTHER,
    expected: "ImplicitDeny",
  },
  {
    name: "cross-account with a resource policy naming the account",
    userPolicies: [doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" })],
    action: "s3:GetObject",
    resource: "arn:aws:s3:::theirs/k",
    resourceAccount: OTHER,
    resourcePolicy: doc({
      Effect: "Allow",
      Principal: { AWS: "arn:aws:iam::${account}:root" },
      Action: "s3:GetObject",
      Resource: "*",
    }),
    expected: "Allow",
  },
  {
    name: "same account: resource policy naming the user allows alone",
    userPolicies: [],
    action: "s3:GetObject",
    resource: "arn:aws:s3:::mine/k",
    resourcePolicy: doc({ Effect: "Allow", Principal: { AWS: "${arn}" }, Action: "s3:GetObject", Resource: "*" }),
    expected: "Allow",
  },
];
