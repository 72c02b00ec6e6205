// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
/**
 * ARN matching as the IAM User Guide states it, one row per sentence: Resource and NotResource
 * wildcards segment by segment, the ARN condition operators component by component, Principal ARNs
 * without wildcards, policy variables only in the resource part, and `${…}` as literal text in
 * 2008-10-17 policies. Every row runs on both evaluation paths (fast and explaining).
 */
import { describe, expect, it } from "vitest";
import type { AuthzRequest } from "./authz-request.ts";
import type { PolicySetInput } from "./compile-policy-set.ts";
import type { Decision } from "./evaluation-result.ts";
import { parsePolicy } from "./parse-policy.ts";
import { ACCOUNT, allow, aUser, decisionOf, deny, policy, request } from "./test-support.ts";

const DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide";
const RESOURCE = `${DOCS}/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards`;
const NOT_RESOURCE = `${DOCS}/reference_policies_elements_notresource.html`;
const ARN_OPERATORS = `${DOCS}/reference_policies_elements_condition_operators.html#Conditions_ARN`;
const ARN_FORMAT = `${DOCS}/reference-arns.html`;
const PRINCIPAL = `${DOCS}/reference_policies_elements_principal.html`;
const VARIABLES = `${DOCS}/reference_policies_variables.html#policy-vars-infotouse`;
const VERSION = `${DOCS}/reference_policies_elements_version.html`;

const alice = aUser("alice");
const FN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:api`;
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:topic`;
const BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket";

interface Row {
  /** The page, and the sentence of it the row checks. */
  doc: string;
  says: string;
  name: string;
  set: PolicySetInput;
  request: AuthzRequest;
  expected: Decision;
}

const allowOnly = (resource: string | string[], action = "*") => ({
  identityPolicies: [policy(allow(action, resource))],
});
/** Everything allowed, and a Deny on every resource except `notResource`. */
const denyAllBut = (notResource: string | string[]) => ({
  identityPolicies: [policy(allow("*"), { Effect: "Deny", Action: "*", NotResource: notResource })],
});
/** Everything allowed under a condition on aws:SourceArn. */
const allowIf = (operator: string, values: string | string[]) => ({
  identityPolicies: [policy(allow("*", "*", { Condition: { [operator]: { "aws:SourceArn": values } } }))],
});
/** Everything allowed, and denied under a condition on aws:SourceArn. */
const denyIf = (operator: string, values: string | string[]) => ({
  identityPolicies: [policy(allow("*"), deny("*", "*", { Condition: { [operator]: { "aws:SourceArn": values } } }))],
});
const invoke = (resource: string, context?: Record<string, string>) =>
  request("lambda:InvokeFunction", resource, context);
const fromSource = (sourceArn: string | undefined) =>
  request(
    "sqs:SendMessage",
    `arn:aws:sqs:us-east-1:${ACCOUNT}:q`,
    sourceArn === undefined ? {} : { "aws:SourceArn": sourceArn },
  );

const SEGMENTS =
  "You can use wildcard characters (* and ?) within the individual segments of an ARN (the parts separated by colons)";
const LAST_STAR =
  "If the * wildcard is the last character of a resource ARN segment, it can expand to match beyond the colon boundaries.";
const S3_EXAMPLE = "The wildcards in the ARN apply to all of the following objects in the bucket";
const SIX = "Each of the six colon-delimited components of the ARN is checked separately";
const NOT_RESOURCE_SAYS =
  "NotResource is an advanced policy element that explicitly matches every resource except those specified.";

