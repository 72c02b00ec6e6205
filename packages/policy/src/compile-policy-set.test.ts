// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
import { describe, expect, it } from "vitest";
import type { AuthzRequest, PrincipalInfo } from "./authz-request.ts";
import {
  clearCompileCaches,
  compileIdentity,
  compilePolicySet,
  compileResourcePolicy,
  evaluate,
  evaluateCompiled,
  type PolicySetInput,
} from "./compile-policy-set.ts";
import type { Decision, ImplicitDenyReason } from "./evaluation-result.ts";
import { parsePolicy } from "./parse-policy.ts";
import type { Policy } from "./policy.ts";
import { PolicyError } from "./policy-error.ts";
import {
  ACCOUNT,
  allow,
  aRoleSession,
  aUser,
  decisionOf,
  deny,
  evaluateBoth,
  OTHER_ACCOUNT,
  policy,
  request,
} from "./test-support.ts";

const DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide";
const EVAL = `${DOCS}/reference_policies_evaluation-logic_policy-eval-denyallow.html`;
const SINGLE = `${DOCS}/reference_policies_evaluation-logic_policy-eval-basics.html`;
const CROSS = `${DOCS}/reference_policies_evaluation-logic-cross-account.html`;
const BOUNDARIES = `${DOCS}/access_policies_boundaries.html`;
const SESSION = `${DOCS}/access_policies.html#policies_session`;
const SCP = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html";
const NOT_ACTION = `${DOCS}/reference_policies_elements_notaction.html`;
const NOT_RESOURCE = `${DOCS}/reference_policies_elements_notresource.html`;
const NOT_PRINCIPAL = `${DOCS}/reference_policies_elements_notprincipal.html`;
const PRINCIPAL = `${DOCS}/reference_policies_elements_principal.html`;
const RESOURCE = `${DOCS}/reference_policies_elements_resource.html`;
const ACTION = `${DOCS}/reference_policies_elements_action.html`;
const VARIABLES = `${DOCS}/reference_policies_variables.html`;

const BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket";
const alice = aUser("alice");
const session = aRoleSession("Admin", "alice-session");
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/Admin`;

interface Case {
  doc: string;
  name: string;
  set: PolicySetInput;
  principal: PrincipalInfo;
  request: AuthzRequest;
  expected: Decision;
}

/** Parses a role trust policy fixture (a resource policy of kind `trust`). */
function trustPolicy(doc: Record<string, unknown>): Policy {
  const { policy: parsed, findings } = parsePolicy(doc, { kind: "trust" });
  if (parsed === undefined) throw new Error(JSON.stringify(findings));
  return parsed;
}

const resourcePolicyFor = (principal: unknown, action = "s3:GetObject", effect = "Allow") =>
  policy({ Effect: effect, Principal: principal, Action: action, Resource: `${BUCKET}/*` });

const cases: Case[] = [
  // Identity-based policies and explicit deny
  {
    doc: EVAL,
    name: "nothing allows: implicit deny",
    set: { identityPolicies: [] },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: EVAL,
    name: "an identity Allow allows",
    set: { identityPolicies: [policy(allow("s3:GetObject", `${BUCKET}/*`))] },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: EVAL,
    name: "an explicit Deny overrides any Allow",
    set: { identityPolicies: [policy(allow("s3:*")), policy(deny("s3:GetObject", `${BUCKET}/*`))] },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ExplicitDeny",
  },
  {
    doc: ACTION,
    name: "actions match case-insensitively",
    set: { identityPolicies: [policy(allow("S3:getobject"))] },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: ACTION,
    name: "? in an action matches one character",
    set: { identityPolicies: [policy(allow("s3:Get?bject"))] },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: ACTION,
    name: "a service wildcard does not match another service",
    set: { identityPolicies: [policy(allow("s3:Get*"))] },
    principal: alice,
    request: request("s3x:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: RESOURCE,
    name: "a * that ends its segment crosses : and /",
    set: { identityPolicies: [policy(allow("s3:GetObject", "arn:aws:s3:::amzn*"))] },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/a/b:c`),
    expected: "Allow",
  },
  {
    doc: RESOURCE,
    name: "resources match case-sensitively",
    set: { identityPolicies: [policy(allow("s3:GetObject", "arn:aws:s3:::AMZN-s3-demo-bucket/*"))] },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: VARIABLES,
    name: "${aws:username} in Resource",
    set: { identityPolicies: [policy(allow("s3:*", `${BUCKET}/home/\${aws:username}/*`))] },
    principal: alice,
    request: request("s3:PutObject", `${BUCKET}/home/alice/x`, { "aws:username": "alice" }),
    expected: "Allow",
  },
  {
    doc: VARIABLES,
    name: "${aws:username} in Resource for another user's folder",
    set: { identityPolicies: [policy(allow("s3:*", `${BUCKET}/home/\${aws:username}/*`))] },
    principal: alice,
    request: request("s3:PutObject", `${BUCKET}/home/bob/x`, { "aws:username": "alice" }),
    expected: "ImplicitDeny",
  },
  {
    doc: VARIABLES,
    name: "a Resource variable without a value matches nothing (no implicit aws:username)",
    set: { identityPolicies: [policy(allow("s3:*", `${BUCKET}/home/\${aws:username}/*`))] },
    principal: alice,
    request: request("s3:PutObject", `${BUCKET}/home/alice/x`),
    expected: "ImplicitDeny",
  },
  {
    doc: VARIABLES,
    name: "a NotResource entry whose variable has no value matches no resource, so the Deny applies",
    set: {
      identityPolicies: [
        policy(allow("s3:*"), { Effect: "Deny", Action: "s3:*", NotResource: `${BUCKET}/home/\${aws:username}/*` }),
      ],
    },
    principal: alice,
    request: request("s3:PutObject", `${BUCKET}/home/alice/k`),
    expected: "ExplicitDeny",
  },
  // NotAction / NotResource
  {
    doc: NOT_ACTION,
    name: "Allow NotAction iam:* allows other services",
    set: { identityPolicies: [policy({ Effect: "Allow", NotAction: "iam:*", Resource: "*" })] },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: NOT_ACTION,
    name: "Allow NotAction iam:* does not allow IAM",
    set: { identityPolicies: [policy({ Effect: "Allow", NotAction: "iam:*", Resource: "*" })] },
    principal: alice,
    request: request("iam:CreateUser", "*"),
    expected: "ImplicitDeny",
  },
  {
    doc: NOT_ACTION,
    name: "Deny NotAction without MFA denies everything except IAM",
    set: {
      identityPolicies: [
        policy(allow("*"), {
          Effect: "Deny",
          NotAction: "iam:*",
          Resource: "*",
          Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } },
        }),
      ],
    },
    principal: alice,
    request: request("ec2:RunInstances", "*"),
    expected: "ExplicitDeny",
  },
  {
    doc: NOT_ACTION,
    name: "… but not when MFA is present",
    set: {
      identityPolicies: [
        policy(allow("*"), {
          Effect: "Deny",
          NotAction: "iam:*",
          Resource: "*",
          Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } },
        }),
      ],
    },
    principal: alice,
    request: request("ec2:RunInstances", "*", { "aws:MultiFactorAuthPresent": true }),
    expected: "Allow",
  },
  {
    doc: NOT_RESOURCE,
    name: "Deny NotResource denies everything outside the listed resources",
    set: {
      identityPolicies: [
        policy(allow("s3:*"), {
          Effect: "Deny",
          Action: "s3:*",
          NotResource: ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
        }),
      ],
    },
    principal: alice,
    request: request("s3:GetObject", "arn:aws:s3:::HRBucket/Other"),
    expected: "ExplicitDeny",
  },
  {
    doc: NOT_RESOURCE,
    name: "… and not the listed resources",
    set: {
      identityPolicies: [
        policy(allow("s3:*"), {
          Effect: "Deny",
          Action: "s3:*",
          NotResource: ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
        }),
      ],
    },
    principal: alice,
    request: request("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/2024"),
    expected: "Allow",
  },
  // Permissions boundaries
  {
    doc: BOUNDARIES,
    name: "effective permissions are identity ∩ boundary (inside)",
    set: { identityPolicies: [policy(allow(["s3:*", "iam:*"]))], permissionBoundary: policy(allow("s3:*")) },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: BOUNDARIES,
    name: "effective permissions are identity ∩ boundary (outside the boundary)",
    set: { identityPolicies: [policy(allow(["s3:*", "iam:*"]))], permissionBoundary: policy(allow("s3:*")) },
    principal: alice,
    request: request("iam:CreateUser", "*"),
    expected: "ImplicitDeny",
  },
  {
    doc: BOUNDARIES,
    name: "a boundary alone grants nothing",
    set: { identityPolicies: [], permissionBoundary: policy(allow("s3:*")) },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: BOUNDARIES,
    name: "an explicit Deny in the boundary wins",
    set: { identityPolicies: [policy(allow("s3:*"))], permissionBoundary: policy(allow("*"), deny("s3:DeleteObject")) },
    principal: alice,
    request: request("s3:DeleteObject", `${BUCKET}/k`),
    expected: "ExplicitDeny",
  },
  // Session policies
  {
    doc: SESSION,
    name: "session permissions are identity ∩ session policy (inside)",
    set: { identityPolicies: [policy(allow("s3:*"))], sessionPolicies: [policy(allow("s3:GetObject"))] },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: SESSION,
    name: "session permissions are identity ∩ session policy (outside)",
    set: { identityPolicies: [policy(allow("s3:*"))], sessionPolicies: [policy(allow("s3:GetObject"))] },
    principal: session,
    request: request("s3:PutObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: SESSION,
    name: "a session policy alone grants nothing",
    set: { identityPolicies: [], sessionPolicies: [policy(allow("s3:*"))] },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: SESSION,
    name: "several session policies are combined (any may allow)",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      sessionPolicies: [policy(allow("s3:GetObject")), policy(allow("s3:PutObject"))],
    },
    principal: session,
    request: request("s3:PutObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  // Guardrails (SCP-like)
  {
    doc: SCP,
    name: "a guardrail that allows nothing for the action implicitly denies",
    set: { identityPolicies: [policy(allow("*"))], guardrails: [policy(allow("s3:*"))] },
    principal: alice,
    request: request("ec2:RunInstances", "*"),
    expected: "ImplicitDeny",
  },
  {
    doc: SCP,
    name: "a guardrail Deny wins over an allowing guardrail",
    set: { identityPolicies: [policy(allow("*"))], guardrails: [policy(allow("*")), policy(deny("ec2:*"))] },
    principal: alice,
    request: request("ec2:RunInstances", "*"),
    expected: "ExplicitDeny",
  },
  {
    doc: SCP,
    name: "one allowing guardrail of the list is enough",
    set: { identityPolicies: [policy(allow("*"))], guardrails: [policy(allow("s3:*")), policy(allow("ec2:*"))] },
    principal: alice,
    request: request("ec2:RunInstances", "*"),
    expected: "Allow",
  },
  {
    doc: SCP,
    name: "an empty guardrail list does not apply",
    set: { identityPolicies: [policy(allow("*"))], guardrails: [] },
    principal: alice,
    request: request("ec2:RunInstances", "*"),
    expected: "Allow",
  },
  {
    doc: SCP,
    name: "guardrails grant nothing by themselves",
    set: { identityPolicies: [], guardrails: [policy(allow("*"))] },
    principal: alice,
    request: request("ec2:RunInstances", "*"),
    expected: "ImplicitDeny",
  },
  {
    doc: SCP,
    name: "guardrails also limit what a same-account resource policy grants",
    set: {
      identityPolicies: [],
      guardrails: [policy(allow("ec2:*"))],
      resourcePolicy: resourcePolicyFor({ AWS: alice.arn }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  // Same-account resource-based policies
  {
    doc: SINGLE,
    name: "same account: a resource policy naming the user allows without identity policies",
    set: { identityPolicies: [], resourcePolicy: resourcePolicyFor({ AWS: alice.arn }) },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: SINGLE,
    name: "same account: either side allowing is enough (identity)",
    set: {
      identityPolicies: [policy(allow("s3:GetObject"))],
      resourcePolicy: resourcePolicyFor({ AWS: aUser("bob").arn }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: PRINCIPAL,
    name: "same account: naming the account delegates to identity policies (none allow)",
    set: { identityPolicies: [], resourcePolicy: resourcePolicyFor({ AWS: `arn:aws:iam::${ACCOUNT}:root` }) },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: PRINCIPAL,
    name: "a resource policy naming another principal grants nothing",
    set: { identityPolicies: [], resourcePolicy: resourcePolicyFor({ AWS: aUser("bob").arn }) },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: PRINCIPAL,
    name: "Principal * grants everyone",
    set: { identityPolicies: [], resourcePolicy: resourcePolicyFor("*") },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: EVAL,
    name: "a resource policy Deny for the principal wins",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      resourcePolicy: resourcePolicyFor({ AWS: ACCOUNT }, "s3:GetObject", "Deny"),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ExplicitDeny",
  },
  {
    doc: EVAL,
    name: "a resource policy Deny for someone else does not apply",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      resourcePolicy: resourcePolicyFor({ AWS: OTHER_ACCOUNT }, "s3:GetObject", "Deny"),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  // The same-account nuance: user / role session ARN vs role ARN vs account with boundaries and session policies
  {
    doc: BOUNDARIES,
    name: "boundary: a resource policy naming the IAM user ARN grants despite the boundary's implicit deny",
    set: {
      identityPolicies: [],
      permissionBoundary: policy(allow("ec2:*")),
      resourcePolicy: resourcePolicyFor({ AWS: alice.arn }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: BOUNDARIES,
    name: "boundary: a resource policy naming the role session ARN grants despite the boundary's implicit deny",
    set: {
      identityPolicies: [],
      permissionBoundary: policy(allow("ec2:*")),
      resourcePolicy: resourcePolicyFor({ AWS: session.arn }),
    },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: BOUNDARIES,
    name: "boundary: a resource policy naming the role ARN is limited by the boundary",
    set: {
      identityPolicies: [],
      permissionBoundary: policy(allow("ec2:*")),
      resourcePolicy: resourcePolicyFor({ AWS: ROLE_ARN }),
    },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: BOUNDARIES,
    name: "boundary: a role-ARN grant inside the boundary allows without identity policies",
    set: {
      identityPolicies: [],
      permissionBoundary: policy(allow("s3:*")),
      resourcePolicy: resourcePolicyFor({ AWS: ROLE_ARN }),
    },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: BOUNDARIES,
    name: "boundary: a resource policy naming the account is limited by the boundary",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      permissionBoundary: policy(allow("ec2:*")),
      resourcePolicy: resourcePolicyFor({ AWS: ACCOUNT }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: BOUNDARIES,
    name: "boundary: an explicit Deny in the boundary still wins over a direct grant",
    set: {
      identityPolicies: [],
      permissionBoundary: policy(deny("s3:*")),
      resourcePolicy: resourcePolicyFor({ AWS: alice.arn }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ExplicitDeny",
  },
  {
    doc: SESSION,
    name: "session policy: a resource policy naming the session ARN grants despite the session policy",
    set: {
      identityPolicies: [],
      sessionPolicies: [policy(allow("ec2:*"))],
      resourcePolicy: resourcePolicyFor({ AWS: session.arn }),
    },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: SESSION,
    name: "session policy: a resource policy naming the role ARN is limited by the session policy",
    set: {
      identityPolicies: [],
      sessionPolicies: [policy(allow("ec2:*"))],
      resourcePolicy: resourcePolicyFor({ AWS: ROLE_ARN }),
    },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ImplicitDeny",
  },
  {
    doc: PRINCIPAL,
    name: "a role ARN with a path names sessions of that role",
    set: {
      identityPolicies: [],
      resourcePolicy: resourcePolicyFor({ AWS: `arn:aws:iam::${ACCOUNT}:role/team/Admin` }),
    },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  // Cross-account
  {
    doc: CROSS,
    name: "cross-account: both the resource policy and the identity side allow",
    set: {
      identityPolicies: [policy(allow("s3:GetObject"))],
      resourcePolicy: resourcePolicyFor({ AWS: `arn:aws:iam::${ACCOUNT}:root` }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`, {}, OTHER_ACCOUNT),
    expected: "Allow",
  },
  {
    doc: CROSS,
    name: "cross-account: the identity side does not allow",
    set: { identityPolicies: [], resourcePolicy: resourcePolicyFor({ AWS: alice.arn }) },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`, {}, OTHER_ACCOUNT),
    expected: "ImplicitDeny",
  },
  {
    doc: CROSS,
    name: "cross-account: no resource policy",
    set: { identityPolicies: [policy(allow("s3:*"))] },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`, {}, OTHER_ACCOUNT),
    expected: "ImplicitDeny",
  },
  {
    doc: CROSS,
    name: "cross-account: the resource policy trusts another account",
    set: { identityPolicies: [policy(allow("s3:*"))], resourcePolicy: resourcePolicyFor({ AWS: "999988887777" }) },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`, {}, OTHER_ACCOUNT),
    expected: "ImplicitDeny",
  },
  {
    doc: CROSS,
    name: "cross-account: the boundary limits the identity side",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      permissionBoundary: policy(allow("ec2:*")),
      resourcePolicy: resourcePolicyFor({ AWS: alice.arn }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`, {}, OTHER_ACCOUNT),
    expected: "ImplicitDeny",
  },
  {
    doc: CROSS,
    name: "cross-account: a Deny in the resource policy wins",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      resourcePolicy: policy(
        { Effect: "Allow", Principal: "*", Action: "s3:*", Resource: "*" },
        { Effect: "Deny", Principal: { AWS: ACCOUNT }, Action: "s3:GetObject", Resource: "*" },
      ),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`, {}, OTHER_ACCOUNT),
    expected: "ExplicitDeny",
  },
  // NotPrincipal
  {
    doc: NOT_PRINCIPAL,
    name: "NotPrincipal Deny excludes a user listed together with its account",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      resourcePolicy: policy({
        Effect: "Deny",
        NotPrincipal: { AWS: [alice.arn, `arn:aws:iam::${ACCOUNT}:root`] },
        Action: "s3:*",
        Resource: "*",
      }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: NOT_PRINCIPAL,
    name: "NotPrincipal Deny listing the user without its account still denies it",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      resourcePolicy: policy({ Effect: "Deny", NotPrincipal: { AWS: [alice.arn] }, Action: "s3:*", Resource: "*" }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ExplicitDeny",
  },
  {
    doc: NOT_PRINCIPAL,
    name: "NotPrincipal Deny applies to everyone not listed",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      resourcePolicy: policy({
        Effect: "Deny",
        NotPrincipal: { AWS: [alice.arn, ACCOUNT] },
        Action: "s3:*",
        Resource: "*",
      }),
    },
    principal: aUser("bob"),
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ExplicitDeny",
  },
  {
    doc: NOT_PRINCIPAL,
    name: "NotPrincipal for a role session lists the session, the role and the account",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      resourcePolicy: policy({
        Effect: "Deny",
        NotPrincipal: { AWS: [session.arn, ROLE_ARN, `arn:aws:iam::${ACCOUNT}:root`] },
        Action: "s3:*",
        Resource: "*",
      }),
    },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "Allow",
  },
  {
    doc: NOT_PRINCIPAL,
    name: "NotPrincipal without the role ARN does not exclude the session",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      resourcePolicy: policy({
        Effect: "Deny",
        NotPrincipal: { AWS: [session.arn, `arn:aws:iam::${ACCOUNT}:root`] },
        Action: "s3:*",
        Resource: "*",
      }),
    },
    principal: session,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ExplicitDeny",
  },
  {
    doc: BOUNDARIES,
    name: "NotPrincipal Deny always denies a principal that has a permissions boundary",
    set: {
      identityPolicies: [policy(allow("s3:*"))],
      permissionBoundary: policy(allow("s3:*")),
      resourcePolicy: policy({
        Effect: "Deny",
        NotPrincipal: { AWS: [alice.arn, ACCOUNT] },
        Action: "s3:*",
        Resource: "*",
      }),
    },
    principal: alice,
    request: request("s3:GetObject", `${BUCKET}/k`),
    expected: "ExplicitDeny",
  },
  // Non-AWS principals: trust policies
  {
    doc: PRINCIPAL,
    name: "a trust policy lets a service principal assume the role",
    set: {
      identityPolicies: [],
      resourcePolicy: trustPolicy({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    },
    principal: { arn: "ec2.amazonaws.com", accountId: "", type: "Service" },
    request: request("sts:AssumeRole", ROLE_ARN),
    expected: "Allow",
  },
  {
    doc: PRINCIPAL,
    name: "a trust policy does not let another service assume the role",
    set: {
      identityPolicies: [],
      resourcePolicy: trustPolicy({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    },
    principal: { arn: "lambda.amazonaws.com", accountId: "", type: "Service" },
    request: request("sts:AssumeRole", ROLE_ARN),
    expected: "ImplicitDeny",
  },
];

describe("evaluation logic (table of AWS documentation examples)", () => {
  it.each(cases)("$name ($doc)", ({ set, principal, request: req, expected }) => {
    expect(decisionOf(set, principal, req)).toBe(expected);
  });
});

describe("explanations", () => {
  it("names the deciding Deny statement by policy id and Sid", () => {
    const denyPolicy = parsePolicy(policy({ Sid: "NoDelete", ...deny("s3:DeleteObject") }), {
      id: "arn:aws:iam::111122223333:policy/Guard",
    }).policy;
    if (denyPolicy === undefined) throw new Error("fixture must parse");
    const result = evaluateBoth(
      { identityPolicies: [policy(allow("s3:*")), denyPolicy] },
      alice,
      request("s3:DeleteObject", `${BUCKET}/k`),
    );
    expect(result.decision).toBe("ExplicitDeny");
    expect(result.explanation?.decidingStatement).toEqual({
      policy: { type: "identity", index: 1, kind: "identity", id: "arn:aws:iam::111122223333:policy/Guard" },
      statementIndex: 0,
      sid: "NoDelete",
      effect: "Deny",
    });
    expect(result.explanation?.matchedStatements).toHaveLength(2);
    expect(result.explanation?.summary).toContain('"NoDelete"');
  });

  it("reports the failing condition key, operator, reason and compared values", () => {
    const doc = policy(
      allow("s3:GetObject", "*", {
        Sid: "FromOffice",
        Condition: { IpAddress: { "aws:SourceIp": "203.0.113.0/24" }, Bool: { "aws:SecureTransport": "true" } },
      }),
    );
    const result = evaluateBoth(
      { identityPolicies: [doc] },
      alice,
      request("s3:GetObject", `${BUCKET}/k`, { "aws:SourceIp": "198.51.100.7" }),
    );
    expect(result.decision).toBe("ImplicitDeny");
    const failures = result.explanation?.conditionFailures ?? [];
    expect(failures.map((f) => [f.operator, f.key, f.reason, f.requestValues])).toEqual([
      ["IpAddress", "aws:SourceIp", "no-match", ["198.51.100.7"]],
      ["Bool", "aws:SecureTransport", "missing-key", undefined],
    ]);
    expect(failures[0]?.policyValues).toEqual(["203.0.113.0/24"]);
    expect(failures[0]?.statement.sid).toBe("FromOffice");
    expect(result.explanation?.implicitDenyReason).toBe("no-identity-policy-allows");
  });

  it.each<[PolicySetInput, ImplicitDenyReason]>([
    [{ identityPolicies: [policy(allow("*"))], guardrails: [policy(allow("s3:*"))] }, "no-guardrail-allows"],
    [
      { identityPolicies: [policy(allow("*"))], permissionBoundary: policy(allow("s3:*")) },
      "permission-boundary-does-not-allow",
    ],
    [
      { identityPolicies: [policy(allow("*"))], sessionPolicies: [policy(allow("s3:*"))] },
      "session-policy-does-not-allow",
    ],
    [{ identityPolicies: [policy(allow("s3:*"))] }, "no-identity-policy-allows"],
  ])("names the policy type that caused an implicit deny (%#)", (set, reason) => {
    const result = evaluateBoth(set, session, request("ec2:RunInstances", "*"));
    expect(result.explanation?.implicitDenyReason).toBe(reason);
    expect(result.explanation?.summary).toMatch(/^ImplicitDeny: /);
  });

  it("explains a cross-account implicit deny by the resource side", () => {
    const result = evaluateBoth(
      { identityPolicies: [policy(allow("s3:*"))], resourcePolicy: resourcePolicyFor({ AWS: "999988887777" }) },
      alice,
      request("s3:GetObject", `${BUCKET}/k`, {}, OTHER_ACCOUNT),
    );
    expect(result.explanation?.crossAccount).toBe(true);
    expect(result.explanation?.implicitDenyReason).toBe("resource-policy-does-not-allow");
    expect(result.explanation?.policyTypes.find((p) => p.type === "identity")).toEqual({
      type: "identity",
      present: true,
      allows: true,
      denies: false,
    });
  });

  it("attributes a same-account grant to the resource policy that names the principal", () => {
    const result = evaluateBoth(
      { identityPolicies: [], resourcePolicy: resourcePolicyFor({ AWS: alice.arn }) },
      alice,
      request("s3:GetObject", `${BUCKET}/k`),
    );
    expect(result.explanation?.decidingStatement?.policy.type).toBe("resource");
  });
});

describe("compiling and evaluating", () => {
  it("compiles the identity side and the resource policy separately", () => {
    const identity = compileIdentity({ identityPolicies: [policy(allow("s3:GetObject"))] });
    const bucket = compileResourcePolicy(resourcePolicyFor({ AWS: ACCOUNT }));
    const req = request("s3:GetObject", `${BUCKET}/k`, {}, OTHER_ACCOUNT);
    expect(evaluateCompiled(identity, bucket, alice, req).decision).toBe("Allow");
    expect(evaluateCompiled(identity, undefined, alice, req).decision).toBe("ImplicitDeny");
  });

  it("throws a PolicyError carrying the findings of an invalid policy", () => {
    let error: unknown;
    try {
      compilePolicySet({
        identityPolicies: [{ Version: "2012-10-17", Statement: { Effect: "Permit", Action: "s3:*", Resource: "*" } }],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).findings.map((f) => f.code)).toContain("invalid-effect");
    expect((error as PolicyError).code).toBe("INVALID_ARGUMENT");
    expect((error as PolicyError).message).toContain("$.Statement.Effect");
    expect((error as PolicyError).toWire()).toEqual({
      code: "INVALID_ARGUMENT",
      awsName: "MalformedPolicyDocument",
      message: (error as PolicyError).message,
      field: "identityPolicies[0]",
    });
  });

  it("keeps warnings in a PolicyError's findings although the compiler parses without them", () => {
    let error: unknown;
    try {
      // No Version (a warning) and an invalid Effect (an error).
      compilePolicySet({ identityPolicies: ['{"Statement":{"Effect":"Permit","Action":"s3:*","Resource":"*"}}'] });
    } catch (e) {
      error = e;
    }
    const codes = (error as PolicyError).findings.map((f) => f.code);
    expect(codes).toContain("invalid-effect");
    expect(codes).toContain("missing-version");
  });

  it("decides the same after clearCompileCaches()", () => {
    const text = JSON.stringify({
      Version: "2012-10-17",
      Statement: { Effect: "Allow", Action: "s3:Get*", Resource: "*" },
    });
    const before = compilePolicySet({ identityPolicies: [text] });
    clearCompileCaches();
    const after = compilePolicySet({ identityPolicies: [text] });
    for (const compiled of [before, after]) {
      expect(compiled.evaluate(alice, request("s3:GetObject", `${BUCKET}/k`)).decision).toBe("Allow");
      expect(compiled.evaluate(alice, request("s3:PutObject", `${BUCKET}/k`)).decision).toBe("ImplicitDeny");
    }
  });

  it("keeps no array of a caller's document in the parsed policy (it may change later)", () => {
    const actions = ["s3:GetObject"];
    const resources = ["*"];
    const doc = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: resources }] };
    const parsed = parsePolicy(doc).policy;
    actions.push("s3:PutObject");
    resources.push("arn:aws:s3:::b");
    expect(parsed?.statements[0]?.action).toEqual(["s3:GetObject"]);
    expect(parsed?.statements[0]?.resource).toEqual(["*"]);
  });

  it("indexes a statement with many actions (AWS's ReadOnlyAccess has 1,500) like a short one", () => {
    const actions = Array.from({ length: 400 }, (_, i) => `svc${i % 40}:Get${i}`);
    actions.push("svc1:List*", "svc1:Get1", "other:*");
    const compiled = compilePolicySet({
      identityPolicies: [{ Version: "2012-10-17", Statement: { Effect: "Allow", Action: actions, Resource: "*" } }],
    });
    const decide = (action: string) => compiled.evaluate(alice, request(action, "*")).decision;
    expect(decide("svc2:Get2")).toBe("Allow");
    expect(decide("svc1:ListThings")).toBe("Allow");
    expect(decide("svc1:Get1")).toBe("Allow");
    expect(decide("other:Anything")).toBe("Allow");
    expect(decide("svc2:Get3")).toBe("ImplicitDeny");
  });

  it("reports a policy that is only too large as LimitExceeded", () => {
    const big = policy(allow("s3:GetObject", `arn:aws:s3:::${"x".repeat(2100)}`));
    let error: unknown;
    try {
      compilePolicySet({ identityPolicies: [], sessionPolicies: [big] });
    } catch (e) {
      error = e;
    }
    expect((error as PolicyError).awsName).toBe("LimitExceeded");
    expect((error as PolicyError).field).toBe("sessionPolicies[0]");
  });

  it("parses documents given as JSON text with the slot's kind", () => {
    const trust = JSON.stringify(
      policy({ Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "s3:GetObject", Resource: "*" }),
    );
    expect(() => compilePolicySet({ identityPolicies: [trust] })).toThrow(PolicyError);
    expect(
      evaluate(
        { identityPolicies: [], resourcePolicy: trust },
        alice,
        request("s3:GetObject", `${BUCKET}/k`, {}, ACCOUNT),
      ).decision,
    ).toBe("ImplicitDeny");
  });

  it("gives the same answer for the same action however often it is asked (plan cache)", () => {
    const compiled = compilePolicySet({
      identityPolicies: [policy(allow("s3:Get*", `${BUCKET}/*`), deny("s3:GetObject", `${BUCKET}/secret/*`))],
    });
    for (let i = 0; i < 3; i++) {
      expect(compiled.evaluate(alice, request("s3:GetObject", `${BUCKET}/k`)).decision).toBe("Allow");
      expect(compiled.evaluate(alice, request("S3:GETOBJECT", `${BUCKET}/secret/k`)).decision).toBe("ExplicitDeny");
    }
  });

  it("names a cached policy by its place in each set that uses it (compiled statements shared or copied)", () => {
    const shared = JSON.stringify(policy(allow("s3:GetObject", `${BUCKET}/*`, { Sid: "Shared" })));
    const other = JSON.stringify(policy(allow("sqs:SendMessage", "*"), allow("sqs:ReceiveMessage", "*")));
    const read = request("s3:GetObject", `${BUCKET}/k`);
    const decidingOf = (identityPolicies: string[]) => {
      const explanation = compilePolicySet({ identityPolicies }).evaluate(alice, read, { explain: true }).explanation;
      return { policy: explanation?.decidingStatement?.policy.index, sid: explanation?.decidingStatement?.sid };
    };
    clearCompileCaches();
    // The same text compiles once (text and statement caches); each set still names its own place.
    expect(decidingOf([shared])).toEqual({ policy: 0, sid: "Shared" });
    expect(decidingOf([other, shared])).toEqual({ policy: 1, sid: "Shared" });
    expect(decidingOf([shared])).toEqual({ policy: 0, sid: "Shared" });
    // The plan lists statements in policy order, by ordinal: a Deny placed after the cached policy still decides.
    const denyAll = JSON.stringify(policy(deny("s3:GetObject", `${BUCKET}/k`)));
    const set = compilePolicySet({ identityPolicies: [other, shared, denyAll] });
    expect(
      set.evaluate(alice, read, { explain: true }).explanation?.matchedStatements.map((m) => m.policy.index),
    ).toEqual([1, 2]);
  });

  it("does not derive context from the principal", () => {
    const compiled = compilePolicySet({
      identityPolicies: [
        policy(allow("s3:*", "*", { Condition: { StringEquals: { "aws:PrincipalArn": alice.arn } } })),
      ],
    });
    expect(compiled.evaluate(alice, request("s3:GetObject", `${BUCKET}/k`)).decision).toBe("ImplicitDeny");
    expect(
      compiled.evaluate(alice, request("s3:GetObject", `${BUCKET}/k`, { "aws:PrincipalArn": alice.arn })).decision,
    ).toBe("Allow");
  });

  it("reuses parsed JSON text per kind without mixing kinds", () => {
    const text = JSON.stringify(
      policy({ Effect: "Allow", Principal: { AWS: alice.arn }, Action: "s3:GetObject", Resource: "*" }),
    );
    const asResource = { identityPolicies: [], resourcePolicy: text };
    expect(decisionOf(asResource, alice, request("s3:GetObject", `${BUCKET}/k`))).toBe("Allow");
    expect(() => compilePolicySet({ identityPolicies: [text] })).toThrow(PolicyError);
    expect(decisionOf(asResource, alice, request("s3:GetObject", `${BUCKET}/k`))).toBe("Allow");
    expect(decisionOf(asResource, aUser("bob"), request("s3:GetObject", `${BUCKET}/k`))).toBe("ImplicitDeny");
  });

  it("shares one parsed policy between principals and slots", () => {
    const shared = parsePolicy(policy(allow("s3:GetObject", `${BUCKET}/*`)), { kind: "managed" }).policy;
    if (shared === undefined) throw new Error("fixture must parse");
    const a = compilePolicySet({ identityPolicies: [shared] });
    const b = compilePolicySet({
      identityPolicies: [],
      permissionBoundary: shared,
      resourcePolicy: resourcePolicyFor({ AWS: ROLE_ARN }),
    });
    expect(a.evaluate(alice, request("s3:GetObject", `${BUCKET}/k`)).decision).toBe("Allow");
    expect(b.evaluate(session, request("s3:GetObject", `${BUCKET}/k`)).decision).toBe("Allow");
    expect(b.evaluate(session, request("s3:PutObject", `${BUCKET}/k`)).decision).toBe("ImplicitDeny");
    expect(
      b.evaluate(session, request("s3:GetObject", `${BUCKET}/k`), { explain: true }).explanation?.policyTypes,
    ).toContainEqual({
      type: "boundary",
      present: true,
      allows: true,
      denies: false,
    });
  });

  it("matches the resource policy against each principal, not the last one seen", () => {
    const compiled = compilePolicySet({ identityPolicies: [], resourcePolicy: resourcePolicyFor({ AWS: alice.arn }) });
    const req = request("s3:GetObject", `${BUCKET}/k`);
    expect(compiled.evaluate(alice, req).decision).toBe("Allow");
    expect(compiled.evaluate(aUser("bob"), req).decision).toBe("ImplicitDeny");
    expect(compiled.evaluate({ ...alice }, req).decision).toBe("Allow");
    expect(compiled.evaluate({ ...alice, arn: `${alice.arn}x` }, req).decision).toBe("ImplicitDeny");
  });

  it("treats policy variables literally in a 2008-10-17 policy built by hand", () => {
    // The same literal semantics as a parsed 2008-10-17 document (arn-matching.test.ts), on an AST.
    const old: Policy = {
      kind: "identity",
      version: "2008-10-17",
      versionSpecified: true,
      statements: [
        {
          index: 0,
          effect: "Allow",
          action: ["s3:GetObject"],
          resource: [`${BUCKET}/\${aws:username}`],
          conditions: [],
        },
      ],
    };
    const ctx = { "aws:username": "alice" };
    expect(decisionOf({ identityPolicies: [old] }, alice, request("s3:GetObject", `${BUCKET}/alice`, ctx))).toBe(
      "ImplicitDeny",
    );
    expect(
      decisionOf({ identityPolicies: [old] }, alice, request("s3:GetObject", `${BUCKET}/\${aws:username}`, ctx)),
    ).toBe("Allow");
  });

  it("treats resourceAccount equal to the principal's account as same-account", () => {
    const set = { identityPolicies: [], resourcePolicy: resourcePolicyFor({ AWS: alice.arn }) };
    expect(decisionOf(set, alice, request("s3:GetObject", `${BUCKET}/k`, {}, ACCOUNT))).toBe("Allow");
    expect(decisionOf(set, alice, request("s3:GetObject", `${BUCKET}/k`, {}, OTHER_ACCOUNT))).toBe("ImplicitDeny");
  });
});
