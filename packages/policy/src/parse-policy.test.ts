// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
import { describe, expect, it } from "vitest";
import { FINDING_CODES, type FindingCode } from "./finding.ts";
import { isValidAction, POLICY_SIZE_LIMITS, parsePolicy, policySize, validatePolicy } from "./parse-policy.ts";
import type { PolicyDocumentInput, PolicyKind } from "./policy.ts";

const V = "2012-10-17";
const GRAMMAR = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html";
const ELEMENTS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html";
const OPERATORS =
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html";
const VARIABLES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html";
const VERSION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html";
const PRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html";
const NOT_PRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html";
const CHECKS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html";
const QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html";
const KEYS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html";
const MULTI =
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html";

const s = (extra: Record<string, unknown>) => ({ Effect: "Allow", Action: "s3:GetObject", Resource: "*", ...extra });
const doc = (...statements: unknown[]) => ({ Version: V, Statement: statements });

interface Case {
  doc: string;
  code: FindingCode;
  path: string;
  input: PolicyDocumentInput;
  kind?: PolicyKind;
}

const cases: Case[] = [
  { doc: GRAMMAR, code: "malformed-json", path: "$", input: '{"Version": "2012-10-17", "Statement": [' },
  { doc: GRAMMAR, code: "not-an-object", path: "$", input: "[]" },
  {
    doc: ELEMENTS,
    code: "unknown-element",
    path: "$.Statement[0].Actions",
    input: doc({ Effect: "Allow", Actions: "s3:*", Action: "s3:*", Resource: "*" }),
  },
  {
    doc: ELEMENTS,
    code: "unknown-element",
    path: "$.statement",
    input: { Version: V, Statement: s({}), statement: [] },
  },
  {
    doc: GRAMMAR,
    code: "invalid-element-type",
    path: "$.Statement[0].Action[1]",
    input: doc(s({ Action: ["s3:GetObject", 7] })),
  },
  { doc: VERSION, code: "invalid-version", path: "$.Version", input: { Version: "2012-10-18", Statement: s({}) } },
  { doc: GRAMMAR, code: "invalid-id", path: "$.Id", input: { Version: V, Id: 5, Statement: s({}) } },
  { doc: GRAMMAR, code: "missing-statement", path: "$", input: { Version: V } },
  { doc: GRAMMAR, code: "empty-element", path: "$.Statement[0].Action", input: doc(s({ Action: [] })) },
  {
    doc: ELEMENTS,
    code: "invalid-sid",
    path: "$.Statement[0].Sid",
    input: doc(s({ Sid: "has spaces" })),
    kind: "managed",
  },
  { doc: GRAMMAR, code: "missing-effect", path: "$.Statement[0]", input: doc({ Action: "s3:*", Resource: "*" }) },
  {
    doc: GRAMMAR,
    code: "invalid-effect",
    path: "$.Statement.Effect",
    input: { Version: V, Statement: s({ Effect: "allow" }) },
  },
  { doc: GRAMMAR, code: "missing-action", path: "$.Statement[0]", input: doc({ Effect: "Allow", Resource: "*" }) },
  { doc: GRAMMAR, code: "action-and-not-action", path: "$.Statement[0]", input: doc(s({ NotAction: "iam:*" })) },
  {
    doc: CHECKS,
    code: "invalid-action",
    path: "$.Statement[0].Action[1]",
    input: doc(s({ Action: ["s3:GetObject", "s3 GetObject"] })),
  },
  {
    doc: PRINCIPAL,
    code: "trust-action-not-sts",
    path: "$.Statement[0].Action",
    input: doc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "s3:GetObject" }),
    kind: "trust",
  },
  {
    doc: GRAMMAR,
    code: "missing-resource",
    path: "$.Statement[0]",
    input: doc({ Effect: "Allow", Action: "s3:*" }),
    kind: "managed",
  },
  {
    doc: GRAMMAR,
    code: "resource-and-not-resource",
    path: "$.Statement[0]",
    input: doc(s({ NotResource: "arn:aws:s3:::b" })),
  },
  {
    doc: PRINCIPAL,
    code: "resource-not-allowed",
    path: "$.Statement[0].Resource",
    input: doc({ Effect: "Allow", Principal: { AWS: "111122223333" }, Action: "sts:AssumeRole", Resource: "*" }),
    kind: "trust",
  },
  {
    doc: CHECKS,
    code: "invalid-resource",
    path: "$.Statement[0].Resource",
    input: doc(s({ Resource: "s3:::bucket" })),
  },
  { doc: PRINCIPAL, code: "missing-principal", path: "$.Statement[0]", input: doc(s({})), kind: "resource" },
  {
    doc: PRINCIPAL,
    code: "missing-principal",
    path: "$.Statement[0]",
    input: doc({ Effect: "Allow", Action: "sts:AssumeRole" }),
    kind: "trust",
  },
  {
    doc: PRINCIPAL,
    code: "principal-not-allowed",
    path: "$.Statement[0].Principal",
    input: doc(s({ Principal: "*" })),
    kind: "inline-user",
  },
  {
    doc: PRINCIPAL,
    code: "principal-not-allowed",
    path: "$.Statement[0].Principal",
    input: doc(s({ Principal: { AWS: "111122223333" } })),
    kind: "scp",
  },
  {
    doc: NOT_PRINCIPAL,
    code: "principal-not-allowed",
    path: "$.Statement[0].NotPrincipal",
    input: doc({ Effect: "Deny", NotPrincipal: { AWS: "111122223333" }, Action: "sts:AssumeRole" }),
    kind: "trust",
  },
  {
    doc: PRINCIPAL,
    code: "principal-and-not-principal",
    path: "$.Statement[0]",
    input: doc(s({ Principal: "*", NotPrincipal: { AWS: "111122223333" } })),
    kind: "resource",
  },
  {
    doc: PRINCIPAL,
    code: "invalid-principal",
    path: "$.Statement[0].Principal.AWS[1]",
    input: doc(s({ Principal: { AWS: ["111122223333", "arn:aws:iam::111122223333:user/*"] } })),
    kind: "resource",
  },
  {
    doc: PRINCIPAL,
    code: "invalid-principal",
    path: "$.Statement[0].Principal.Aws",
    input: doc(s({ Principal: { Aws: "111122223333" } })),
    kind: "resource",
  },
  {
    doc: OPERATORS,
    code: "unknown-condition-operator",
    path: "$.Statement[1].Condition.StringLikee",
    input: doc(s({}), s({ Condition: { StringLikee: { "s3:prefix": "a" } } })),
  },
  {
    doc: OPERATORS,
    code: "unknown-condition-operator",
    path: "$.Statement[0].Condition.NullIfExists",
    input: doc(s({ Condition: { NullIfExists: { "s3:prefix": "true" } } })),
  },
  {
    doc: OPERATORS,
    code: "invalid-condition",
    path: "$.Statement[0].Condition.StringEquals",
    input: doc(s({ Condition: { StringEquals: "s3:prefix" } })),
  },
  {
    doc: OPERATORS,
    code: "invalid-condition-key",
    path: "$.Statement[0].Condition.StringEquals.prefix",
    input: doc(s({ Condition: { StringEquals: { prefix: "a" } } })),
  },
  {
    doc: OPERATORS,
    code: "invalid-condition-value",
    path: "$.Statement[0].Condition.NumericLessThan['s3:max-keys']",
    input: doc(s({ Condition: { NumericLessThan: { "s3:max-keys": "ten" } } })),
  },
  {
    doc: OPERATORS,
    code: "invalid-condition-value",
    path: "$.Statement[0].Condition.DateGreaterThan['aws:CurrentTime']",
    input: doc(s({ Condition: { DateGreaterThan: { "aws:CurrentTime": "2024-02-30T00:00:00Z" } } })),
  },
  {
    doc: OPERATORS,
    code: "invalid-condition-value",
    path: "$.Statement[0].Condition.IpAddress['aws:SourceIp'][1]",
    input: doc(s({ Condition: { IpAddress: { "aws:SourceIp": ["10.0.0.0/8", "10.0.0.0/33"] } } })),
  },
  {
    doc: OPERATORS,
    code: "invalid-condition-value",
    path: "$.Statement[0].Condition.Bool['aws:SecureTransport']",
    input: doc(s({ Condition: { Bool: { "aws:SecureTransport": "yes" } } })),
  },
  {
    doc: OPERATORS,
    code: "invalid-condition-value",
    path: "$.Statement[0].Condition.BinaryEquals['ssm:blob']",
    input: doc(s({ Condition: { BinaryEquals: { "ssm:blob": "not base64!" } } })),
  },
  {
    doc: OPERATORS,
    code: "invalid-condition-value",
    path: "$.Statement[0].Condition.ArnLike['aws:SourceArn']",
    input: doc(s({ Condition: { ArnLike: { "aws:SourceArn": "arn:aws:s3" } } })),
  },
  {
    doc: VARIABLES,
    code: "invalid-policy-variable",
    path: "$.Statement[0].Resource",
    input: doc(s({ Resource: "arn:aws:s3:::b/${aws:username" })),
  },
  {
    doc: VARIABLES,
    code: "policy-variable-in-old-version",
    path: "$.Statement[0].Resource",
    input: { Version: "2008-10-17", Statement: [s({ Resource: "arn:aws:s3:::b/${aws:username}/*" })] },
  },
  {
    doc: VARIABLES,
    code: "policy-variable-in-old-version",
    path: "$.Statement[0].Condition.StringEquals['s3:prefix']",
    input: { Statement: [s({ Condition: { StringEquals: { "s3:prefix": "${aws:username}" } } })] },
  },
  {
    doc: QUOTAS,
    code: "policy-too-large",
    path: "$",
    input: doc(s({ Resource: `arn:aws:s3:::${"x".repeat(2100)}` })),
    kind: "inline-user",
  },
  { doc: VERSION, code: "missing-version", path: "$", input: { Statement: s({}) } },
  {
    doc: CHECKS,
    code: "duplicate-sid",
    path: "$.Statement[1].Sid",
    input: doc(s({ Sid: "A" }), s({ Sid: "A", Action: "s3:PutObject" })),
  },
  { doc: CHECKS, code: "duplicate-statement", path: "$.Statement[1]", input: doc(s({ Sid: "A" }), s({ Sid: "B" })) },
  {
    doc: CHECKS,
    code: "redundant-statement",
    path: "$.Statement[0]",
    input: doc(
      s({ Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k" }),
      s({ Action: "s3:Get*", Resource: "arn:aws:s3:::b/*" }),
    ),
  },
  {
    doc: CHECKS,
    code: "allow-with-not-action",
    path: "$.Statement[0].NotAction",
    input: doc({ Effect: "Allow", NotAction: "iam:*", Resource: "*" }),
  },
  {
    doc: CHECKS,
    code: "allow-with-not-resource",
    path: "$.Statement[0].NotResource",
    input: doc({ Effect: "Allow", Action: "s3:*", NotResource: "arn:aws:s3:::b" }),
  },
  {
    doc: CHECKS,
    code: "allow-with-not-principal",
    path: "$.Statement[0].NotPrincipal",
    input: doc(s({ NotPrincipal: { AWS: "111122223333" } })),
    kind: "resource",
  },
  {
    doc: KEYS,
    code: "unknown-global-condition-key",
    path: "$.Statement[0].Condition.Bool['aws:SecureTransports']",
    input: doc(s({ Condition: { Bool: { "aws:SecureTransports": "true" } } })),
  },
  {
    doc: MULTI,
    code: "set-operator-on-single-valued-key",
    path: "$.Statement[0].Condition['ForAnyValue:StringEquals']['aws:RequestedRegion']",
    input: doc(s({ Condition: { "ForAnyValue:StringEquals": { "aws:RequestedRegion": "us-east-1" } } })),
  },
  {
    doc: MULTI,
    code: "missing-set-operator-on-multivalued-key",
    path: "$.Statement[0].Condition.StringEquals['aws:TagKeys']",
    input: doc(s({ Condition: { StringEquals: { "aws:TagKeys": "team" } } })),
  },
  {
    doc: MULTI,
    code: "for-all-values-with-allow",
    path: "$.Statement[0].Condition['ForAllValues:StringEquals']['aws:TagKeys']",
    input: doc(s({ Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": "team" } } })),
  },
];

describe("validation findings", () => {
  it.each(cases)("$code at $path ($doc)", ({ input, kind, code, path }) => {
    const findings = validatePolicy(input, kind === undefined ? {} : { kind });
    expect(findings).toContainEqual(expect.objectContaining({ code, path }));
    const finding = findings.find((f) => f.code === code && f.path === path);
    const isWarning = FINDING_CODES.indexOf(code) >= FINDING_CODES.indexOf("missing-version");
    expect(finding?.severity).toBe(isWarning ? "warning" : "error");
    expect(finding?.message.length).toBeGreaterThan(10);
  });

  it("covers every finding code", () => {
    expect(new Set(cases.map((c) => c.code))).toEqual(new Set(FINDING_CODES));
  });

  it("returns no policy when there is an error, and a policy when there are only warnings", () => {
    expect(parsePolicy(doc(s({ Effect: "Permit" }))).policy).toBeUndefined();
    const { policy, findings } = parsePolicy({ Statement: s({}) }, { id: "p1" });
    expect(findings.map((f) => f.code)).toEqual(["missing-version"]);
    expect(policy?.version).toBe("2008-10-17");
    expect(policy?.versionSpecified).toBe(false);
    expect(policy?.id).toBe("p1");
  });

  it.each([
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    doc(
      {
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: ["arn:aws:s3:::amzn-s3-demo-bucket"],
        Condition: { StringLike: { "s3:prefix": ["${aws:username}/*"] } },
      },
      {
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject"],
        Resource: ["arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/*"],
      },
    ),
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-ip.html
    doc({
      Effect: "Deny",
      Action: "*",
      Resource: "*",
      Condition: {
        NotIpAddress: { "aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"] },
        Bool: { "aws:ViaAWSService": "false" },
      },
    }),
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_dates.html
    doc({
      Effect: "Allow",
      Action: "ec2:*",
      Resource: "*",
      Condition: {
        DateGreaterThan: { "aws:CurrentTime": "2020-04-01T00:00:00Z" },
        DateLessThan: { "aws:CurrentTime": "2020-06-30T23:59:59Z" },
      },
    }),
  ])("raises nothing on AWS documentation examples (%#)", (example) => {
    expect(validatePolicy(example, { kind: "managed" })).toEqual([]);
  });

  it("accepts Statement as a single object and reports paths without an index", () => {
    expect(validatePolicy({ Version: V, Statement: s({ Effect: "Maybe" }) })).toContainEqual(
      expect.objectContaining({ code: "invalid-effect", path: "$.Statement.Effect" }),
    );
  });

  it("accepts a 2008-10-17 policy without variables", () => {
    expect(parsePolicy({ Version: "2008-10-17", Statement: [s({})] }).policy?.version).toBe("2008-10-17");
  });
});

describe("size limits (whitespace outside strings not counted)", () => {
  const sized = (size: number) => {
    const base = doc(s({ Resource: "arn:aws:s3:::" }));
    const pad = size - JSON.stringify(base).length;
    return doc(s({ Resource: `arn:aws:s3:::${"x".repeat(pad)}` }));
  };
  it.each(Object.entries(POLICY_SIZE_LIMITS) as [PolicyKind, number][])("%s: %d characters (%s)", (kind, limit) => {
    const kindDoc = (size: number) => {
      const d = sized(size);
      if (kind !== "trust") return d;
      const trust = {
        Version: V,
        Statement: [
          {
            Effect: "Allow",
            Principal: { AWS: "111122223333" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "sts:ExternalId": "" } },
          },
        ],
      };
      const pad = size - JSON.stringify(trust).length;
      return {
        Version: V,
        Statement: [{ ...trust.Statement[0], Condition: { StringEquals: { "sts:ExternalId": "x".repeat(pad) } } }],
      };
    };
    const atLimit = kindDoc(limit);
    expect(JSON.stringify(atLimit).length).toBe(limit);
    const tooLarge = (f: ReturnType<typeof validatePolicy>) => f.some((x) => x.code === "policy-too-large");
    expect(tooLarge(validatePolicy(atLimit, { kind }))).toBe(false);
    expect(tooLarge(validatePolicy(JSON.stringify(atLimit, null, 8), { kind }))).toBe(false);
    expect(tooLarge(validatePolicy(kindDoc(limit + 1), { kind }))).toBe(true);
  });

  it("expects the documented limits", () => {
    expect(POLICY_SIZE_LIMITS).toMatchObject({
      managed: 6144,
      "inline-user": 2048,
      "inline-group": 5120,
      "inline-role": 10240,
      trust: 2048,
    });
  });

  it("counts whitespace inside strings", () => {
    expect(policySize('{ "a" : " b c " }')).toBe('{"a":" b c "}'.length);
    expect(policySize('{"a":"\\" x"}')).toBe(12);
  });
});

describe("isValidAction", () => {
  it("accepts exactly what the action grammar's regular expression accepts", () => {
    const grammar = /^(\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+)$/;
    const samples = [
      "*",
      "s3:GetObject",
      "s3:*",
      "s3-object-lambda:Get*",
      "ec2:Describe?nstances",
      "a4b:Get_Thing",
      "a_b:Get",
      "s3:",
      ":Get",
      "s3::Get",
      "s3:Get:Object",
      "s3",
      "",
      "**",
      "s3:Get Object",
      "s3:GetÖbject",
      "S3:get-object",
      "*:*",
      "?:?",
      "s3:Get/Object",
    ];
    const chars = ["a", "Z", "0", "*", "?", "-", "_", ":", " ", ".", "é"];
    for (const x of chars)
      for (const y of chars) for (const z of chars) samples.push(`${x}${y}${z}`, `s3${x}:${y}${z}`);
    for (const a of samples) expect([a, isValidAction(a)]).toEqual([a, grammar.test(a)]);
  });
});