const rows: Row[] = [
  // --- Resource: a `*` inside a segment stays in it (the fail-open case of issue 11).
  {
    doc: RESOURCE,
    says: SEGMENTS,
    name: "an Allow whose region-segment * is followed by text does not reach into the account",
    set: allowOnly("arn:aws:lambda:us-*3:function:api"),
    request: invoke(FN),
    expected: "ImplicitDeny",
  },
  {
    doc: RESOURCE,
    says: SEGMENTS,
    name: "a * inside a segment matches within it",
    set: allowOnly(`arn:aws:lambda:us-*-1:${ACCOUNT}:function:api`),
    request: invoke(FN),
    expected: "Allow",
  },
  {
    doc: RESOURCE,
    says: SEGMENTS,
    name: "? matches one character of its segment",
    set: allowOnly(`arn:aws:sns:us-east-1:${ACCOUNT}:topic?sub`),
    request: invoke(`${TOPIC}Xsub`),
    expected: "Allow",
  },
  {
    doc: RESOURCE,
    says: SEGMENTS,
    name: "? never matches a colon",
    set: allowOnly(`arn:aws:sns:us-east-1:${ACCOUNT}:topic?sub`),
    request: invoke(`${TOPIC}:sub`),
    expected: "ImplicitDeny",
  },
  {
    doc: RESOURCE,
    says: SEGMENTS,
    name: "? does not stand for the colon between region and account",
    set: allowOnly(`arn:aws:lambda:us-east-1?${ACCOUNT}:function:api`),
    request: invoke(FN),
    expected: "ImplicitDeny",
  },
  // --- Resource: a `*` that ends its segment crosses colons.
  {
    doc: RESOURCE,
    says: LAST_STAR,
    name: "a trailing * of the last segment matches a qualified function (function:api:prod)",
    set: allowOnly(`arn:aws:lambda:us-east-1:${ACCOUNT}:function:api*`),
    request: invoke(`${FN}:prod`),
    expected: "Allow",
  },
  {
    doc: RESOURCE,
    says: LAST_STAR,
    name: "a * that is a whole segment matches that segment",
    set: allowOnly(`arn:aws:lambda:*:${ACCOUNT}:function:api`),
    request: invoke(FN),
    expected: "Allow",
  },
  {
    doc: RESOURCE,
    says: LAST_STAR,
    name: "a * ending the region segment expands over region and account",
    set: allowOnly("arn:aws:lambda:us-*:function:api"),
    request: invoke(FN),
    expected: "Allow",
  },
  {
    doc: RESOURCE,
    says: LAST_STAR,
    name: "a short ARN ending in * covers every ARN it starts",
    set: allowOnly("arn:aws:lambda:*"),
    request: invoke(`${FN}:prod`),
    expected: "Allow",
  },
  {
    doc: RESOURCE,
    says: "You can use the wildcard character (*) in the Resource element",
    name: "a bare * still matches everything",
    set: allowOnly("*"),
    request: invoke(`${FN}:prod`),
    expected: "Allow",
  },
  // --- Resource: the page's own S3 example ("…/*/test/*"); a middle * stops at a colon.
  ...[
    "1/test/object.jpg",
    "1/2/test/object.jpg",
    "1/2/test/3/object.jpg",
    "1/2/3/test/4/object.jpg",
    "1///test///object.jpg",
    "1/test/.jpg",
    "/test/object.jpg",
    "1/test/",
  ].map(
    (key): Row => ({
      doc: RESOURCE,
      says: S3_EXAMPLE,
      name: `${BUCKET}/*/test/* covers ${key}`,
      set: allowOnly(`${BUCKET}/*/test/*`),
      request: request("s3:GetObject", `${BUCKET}/${key}`),
      expected: "Allow",
    }),
  ),
  {
    doc: RESOURCE,
    says: "The ARN would not match the following objects",
    name: `${BUCKET}/*/test/* does not cover 1-test/object.jpg`,
    set: allowOnly(`${BUCKET}/*/test/*`),
    request: request("s3:GetObject", `${BUCKET}/1-test/object.jpg`),
    expected: "ImplicitDeny",
  },
  {
    doc: RESOURCE,
    says: SEGMENTS,
    name: `${BUCKET}/*/test/* does not cover a key whose first part holds a colon`,
    set: allowOnly(`${BUCKET}/*/test/*`),
    request: request("s3:GetObject", `${BUCKET}/a:b/test/object.jpg`),
    expected: "ImplicitDeny",
  },
  // --- NotResource: the same patterns; a Deny with NotResource must still apply.
  {
    doc: NOT_RESOURCE,
    says: `${NOT_RESOURCE_SAYS} / ${SEGMENTS}`,
    name: "a Deny with NotResource still applies when a segment's * would have to cross a colon",
    set: denyAllBut("arn:aws:lambda:us-*3:function:api"),
    request: invoke(FN),
    expected: "ExplicitDeny",
  },
  {
    doc: NOT_RESOURCE,
    says: `${NOT_RESOURCE_SAYS} / ${SEGMENTS}`,
    name: "a Deny with NotResource still applies when ? would have to match a colon",
    set: denyAllBut(`arn:aws:sns:us-east-1:${ACCOUNT}:topic?sub`),
    request: invoke(`${TOPIC}:sub`),
    expected: "ExplicitDeny",
  },
  {
    doc: NOT_RESOURCE,
    says: `${NOT_RESOURCE_SAYS} / ${LAST_STAR}`,
    name: "a Deny with NotResource excludes what a trailing * covers across colons",
    set: denyAllBut(`arn:aws:lambda:us-east-1:${ACCOUNT}:function:api*`),
    request: invoke(`${FN}:prod`),
    expected: "Allow",
  },
  // --- ARN condition operators: six components, each checked separately.
  {
    doc: ARN_OPERATORS,
    says: SIX,
    name: "ArnLike with fewer than six components (arn:aws:iam::*) matches nothing",
    set: allowIf("ArnLike", "arn:aws:iam::*"),
    request: fromSource(`arn:aws:iam::${ACCOUNT}:user/alice`),
    expected: "ImplicitDeny",
  },
  {
    doc: ARN_OPERATORS,
    says: SIX,
    name: "ArnEquals with fewer than six components matches nothing either",
    set: allowIf("ArnEquals", "arn:aws:iam::*"),
    request: fromSource(`arn:aws:iam::${ACCOUNT}:user/alice`),
    expected: "ImplicitDeny",
  },
  {
    doc: ARN_OPERATORS,
    says: SIX,
    name: "ArnLikeIfExists with fewer than six components matches nothing when the key is present",
    set: allowIf("ArnLikeIfExists", "arn:aws:iam::*"),
    request: fromSource(`arn:aws:iam::${ACCOUNT}:user/alice`),
    expected: "ImplicitDeny",
  },
  {
    doc: ARN_OPERATORS,
    says: "…IfExists: if the key is not present, the condition is true",
    name: "ArnLikeIfExists holds when the key is absent, whatever the value",
    set: allowIf("ArnLikeIfExists", "arn:aws:iam::*"),
    request: fromSource(undefined),
    expected: "Allow",
  },
  {
    doc: ARN_OPERATORS,
    says: SIX,
    name: "a Deny with ArnNotLike of a short pattern applies (nothing is like it)",
    set: denyIf("ArnNotLike", "arn:aws:iam::*"),
    request: fromSource(`arn:aws:iam::${ACCOUNT}:user/alice`),
    expected: "ExplicitDeny",
  },
  {
    doc: ARN_OPERATORS,
    says: SIX,
    name: "a Deny with ArnNotEqualsIfExists of a short pattern applies",
    set: denyIf("ArnNotEqualsIfExists", "arn:aws:iam::*"),
    request: fromSource(`arn:aws:iam::${ACCOUNT}:user/alice`),
    expected: "ExplicitDeny",
  },
  {
    doc: ARN_OPERATORS,
    says: SIX,
    name: "ArnLike: a * in the region component does not span into the account",
    set: allowIf("ArnLike", "arn:aws:lambda:*3:function:api:x"),
    request: fromSource(`${FN}:x`),
    expected: "ImplicitDeny",
  },
  {
    doc: ARN_OPERATORS,
    says: SIX,
    name: "ArnLike: ? in a component never matches the colon after it",
    set: allowIf("ArnLike", `arn:aws:lambda:us-east-1:${ACCOUNT.slice(0, -1)}??function:api`),
    request: fromSource(FN),
    expected: "ImplicitDeny",
  },
  {
    doc: ARN_OPERATORS,
    says: SIX,
    name: "ArnLike: whole-component wildcards match",
    set: allowIf("ArnLike", "arn:aws:lambda:*:*:function:api"),
    request: fromSource(FN),
    expected: "Allow",
  },
  {
    doc: ARN_FORMAT,
    says: "arn:partition:service:region:account-id:resource-type:resource-id",
    name: "ArnLike: the sixth component keeps its colons, and a * in it matches them",
    set: allowIf("ArnLike", "arn:aws:lambda:*:*:function:*"),
    request: fromSource(`${FN}:prod`),
    expected: "Allow",
  },
  {
    doc: ARN_OPERATORS,
    says: SIX,
    name: "a Deny with ArnNotLike does not apply when a six-component pattern matches",
    set: denyIf("ArnNotLike", [`arn:aws:lambda:us-east-1:${ACCOUNT}:function:*`]),
    request: fromSource(`${FN}:prod`),
    expected: "Allow",
  },
  // --- Policy variables only in the resource part.
  {
    doc: VARIABLES,
    says: "You can use a policy variable in the Resource element, but only in the resource portion of the ARN.",
    name: "a variable after the fifth colon is substituted",
    set: allowOnly("arn:aws:s3:::home/${aws:username}/*"),
    request: request("s3:GetObject", "arn:aws:s3:::home/alice/notes", { "aws:username": "alice" }),
    expected: "Allow",
  },
  {
    doc: VARIABLES,
    says: "You can't use a variable to replace parts of the ARN before the fifth colon, such as the service or account.",
    name: "a variable in the account segment is literal text, so it allows no real account",
    set: allowOnly("arn:aws:lambda:us-east-1:${aws:PrincipalAccount}:function:api"),
    request: invoke(FN, { "aws:PrincipalAccount": ACCOUNT }),
    expected: "ImplicitDeny",
  },
  {
    doc: VARIABLES,
    says: "You can't use a variable to replace parts of the ARN before the fifth colon, such as the service or account.",
    name: "a Deny with NotResource naming a variable in the region segment still applies",
    set: denyAllBut("arn:aws:lambda:${aws:RequestedRegion}:*"),
    request: invoke(FN, { "aws:RequestedRegion": "us-east-1" }),
    expected: "ExplicitDeny",
  },
];

