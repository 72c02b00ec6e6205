// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables and ARN formats are literal ${…} text
import { type FindingCode, SERVICE_REFERENCE_FINDING_CODES, validatePolicy } from "@gatehouse/policy";
import { describe, expect, it } from "vitest";
import { checkAgainstServiceReference } from "./check-against-service-reference.ts";
import { loadServiceReference } from "./service-reference.ts";
import { referencedServices, validateAgainstServiceReference } from "./validate-against-service-reference.ts";

// Real AWS actions, resource types and condition keys throughout, read from the dataset: the
// Service Authorization Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/

const doc = (...statements: object[]) => ({ Version: "2012-10-17", Statement: statements });
const allow = (action: string | string[], resource: string | string[], extra: object = {}) => ({
  Effect: "Allow",
  Action: action,
  Resource: resource,
  ...extra,
});

interface Case {
  name: string;
  input: Record<string, unknown>;
  code: FindingCode;
  path: string;
  /** A part of the message. */
  says: string;
}

const cases: Case[] = [
  {
    name: "a typo in an action name, with the nearest action of the service",
    input: doc(allow("s3:GetObjekt", "arn:aws:s3:::reports/*")),
    code: "unknown-action",
    path: "$.Statement[0].Action",
    says: 'did you mean "s3:GetObject"?',
  },
  {
    name: "a service prefix AWS does not have, with the nearest prefix",
    input: doc(allow(["s3:GetObject", "lamda:InvokeFunction"], "*")),
    code: "unknown-service",
    path: "$.Statement[0].Action[1]",
    says: 'did you mean "lambda:InvokeFunction"?',
  },
  {
    name: "an action wildcard that matches no action of its service",
    input: doc(allow("s3:Gett*", "*")),
    code: "action-wildcard-matches-nothing",
    path: "$.Statement[0].Action",
    says: '"s3:Gett*" matches no action of service s3',
  },
  {
    name: "s3:prefix on s3:GetObject (only s3:ListBucket supports it)",
    input: doc(
      allow("s3:GetObject", "arn:aws:s3:::reports/*", { Condition: { StringLike: { "s3:prefix": "home/" } } }),
    ),
    code: "unsupported-condition-key",
    path: "$.Statement[0].Condition.StringLike['s3:prefix']",
    says: 'no action of this statement supports "s3:prefix" (s3:GetObject)',
  },
  {
    name: "a service condition key its service does not define, with the nearest key",
    input: doc({
      Effect: "Deny",
      NotAction: "s3:ListBucket",
      Resource: "*",
      Condition: { StringLike: { "s3:prefixx": "a" } },
    }),
    code: "unsupported-condition-key",
    path: "$.Statement[0].Condition.StringLike['s3:prefixx']",
    says: 'not a condition key of service s3 (did you mean "s3:prefix"?)',
  },
  {
    name: "ec2:DescribeInstances (no resource-level permissions) with a specific Resource",
    input: doc(allow("ec2:DescribeInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-0abcd1234")),
    code: "no-resource-level-permissions",
    path: "$.Statement[0].Action",
    says: 'ec2:DescribeInstances supports no resource-level permissions (AWS authorizes it against the resource "*")',
  },
  {
    name: "a wildcard that names only actions without resource-level permissions",
    input: doc(allow(["ec2:StartInstances", "ec2:DescribeInstanceType*"], "arn:aws:ec2:*:111122223333:instance/*")),
    code: "no-resource-level-permissions",
    path: "$.Statement[0].Action[1]",
    says: 'actions "ec2:DescribeInstanceType*" names support no resource-level permissions',
  },
  {
    name: "an S3 ARN for iam:CreateUser (wrong service)",
    input: doc(allow("iam:CreateUser", "arn:aws:s3:::reports")),
    code: "resource-matches-no-action",
    path: "$.Statement[0].Resource",
    says: '"arn:aws:s3:::reports" is an ARN of service s3, but the actions of this statement act only on iam resources',
  },
  {
    name: "objects for s3:ListBucket, which acts on buckets (wrong shape)",
    input: doc(allow("s3:ListBucket", ["arn:aws:s3:::reports/*"])),
    code: "resource-matches-no-action",
    path: "$.Statement[0].Resource[0]",
    says: "fits none of the resource types of this statement's actions: accesspoint",
  },
  {
    name: "a role ARN that is a user's for iam:CreateUser (wrong resource type)",
    input: doc(allow("iam:CreateUser", "arn:aws:iam::111122223333:role/admin")),
    code: "resource-matches-no-action",
    path: "$.Statement[0].Resource",
    says: "user (arn:${Partition}:iam::${Account}:user/${UserNameWithPath})",
  },
  {
    name: "a single Statement object (paths without an index)",
    input: { Version: "2012-10-17", Statement: allow("iam:CreateUzer", "*") },
    code: "unknown-action",
    path: "$.Statement.Action",
    says: 'did you mean "iam:CreateUser"?',
  },
  {
    name: "NotAction still gets its names checked",
    input: doc({ Effect: "Allow", NotAction: ["iam:*", "s3:GetObjekt"], Resource: "*" }),
    code: "unknown-action",
    path: "$.Statement[0].NotAction[1]",
    says: 'did you mean "s3:GetObject"?',
  },
];

