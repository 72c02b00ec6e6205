import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { Gatehouse } from "@gatehouse/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateInputLine } from "../commands/policy-evaluate.ts";
import { runGatehouse } from "../run-gatehouse.int-helper.ts";
import { parseAwsIamExport } from "./aws-iam-export.ts";

const fixture = fileURLToPath(new URL("./fixtures/aws-iam-details.json", import.meta.url));

const run = runGatehouse;

describe("gatehouse import aws-iam", () => {
  let stack: LiveStack;
  let env: Record<string, string>;
  let gh: Gatehouse;
  let operator: Gatehouse;
  let accountId: string;

  beforeAll(async () => {
    stack = await startLiveStack("cliimp");
    operator = new Gatehouse({ credentials: stack.operator, endpoints: { controlPlane: stack.controlPlane }, env: {} });
    const account = await operator.iam.createAccount({ accountAlias: "" });
    accountId = account.accountId;
    env = {
      GATEHOUSE_CONFIG_DIR: "/nonexistent",
      GATEHOUSE_ACCESS_KEY_ID: account.rootAccessKeyId,
      GATEHOUSE_SECRET_ACCESS_KEY: account.rootSecretAccessKey,
      GATEHOUSE_ENDPOINT_CONTROL_PLANE: stack.controlPlane,
    };
    gh = new Gatehouse({
      env,
      region: stack.region,
      endpoints: { regions: { [stack.region]: [stack.decider] } },
    });
  });
  afterAll(async () => {
    gh?.close();
    operator?.close();
    await stack?.close();
  });

  it("creates the export's principals and policies, then changes nothing on a second run", async () => {
    const first = await run(["import", "aws-iam", "--file", fixture], env);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(report.AccountId).toBe(accountId);
    const count = (type: string) => report.Created.filter((c: { Type: string }) => c.Type === type).length;
    expect(count("Policy")).toBe(7);
    expect(count("PolicyVersion")).toBe(3);
    expect(count("Group")).toBe(5);
    expect(count("Role")).toBe(10);
    expect(count("User")).toBe(17);
    expect(count("InstanceProfile")).toBe(2);
    // Gatehouse ships AWS's whole managed-policy catalogue: every attachment goes in, those to
    // AmazonS3ReadOnlyAccess and service-role/AWSLambdaBasicExecutionRole included (once refused).
    expect(report.Refused).toEqual([]);
    const attachedTo = async (kind: "Group" | "Role", name: string) => {
      const r =
        kind === "Group"
          ? await gh.iam.listAttachedGroupPolicies({ groupName: name })
          : await gh.iam.listAttachedRolePolicies({ roleName: name });
      return r.attachedPolicies.map((p) => p.policyArn);
    };
    expect(await attachedTo("Group", "DataEngineers")).toContain("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess");
    expect(await attachedTo("Role", "data-pipeline")).toContain("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess");
    expect(await attachedTo("Role", "lambda-orders-api")).toContain(
      "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    );

    // What was imported is what the export says.
    const s3 = await gh.iam.getPolicy({ policyArn: `arn:aws:iam::${accountId}:policy/app/S3AppDataReadWrite` });
    expect(s3.policy?.defaultVersionId).toBe("v2");
    const v2 = await gh.iam.getPolicyVersion({ policyArn: s3.policy?.arn ?? "", versionId: "v2" });
    expect(JSON.parse(v2.policyVersion?.document ?? "{}").Statement[0].Sid).toBe("Objects");
    const mallory = await gh.iam.getUser({ userName: "mallory.contractor" });
    expect(mallory.user?.permissionsBoundaryArn).toBe(`arn:aws:iam::${accountId}:policy/boundaries/DeveloperBoundary`);
    expect(mallory.user?.path).toBe("/people/");
    const groups = [];
    for await (const g of gh.iam.paginate.listGroupsForUser({ userName: "carol.smith" })) groups.push(g.groupName);
    expect(groups).toEqual(["DataEngineers", "Developers"]);
    const web = await gh.iam.getInstanceProfile({ instanceProfileName: "ec2-web-profile" });
    expect(web.instanceProfile?.roles.map((r) => r.roleName)).toEqual(["ec2-web"]);
    const pipeline = await gh.iam.getRole({ roleName: "ec2-web" });
    expect(pipeline.role).toMatchObject({ description: "Web tier instances", maxSessionDuration: 3600 });

    const before = await gh.iam.getAccountSummary();
    const second = await run(["import", "aws-iam", fixture], env);
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout);
    expect(again.Summary).toMatchObject({ Created: 0, Updated: 0 });
    expect(again.Summary.Skipped).toBeGreaterThan(report.Summary.Created - 1);
    expect(again.Refused).toEqual(report.Refused);
    expect((await gh.iam.getAccountSummary()).summaryMap).toEqual(before.summaryMap);
  });

  it("exports the account in the same format, and an import of that export into another account exports the same", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-export-"));
    try {
      const a = join(dir, "a.json");
      const exported = await run(["export", "aws-iam", "--file", a], env);
      expect(exported.code, exported.stderr).toBe(0);
      const other = await operator.iam.createAccount({ accountAlias: "" });
      const envB = {
        ...env,
        GATEHOUSE_ACCESS_KEY_ID: other.rootAccessKeyId,
        GATEHOUSE_SECRET_ACCESS_KEY: other.rootSecretAccessKey,
      };
      const imported = await run(["import", "aws-iam", "--file", a], envB);
      expect(imported.code, imported.stderr).toBe(0);
      expect(JSON.parse(imported.stdout).Refused).toEqual([]);
      const b = await run(["export", "aws-iam"], envB);
      expect(b.code, b.stderr).toBe(0);
      // Ids, dates and the account id differ; everything else must be the same.
      const normalize = (text: string, account: string) =>
        JSON.parse(text.replaceAll(account, "ACCOUNT"), (key, value) =>
          /(Id|Date)$/.test(key) && key !== "DefaultVersionId" && key !== "VersionId" ? "…" : value,
        );
      const fromA = normalize(readFileSync(a, "utf8"), accountId);
      expect(fromA.UserDetailList).toHaveLength(17);
      expect(fromA.Policies.length).toBeGreaterThanOrEqual(7);
      expect(normalize(b.stdout, other.accountId)).toEqual(fromA);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives imported principals the decisions the pure engine gives on the export's documents", async () => {
    const data = parseAwsIamExport(readFileSync(fixture, "utf8"));
    const defaultDoc = (arn: string) => {
      const p = data.Policies.find((x) => x.Arn === arn);
      return p?.PolicyVersionList.find((v) => v.IsDefaultVersion)?.Document as string;
    };
    /** The identity policies of a user in the export: inline, attached, and its groups' (no AWS managed ones in these). */
    const policiesOf = (userName: string) => {
      const u = data.UserDetailList.find((x) => x.UserName === userName);
      if (u === undefined) throw new Error(userName);
      const groups = data.GroupDetailList.filter((g) => u.GroupList.includes(g.GroupName));
      return [
        ...u.UserPolicyList.map((p) => p.PolicyDocument),
        ...u.AttachedManagedPolicies.map((a) => defaultDoc(a.PolicyArn)),
        ...groups.flatMap((g) => [
          ...g.GroupPolicyList.map((p) => p.PolicyDocument),
          ...g.AttachedManagedPolicies.map((a) => defaultDoc(a.PolicyArn)),
        ]),
      ];
    };
    const checks: [string, string, string, Record<string, string>][] = [
      ["erin.kowalski", "ce:GetCostAndUsage", "*", {}],
      ["erin.kowalski", "s3:GetObject", "arn:aws:s3:::acme-app-data/k", {}],
      [
        "svc-backup",
        "s3:PutObject",
        "arn:aws:s3:::acme-backups/db.dump",
        { "s3:x-amz-server-side-encryption": "aws:kms" },
      ],
      [
        "svc-backup",
        "s3:PutObject",
        "arn:aws:s3:::acme-backups/db.dump",
        { "s3:x-amz-server-side-encryption": "AES256" },
      ],
      ["svc-ci-deploy", "lambda:UpdateFunctionCode", "arn:aws:lambda:us-east-1:123456789012:function:api", {}],
      ["dave.okafor", "ec2:DescribeInstances", "*", {}],
    ];
    // The import ran in another process: the account's revision now, from the operator's list.
    let revision = 0;
    for await (const a of operator.iam.paginate.listAccounts()) if (a.accountId === accountId) revision = a.revision;
    expect(revision).toBeGreaterThan(50);
    let seen = 0;
    for (const [userName, action, resource, context] of checks) {
      const user = await gh.iam.getUser({ userName });
      const arn = user.user?.arn ?? "";
      const region = await gh.authz.authorize({ principalArn: arn, action, resource, context, minRevision: revision });
      const engine = evaluateInputLine(
        JSON.stringify({
          identityPolicies: policiesOf(userName),
          principal: { arn, accountId },
          request: { action, resource, context: { ...context, "aws:username": userName } },
        }),
        1,
        { explain: false },
      );
      expect({ userName, action, context, decision: region.decision }).toEqual({
        userName,
        action,
        context,
        decision: "decision" in engine ? engine.decision : engine,
      });
      seen++;
    }
    expect(seen).toBe(checks.length);
  });
});