describe("ARN matching, sentence by sentence (IAM User Guide)", () => {
  it.each(rows)("$name ($doc)", ({ set, request: req, expected }) => {
    expect(decisionOf(set, alice, req)).toBe(expected);
  });

  it("quotes a sentence for every row", () => {
    for (const row of rows) expect(row.says.length).toBeGreaterThan(20);
  });
});

describe("Principal ARNs (resource and trust policies)", () => {
  // "You cannot use a wildcard to match part of a principal name or ARN."
  it.each([`arn:aws:iam::${ACCOUNT}:user/al*`, `arn:aws:iam::${ACCOUNT}:user/alic?`, "arn:aws:iam::*:root"])(
    "refuses the partial wildcard %s (%s)",
    (arn) => {
      const doc = policy({ Effect: "Allow", Principal: { AWS: arn }, Action: "s3:GetObject", Resource: "*" });
      expect(parsePolicy(doc, { kind: "resource" }).findings).toContainEqual(
        expect.objectContaining({ code: "invalid-principal", severity: "error" }),
      );
    },
  );

  it(`matches a principal ARN exactly, with no wildcard meaning (${PRINCIPAL})`, () => {
    const grant = (arn: string) => ({
      identityPolicies: [],
      resourcePolicy: policy({ Effect: "Allow", Principal: { AWS: arn }, Action: "s3:GetObject", Resource: "*" }),
    });
    const get = request("s3:GetObject", `${BUCKET}/k`);
    expect(decisionOf(grant(alice.arn), alice, get)).toBe("Allow");
    expect(decisionOf(grant(alice.arn), aUser("alice2"), get)).toBe("ImplicitDeny");
    expect(decisionOf(grant(alice.arn), aUser("Alice"), get)).toBe("ImplicitDeny");
  });
});