describe("validateAgainstServiceReference", () => {
  it.each(cases)("$code: $name", async ({ input, code, path, says }) => {
    const findings = await validateAgainstServiceReference(input);
    const finding = findings.find((f) => f.code === code && f.path === path);
    expect(finding, JSON.stringify(findings, null, 2)).toBeDefined();
    expect(finding?.severity).toBe("warning");
    expect(finding?.message).toContain(says);
    // The engine's own validation finds nothing wrong with these documents (a warning at most):
    // these findings need the service reference.
    expect(validatePolicy(input).filter((f) => f.severity === "error")).toEqual([]);
  });

  it("covers every service-reference finding code", () => {
    expect(new Set(cases.map((c) => c.code))).toEqual(new Set(SERVICE_REFERENCE_FINDING_CODES));
  });

  it("reports the same JSON paths as the engine's own findings", async () => {
    // An unknown global key gets an engine warning at a path; a service key at the same place
    // gets ours: both paths must have the same spelling.
    const input = doc(
      allow("s3:GetObject", "*", { Condition: { StringLike: { "aws:usrname": "x", "s3:prefix": "y" } } }),
    );
    const engine = validatePolicy(input).find((f) => f.code === "unknown-global-condition-key");
    const ours = (await validateAgainstServiceReference(input)).find((f) => f.code === "unsupported-condition-key");
    expect(engine?.path).toBe("$.Statement[0].Condition.StringLike['aws:usrname']");
    expect(ours?.path).toBe("$.Statement[0].Condition.StringLike['s3:prefix']");
  });

  const clean: [string, Record<string, unknown>][] = [
    [
      "s3:prefix on s3:ListBucket",
      doc(
        allow("s3:ListBucket", "arn:aws:s3:::reports", {
          Condition: { StringLike: { "s3:prefix": ["home/${aws:username}/*"] } },
        }),
      ),
    ],
    [
      "the IAM User Guide's home-folder policy (policy variables in ARNs)",
      doc(
        allow(["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "*"),
        allow("s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket", {
          Condition: { StringLike: { "s3:prefix": ["", "home/", "home/${aws:username}/*"] } },
        }),
        allow("s3:*", [
          "arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}",
          "arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*",
        ]),
      ),
    ],
    [
      "IAMUserChangePassword (AWS managed, v5)",
      doc(
        allow(["iam:ChangePassword"], ["arn:aws:iam::*:user/${aws:username}", "arn:aws:iam::*:user/*/${aws:username}"]),
        allow(["iam:GetAccountPasswordPolicy"], "*"),
      ),
    ],
    [
      "AmazonEC2ReadOnlyAccess (AWS managed, v5)",
      doc(
        allow(["ec2:Describe*", "ec2:GetSecurityGroupsForVpc"], "*"),
        allow("elasticloadbalancing:Describe*", "*"),
        allow(["cloudwatch:ListMetrics", "cloudwatch:GetMetricStatistics", "cloudwatch:Describe*"], "*"),
        allow("autoscaling:Describe*", "*"),
      ),
    ],
    [
      "AmazonDynamoDBReadOnlyAccess's contributor-insights statement (AWS managed, v15)",
      doc(allow("cloudwatch:GetInsightRuleReport", "arn:aws:cloudwatch:*:*:insight-rule/DynamoDBContributorInsights*")),
    ],
    [
      "a Lambda function's log statement (slashes and colons inside the resource part)",
      doc(
        allow("logs:CreateLogGroup", "arn:aws:logs:us-east-1:111122223333:*"),
        allow(
          ["logs:CreateLogStream", "logs:PutLogEvents"],
          "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/my-fn:*",
        ),
      ),
    ],
    [
      "tag-based EC2 control (ec2:ResourceTag/${TagKey}) and DescribeInstances on *",
      doc(
        allow(["ec2:StartInstances", "ec2:StopInstances"], "arn:aws:ec2:*:111122223333:instance/*", {
          Condition: {
            StringEquals: { "ec2:ResourceTag/Owner": "${aws:username}", "aws:RequestedRegion": "us-east-1" },
          },
        }),
        allow("ec2:DescribeInstances", "*"),
      ),
    ],
    [
      "iam:PassRole with iam:PassedToService, kms:Decrypt with kms:ViaService",
      doc(
        allow("iam:PassRole", "arn:aws:iam::111122223333:role/lambda-*", {
          Condition: { StringEquals: { "iam:PassedToService": "lambda.amazonaws.com" } },
        }),
        allow("kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/*", {
          Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } },
        }),
      ),
    ],
    [
      "a key the dataset spells secretsmanager:ResourceTag/tag-key, and a cross-service key",
      doc(
        allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-*", {
          Condition: { StringEquals: { "secretsmanager:ResourceTag/aws:secretsmanager:owningService": "rds" } },
        }),
        allow("s3:GetObject", "arn:aws:s3:::reports/*", {
          Condition: { ArnLike: { "ec2:SourceInstanceArn": "arn:aws:ec2:*:111122223333:instance/*" } },
        }),
      ),
    ],
    [
      "a Lambda alias ARN",
      doc(
        allow("lambda:InvokeFunction", [
          "arn:aws:lambda:us-east-1:111122223333:function:api",
          "arn:aws:lambda:us-east-1:111122223333:function:api:*",
        ]),
      ),
    ],
    [
      "a role trust policy with sts:ExternalId and a federated key of no service",
      {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { AWS: "arn:aws:iam::444455556666:root" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "sts:ExternalId": "x" } },
          },
          {
            Effect: "Allow",
            Principal: { Federated: "accounts.google.com" },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { "accounts.google.com:aud": "app" } },
          },
        ],
      },
    ],
    ["s3:ListAllMyBuckets on arn:aws:s3:::* (the whole service)", doc(allow("s3:ListAllMyBuckets", "arn:aws:s3:::*"))],
    [
      'ec2:DescribeInstances with "*" beside an instance ARN',
      doc(allow(["ec2:DescribeInstances", "ec2:StopInstances"], ["*", "arn:aws:ec2:*:111122223333:instance/i-1"])),
    ],
    [
      "NotAction and NotResource: only the name checks apply",
      doc(
        {
          Effect: "Deny",
          NotAction: ["iam:*", "sts:GetCallerIdentity"],
          Resource: "*",
          // No iam or sts action supports s3:prefix, but NotAction names what the statement leaves out.
          Condition: { StringEquals: { "s3:prefix": "x" } },
        },
        { Effect: "Deny", Action: "ec2:DescribeInstances", NotResource: "arn:aws:ec2:*:*:instance/i-1" },
      ),
    ],
    ["Action *", doc(allow("*", "arn:aws:s3:::reports/*", { Condition: { StringLike: { "s3:prefix": "x" } } }))],
    ["a wildcard service prefix", doc(allow("s3*:Get*", "arn:aws:nothing:::x"))],
  ];

  it.each(clean)("finds nothing in %s", async (_name, input) => {
    expect(await validateAgainstServiceReference(input)).toEqual([]);
  });

  it("ignores what is not a policy (the engine reports it)", async () => {
    expect(await validateAgainstServiceReference("{ nope")).toEqual([]);
    expect(await validateAgainstServiceReference({ Statement: [7, { Action: 7, Resource: [1] }] })).toEqual([]);
  });
});

