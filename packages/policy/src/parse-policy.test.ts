// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
import { describe, expect, it } from "vitest";
import { FINDING_CODES } from "./finding.ts";
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
  /** The engine's own codes; the service-reference codes are tested in @gatehouse/policy-reference. */
  code: (typeof FINDING_CODES)[number];
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
    doc: VERSION,
    code: "policy-variable-in-old-version",
    path: "$.Statement[0].Resource",
    input: { Version: "2008-10-17", Statement: [s({ Resource: "arn:aws:s3:::b/${aws:username}/*" })] },
  },
  {
    doc: VERSION,
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
  {
    doc: GRAMMAR,
    code: "nesting-too-deep",
    path: "$",
    input: doc(
      s({ Condition: { StringEquals: { "aws:username": JSON.parse(`${"[".repeat(40)}"x"${"]".repeat(40)}`) } } }),
    ),
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
    doc: VARIABLES,
    code: "policy-variable-outside-resource-part",
    path: "$.Statement[0].Resource",
    input: doc(s({ Resource: "arn:aws:iam::${aws:PrincipalAccount}:role/x" })),
  },
  {
    doc: OPERATORS,
    code: "arn-condition-value-matches-nothing",
    path: "$.Statement[0].Condition.ArnLike['aws:SourceArn']",
    input: doc(s({ Condition: { ArnLike: { "aws:SourceArn": "arn:aws:iam::*" } } })),
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

  it("accepts a 2008-10-17 or version-less policy with ${…} as literal text, with a warning", () => {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html: there
    // "variables such as ${aws:username} aren't recognized as variables and are instead treated as
    // literal strings". IAM accepts the policy; Access Analyzer-style validation warns.
    for (const input of [
      { Version: "2008-10-17", Statement: [s({ Resource: "arn:aws:s3:::b/${aws:username" })] },
      { Statement: [s({ Condition: { StringLike: { "s3:prefix": "${aws:username}/*" } } })] },
    ]) {
      const { policy, findings } = parsePolicy(input);
      expect(policy?.version).toBe("2008-10-17");
      expect(findings.filter((f) => f.severity === "error")).toEqual([]);
      expect(findings).toContainEqual(expect.objectContaining({ code: "policy-variable-in-old-version" }));
    }
  });

  it("treats ${…} before a Resource's fifth colon as literal text (no variable syntax error there)", () => {
    const { policy, findings } = parsePolicy(doc(s({ Resource: "arn:aws:s3:${bad}:111122223333:x/${aws:username}" })));
    expect(findings.map((f) => f.code)).toEqual(["policy-variable-outside-resource-part"]);
    expect(policy).toBeDefined();
    expect(validatePolicy(doc(s({ Resource: "arn:aws:s3:::b/${aws:username" })))).toContainEqual(
      expect.objectContaining({ code: "invalid-policy-variable" }),
    );
  });

  it.each([
    ["Statement", (deep: string) => `{"Version":"2012-10-17","Statement":${deep}}`],
    ["Version", (deep: string) => `{"Version":${deep},"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`],
    [
      "Resource",
      (deep: string) => `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":${deep}}}`,
    ],
    [
      "a condition value",
      (deep: string) =>
        `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":${deep}}}}}`,
    ],
    [
      "Principal",
      (deep: string) =>
        `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":{"AWS":${deep}}}}`,
    ],
    [
      "Sid",
      (deep: string) =>
        `{"Version":"2012-10-17","Statement":{"Sid":${deep},"Effect":"Allow","Action":"s3:*","Resource":"*"}}`,
    ],
    [
      "Effect",
      (deep: string) => `{"Version":"2012-10-17","Statement":{"Effect":${deep},"Action":"s3:*","Resource":"*"}}`,
    ],
    [
      "an unknown element",
      (deep: string) =>
        `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"},"Extra":${deep}}`,
    ],
  ])("reports nesting 10,000 deep in %s as an error finding instead of overflowing the stack", (_, wrap) => {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    for (const input of [wrap(deep), JSON.parse(wrap(deep)) as Record<string, unknown>]) {
      for (const kind of ["managed", "resource"] as const) {
        expect(validatePolicy(input, { kind })).toEqual([
          expect.objectContaining({ code: "nesting-too-deep", path: "$", severity: "error" }),
        ]);
      }
    }
  });

  it("accepts nesting up to the limit and reports a cyclic object as too deep", () => {
    const cyclic: Record<string, unknown> = { Version: V, Statement: s({}) };
    (cyclic.Statement as Record<string, unknown>).Condition = cyclic;
    expect(validatePolicy(cyclic).map((f) => f.code)).toEqual(["nesting-too-deep"]);
    // Document, Statement, statement, Condition, operator: 5 levels, then 27 arrays make 32.
    const nested = (arrays: number) =>
      JSON.parse(`{"StringEquals":{"aws:username":${"[".repeat(arrays)}"x"${"]".repeat(arrays)}}}`);
    const codes = (arrays: number) => validatePolicy(doc(s({ Condition: nested(arrays) }))).map((f) => f.code);
    expect(codes(27)).not.toContain("nesting-too-deep");
    expect(codes(27)).toContain("invalid-condition-value");
    expect(codes(28)).toEqual(["nesting-too-deep"]);
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

  it("skips the kind's size limit for stored documents (AWS managed policies as session policies or boundaries)", () => {
    const big = JSON.stringify({
      Version: V,
      Statement: [{ Effect: "Allow", Action: Array.from({ length: 400 }, (_, i) => `s3:Get${i}`), Resource: "*" }],
    });
    expect(parsePolicy(big, { kind: "session" }).policy).toBeUndefined();
    expect(parsePolicy(big, { kind: "session", ignoreSizeLimit: true }).policy?.kind).toBe("session");
    expect(parsePolicy(big, { kind: "boundary", ignoreSizeLimit: true }).policy?.kind).toBe("boundary");
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