describe(`policy variables in a 2008-10-17 or version-less policy (${VERSION})`, () => {
  // "variables such as ${aws:username} aren't recognized as variables and are instead treated as
  // literal strings"
  it.each([
    ["2008-10-17", { Version: "2008-10-17" }],
    ["no Version", {}],
  ])("%s: ${aws:username} is literal text", (_, version) => {
    const old = { ...version, Statement: [allow("s3:GetObject", `${BUCKET}/\${aws:username}/*`)] };
    const set = { identityPolicies: [old] };
    const ctx = { "aws:username": "alice" };
    expect(decisionOf(set, alice, request("s3:GetObject", `${BUCKET}/alice/k`, ctx))).toBe("ImplicitDeny");
    expect(decisionOf(set, alice, request("s3:GetObject", `${BUCKET}/\${aws:username}/k`, ctx))).toBe("Allow");
  });

  it("and in condition values", () => {
    const old = {
      Version: "2008-10-17",
      Statement: [allow("s3:ListBucket", BUCKET, { Condition: { StringLike: { "s3:prefix": "${aws:username}/*" } } })],
    };
    const set = { identityPolicies: [old] };
    const list = (prefix: string) => request("s3:ListBucket", BUCKET, { "aws:username": "alice", "s3:prefix": prefix });
    expect(decisionOf(set, alice, list("alice/x"))).toBe("ImplicitDeny");
    expect(decisionOf(set, alice, list("${aws:username}/x"))).toBe("Allow");
  });
});