describe("referencedServices", () => {
  it("names the services of actions and condition keys, lower case", () => {
    const input = doc(
      allow("S3:GetObject", "*", { Condition: { StringEquals: { "kms:ViaService": "x", "aws:SourceIp": "1.2.3.4" } } }),
      { Effect: "Deny", NotAction: "iam:*", Resource: "*" },
    );
    expect(referencedServices(input)).toEqual(new Set(["s3", "kms", "aws", "iam"]));
  });
});

describe("loadServiceReference", () => {
  it("loads the named services and lists every service prefix", async () => {
    const reference = await loadServiceReference(["S3", "no-such-service"]);
    expect([...reference.services.keys()]).toEqual(["s3"]);
    expect(reference.servicePrefixes.size).toBeGreaterThan(400);
    expect(reference.servicePrefixes.has("ec2")).toBe(true);
    const getObject = reference.services.get("s3")?.actions.get("getobject");
    expect(getObject?.name).toBe("GetObject");
    expect(getObject?.resourceTypes.map((r) => r.name)).toContain("object");
    expect(reference.services.get("s3")?.resourceTypes.get("bucket")?.arn).toBe("arn:${Partition}:s3:::${BucketName}");
  });

  it("checks nothing of a known service it was not given", async () => {
    const reference = await loadServiceReference(["iam"]);
    expect(checkAgainstServiceReference(doc(allow("s3:GetObjekt", "*")), reference)).toEqual([]);
  });
});
