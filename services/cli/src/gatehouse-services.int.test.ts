// The `gatehouse` executable, run as a process, against a real control plane and a real region.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deadPort, type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { type SignInResponse, SignInServiceClient, SignInStatus } from "@gatehouse/proto";
import { credentials as grpcCredentials, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runGatehouse } from "./run-gatehouse.int-helper.ts";

const run = runGatehouse;

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });

describe("gatehouse iam / authz / region / configure against a live stack", () => {
  let stack: LiveStack;
  let dir: string;
  let env: Record<string, string>;
  let accountId: string;
  const gh = (...args: string[]) => run(["--profile", "demo", ...args], env);

  beforeAll(async () => {
    stack = await startLiveStack("cli");
    dir = await mkdtemp(join(tmpdir(), "gatehouse-cli-"));
    env = { GATEHOUSE_CONFIG_DIR: dir };
    const created = await run(["--endpoint-url", stack.controlPlane, "iam", "create-account"], {
      ...env,
      GATEHOUSE_ACCESS_KEY_ID: stack.operator.accessKeyId,
      GATEHOUSE_SECRET_ACCESS_KEY: stack.operator.secretAccessKey,
    });
    expect(created.code, created.stderr).toBe(0);
    accountId = created.json.AccountId;
    const dead = await deadPort();
    const configured = await run(
      [
        "--profile",
        "demo",
        "--region",
        "us-east-1",
        "configure",
        "--access-key-id",
        created.json.RootAccessKeyId,
        "--secret-access-key",
        created.json.RootSecretAccessKey,
        "--endpoint-control-plane",
        stack.controlPlane,
        // The first decider endpoint refuses connections: checks must fail over to the second.
        "--endpoint",
        `us-east-1=127.0.0.1:${dead},${stack.decider}`,
      ],
      env,
    );
    expect(configured.code, configured.stderr).toBe(0);
  });
  afterAll(async () => {
    await stack?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("configure writes the agreed INI files", async () => {
    expect(await readFile(join(dir, "credentials"), "utf8")).toMatch(
      /^\[demo\]\naccess_key_id=AKIA\w+\nsecret_access_key=\S+\n/,
    );
    const config = await readFile(join(dir, "config"), "utf8");
    expect(config).toContain("[profile demo]");
    expect(config).toContain("region=us-east-1");
    expect(config).toContain(`endpoint_control_plane=${stack.controlPlane}`);
    expect(config).toMatch(/endpoint_us-east-1=127\.0\.0\.1:\d+,127\.0\.0\.1:\d+/);
  });

  it("manages users and policies with the aws iam CLI's names, printing AWS-shaped JSON", async () => {
    const alice = await gh("iam", "create-user", "--user-name", "alice", "--tags", "Key=team,Value=red");
    expect(alice.code, alice.stderr).toBe(0);
    expect(alice.json.User).toMatchObject({
      UserName: "alice",
      Arn: `arn:aws:iam::${accountId}:user/alice`,
      Path: "/",
      Tags: [{ Key: "team", Value: "red" }],
    });
    expect(alice.json.User.UserId).toMatch(/^AIDA/);
    expect(new Date(alice.json.User.CreateDate).toISOString()).toBe(alice.json.User.CreateDate);
    expect((await gh("iam", "create-user", "--user-name", "bob")).code).toBe(0);

    const users = await gh("iam", "list-users");
    expect(users.json.Users.map((u: { UserName: string }) => u.UserName)).toEqual(["alice", "bob"]);
    const first = await gh("iam", "list-users", "--max-items", "1");
    expect(first.json.Users).toHaveLength(1);
    expect(first.json.NextToken).toEqual(expect.any(String));
    const rest = await gh("iam", "list-users", "--starting-token", first.json.NextToken);
    expect(rest.json.Users.map((u: { UserName: string }) => u.UserName)).toEqual(["bob"]);

    const policyFile = join(dir, "p.json");
    await writeFile(policyFile, doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }));
    const put = await gh(
      "iam",
      "put-user-policy",
      "--user-name",
      "alice",
      "--policy-name",
      "read",
      "--policy-document",
      `file://${policyFile}`,
    );
    expect(put.code, put.stderr).toBe(0);
    expect(put.json.Revision).toMatchObject({ AccountId: accountId, Revision: expect.any(Number) });
    const got = await gh("iam", "get-user-policy", "--user-name", "alice", "--policy-name", "read");
    expect(got.json).toEqual({
      PolicyName: "read",
      PolicyDocument: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }],
      },
    });

    const created = await gh(
      "iam",
      "create-policy",
      "--policy-name",
      "lists",
      "--policy-document",
      doc({ Effect: "Allow", Action: "s3:ListBucket", Resource: "*" }),
    );
    const arn = created.json.Policy.Arn;
    expect(arn).toBe(`arn:aws:iam::${accountId}:policy/lists`);
    expect((await gh("iam", "attach-user-policy", "--user-name", "alice", "--policy-arn", arn)).code).toBe(0);
    const attached = await gh("iam", "list-attached-user-policies", "--user-name", "alice");
    expect(attached.json).toEqual({ AttachedPolicies: [{ PolicyName: "lists", PolicyArn: arn }] });
    const version = await gh(
      "iam",
      "create-policy-version",
      "--policy-arn",
      arn,
      "--policy-document",
      doc({ Effect: "Allow", Action: "s3:*", Resource: "*" }),
      "--set-as-default",
    );
    expect(version.json).toMatchObject({ VersionId: "v2", IsDefaultVersion: true });

    const group = await gh("iam", "create-group", "--group-name", "devs");
    expect(group.json.Group.GroupName).toBe("devs");
    expect((await gh("iam", "add-user-to-group", "--group-name", "devs", "--user-name", "bob")).code).toBe(0);
    const members = await gh("iam", "get-group", "--group-name", "devs");
    expect(members.json.Users.map((u: { UserName: string }) => u.UserName)).toEqual(["bob"]);
    const role = await gh(
      "iam",
      "create-role",
      "--role-name",
      "app",
      "--assume-role-policy-document",
      doc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }),
      "--max-session-duration",
      "7200",
    );
    expect(role.json.Role).toMatchObject({
      RoleName: "app",
      MaxSessionDuration: 7200,
      AssumeRolePolicyDocument: { Version: "2012-10-17" },
    });
    const summary = await gh("iam", "get-account-summary");
    expect(summary.json.SummaryMap).toMatchObject({ Users: 2, Groups: 1, Roles: 1 });

    const text = await gh("--output", "text", "iam", "list-users");
    expect(text.stdout.split("\n")[0]).toMatch(/^USERS\tarn:aws:iam::\d+:user\/alice\t/);
    const table = await gh("--output", "table", "iam", "list-users");
    expect(table.stdout).toContain("| UserName");
    expect(table.stdout).toContain("| alice ");
  });

  it("authorizes through the region (with fail-over), explains, simulates, and reports region status", async () => {
    await gh("iam", "create-user", "--user-name", "carol");
    const put = await gh(
      "iam",
      "put-user-policy",
      "--user-name",
      "carol",
      "--policy-name",
      "ip",
      "--policy-document",
      doc({
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: "*",
        Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
      }),
    );
    const revision = String(put.json.Revision.Revision);
    // The write's revision names its control-plane history; `N@EPOCH` asks for that history's.
    const epoch = String(put.json.Revision.Epoch);
    expect(epoch).toMatch(/^\d+:\d+$/);
    const carol = `arn:aws:iam::${accountId}:user/carol`;
    /** `gatehouse authz authorize` of carol's s3:GetObject on b/k, with `flags`. */
    const carolGets = (...flags: string[]) =>
      gh(
        "authz",
        "authorize",
        "--principal-arn",
        carol,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::b/k",
        ...flags,
      );
    const allowed = await carolGets(
      "--context",
      "aws:SourceIp=10.1.2.3",
      "--min-revision",
      `${revision}@${epoch}`,
      "--explain",
    );
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.json.Decision).toBe("Allow");
    // The region and the decider that answered (the profile's first endpoint refuses connections).
    expect(allowed.json).toMatchObject({ Region: "us-east-1", Endpoint: stack.decider });
    expect(allowed.json.EvaluatedAt.Revision).toBeGreaterThanOrEqual(Number(revision));
    expect(allowed.json.Explanation).toBeDefined();
    // A revision of a history the region's has replaced (an earlier timeline of the same server).
    const rewound = await carolGets("--min-revision", `${revision}@${epoch.split(":")[0]}:0`);
    expect(rewound.code).toBe(254);
    expect(rewound.stderr).toContain("An error occurred (HistoryRewound) when calling the Authorize operation");
    expect(rewound.stderr).toContain("field: minRevision.epoch");
    expect(rewound.stderr).toContain("hint: a control-plane failover replaced the history");
    const denied = await carolGets("--context", "aws:SourceIp=192.168.0.1", "team=red", "--min-revision", revision);
    expect(denied.json).toMatchObject({ Decision: "ImplicitDeny" });

    const simulated = await gh(
      "authz",
      "simulate",
      "--principal-arn",
      carol,
      "--action-names",
      "s3:GetObject",
      "s3:PutObject",
      "--resource-arns",
      "arn:aws:s3:::b/k",
      "--context",
      "aws:SourceIp=10.0.0.1",
    );
    expect(simulated.json.EvaluationResults.map((r: { EvalDecision: string }) => r.EvalDecision)).toEqual([
      "allowed",
      "implicitDeny",
    ]);

    const batch = await gh(
      "authz",
      "batch-authorize-principal",
      "--principal-arn",
      carol,
      "--context",
      "aws:SourceIp=10.0.0.1",
      "--checks",
      JSON.stringify([
        { action: "s3:GetObject", resource: "arn:aws:s3:::b/k" },
        { action: "s3:PutObject", resource: "arn:aws:s3:::b/k" },
        { action: "s3:GetObject", resource: "arn:aws:s3:::b/k", resourcePolicy: "{not json" },
      ]),
      "--query",
      "Results[].[Action, Decision || Error.Code]",
    );
    expect(batch.code, batch.stderr).toBe(0);
    expect(batch.json).toEqual([
      ["s3:GetObject", "Allow"],
      ["s3:PutObject", "ImplicitDeny"],
      ["s3:GetObject", "MalformedPolicyDocument"],
    ]);
    const badChecks = await gh(
      "authz",
      "batch-authorize-principal",
      "--principal-arn",
      carol,
      "--checks",
      '[{"resource":"x"}]',
    );
    expect(badChecks.code).toBe(2);
    expect(badChecks.stderr).toContain("--checks");

    // --endpoint-url stands for the profile's region: a profile of eu-west-1 with no endpoints
    // reaches the decider given on the command line.
    const keys = await readFile(join(dir, "credentials"), "utf8");
    const [, id, secret] = /access_key_id=(\S+)\nsecret_access_key=(\S+)/.exec(keys) ?? [];
    const eu = await run(
      [
        "--profile",
        "eu",
        "--region",
        "eu-west-1",
        "configure",
        "--access-key-id",
        id ?? "",
        "--secret-access-key",
        secret ?? "",
      ],
      env,
    );
    expect(eu.code, eu.stderr).toBe(0);
    const direct = await run(
      [
        "--profile",
        "eu",
        "--endpoint-url",
        stack.decider,
        "authz",
        "authorize",
        "--principal-arn",
        carol,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::b/k",
        "--context",
        "aws:SourceIp=10.1.2.3",
      ],
      env,
    );
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.json.Decision).toBe("Allow");
    // IAM calls are signed for us-east-1 (IAM is global) whatever the profile's region.
    const euUsers = await run(["--profile", "eu", "--endpoint-url", stack.controlPlane, "iam", "list-users"], env);
    expect(euUsers.code, euUsers.stderr).toBe(0);

    // The region serves STS (the live stack shares the at-rest key with it): the profile's
    // root key, through the failing-over endpoints.
    const sts = await gh("sts", "get-caller-identity");
    expect(sts.code, sts.stderr).toBe(0);
    // The answer names the region that gave it, and the endpoint (as `authz authorize` does).
    expect(sts.json).toMatchObject({
      Account: accountId,
      Arn: `arn:aws:iam::${accountId}:root`,
      Region: "us-east-1",
      Endpoint: expect.stringMatching(/:\d+$/),
    });
    // assume-role with --source-identity, as a user (env keys): the answer returns it and names the region.
    const siUser = await gh("iam", "create-user", "--user-name", "si-user");
    const siKey = await gh("iam", "create-access-key", "--user-name", "si-user");
    const siRole = await gh(
      "iam",
      "create-role",
      "--role-name",
      "si-role",
      "--assume-role-policy-document",
      doc({
        Effect: "Allow",
        Principal: { AWS: siUser.json.User.Arn },
        Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
      }),
    );
    expect(siRole.code, siRole.stderr).toBe(0);
    const asSiUser = {
      ...env,
      GATEHOUSE_ACCESS_KEY_ID: siKey.json.AccessKey.AccessKeyId,
      GATEHOUSE_SECRET_ACCESS_KEY: siKey.json.AccessKey.SecretAccessKey,
    };
    const assumeSi = () =>
      run(
        [
          "--region",
          "us-east-1",
          "--endpoint-url",
          stack.decider,
          "sts",
          "assume-role",
          "--role-arn",
          siRole.json.Role.Arn,
          "--role-session-name",
          "cli",
          "--source-identity",
          "cli-user",
        ],
        asSiUser,
      );
    // The region applies the new user, key and role shortly.
    await vi.waitFor(async () => expect((await assumeSi()).code).toBe(0), { timeout: 20_000, interval: 500 });
    const assumedSi = await assumeSi();
    expect(assumedSi.json).toMatchObject({
      AssumedRoleUser: { Arn: expect.stringMatching(/assumed-role\/si-role\/cli$/) },
      SourceIdentity: "cli-user",
      Region: "us-east-1",
    });

    const status = await gh("region", "status");
    expect(status.code, status.stderr).toBe(0);
    expect(status.json.Regions[0]).toMatchObject({ Region: "us-east-1", Gaps: 0 });
    expect(status.json.Regions[0].AppliedRevisions).toContainEqual({
      AccountId: accountId,
      Revision: expect.any(Number),
    });
  });

  it("fails with the AWS error, the field, a hint and a distinct exit status", async () => {
    const missing = await gh("iam", "get-user", "--user-name", "nobody");
    expect(missing.code).toBe(254);
    expect(missing.stderr).toContain("An error occurred (NoSuchEntity) when calling the GetUser operation");
    const malformed = await gh(
      "iam",
      "put-user-policy",
      "--user-name",
      "alice",
      "--policy-name",
      "x",
      "--policy-document",
      '{"Statement":[{"Effect":"Permit"}]}',
    );
    expect(malformed.code).toBe(254);
    expect(malformed.stderr).toContain("(MalformedPolicyDocument) when calling the PutUserPolicy operation");
    expect(malformed.stderr).toContain("field: policyDocument");
    expect(malformed.stderr).toContain("hint: `gatehouse policy validate");
    const profile = await run(["--profile", "prod", "iam", "list-users"], env);
    expect(profile.code).toBe(253);
    expect(profile.stderr).toMatch(/hint: known profiles: demo/);
    const badNumber = await gh("iam", "create-role", "--role-name", "r2", "--max-session-duration", "an hour");
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toContain('--max-session-duration: expected a whole number, got "an hour"');
    // A user without permissions: the denial names the action and resource, with a hint.
    const key = await gh("iam", "create-access-key", "--user-name", "bob");
    expect(key.code, key.stderr).toBe(0);
    expect(key.json.AccessKey).toMatchObject({
      UserName: "bob",
      Status: "Active",
      AccessKeyId: expect.stringMatching(/^AKIA/),
    });
    expect(key.json.AccessKey.SecretAccessKey).toEqual(expect.any(String));
    const denied = await run(["--endpoint-url", stack.controlPlane, "iam", "create-user", "--user-name", "eve"], {
      GATEHOUSE_CONFIG_DIR: join(dir, "none"),
      GATEHOUSE_ACCESS_KEY_ID: key.json.AccessKey.AccessKeyId,
      GATEHOUSE_SECRET_ACCESS_KEY: key.json.AccessKey.SecretAccessKey,
    });
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain(
      `(AccessDenied) when calling the CreateUser operation: arn:aws:iam::${accountId}:user/bob is not authorized to perform iam:CreateUser on resource arn:aws:iam::${accountId}:user/eve`,
    );
    expect(denied.stderr).toContain("hint: the caller's policies do not allow this action");
    const wrongSecret = await run(["--endpoint-url", stack.controlPlane, "iam", "list-users"], {
      GATEHOUSE_CONFIG_DIR: join(dir, "none"),
      GATEHOUSE_ACCESS_KEY_ID: stack.operator.accessKeyId,
      GATEHOUSE_SECRET_ACCESS_KEY: "not-the-secret",
    });
    expect(wrongSecret.code).toBe(254);
    expect(wrongSecret.stderr).toContain("(SignatureDoesNotMatch)");
    expect(wrongSecret.stderr).toContain("hint: the secret access key does not belong to the access key id");
  });

  it("audit lookup prints the recorded calls, newest first, filtered by user, operation and time", async () => {
    // The previous test's denied CreateUser by bob is bob's only call.
    const bobs = await gh("audit", "lookup", "--user", "bob", "--since", "1h");
    expect(bobs.code, bobs.stderr).toBe(0);
    expect(bobs.json.Events).toEqual([
      expect.objectContaining({
        EventName: "CreateUser",
        Username: "bob",
        PrincipalArn: `arn:aws:iam::${accountId}:user/bob`,
        AccountId: accountId,
        ErrorCode: "AccessDenied",
        RequestParameters: expect.objectContaining({ userName: "eve" }),
      }),
    ]);
    const creates = await gh("audit", "lookup", "--operation", "CreateUser", "--since", "1h", "--max-items", "2");
    expect(creates.code, creates.stderr).toBe(0);
    expect(creates.json.Events).toHaveLength(2);
    const [newest, older] = creates.json.Events;
    expect(newest.EventTime >= older.EventTime).toBe(true);
    expect((await gh("audit", "lookup", "--user", "bob", "--until", "2h")).json.Events).toEqual([]);
    const bad = await gh("audit", "lookup", "--since", "yesterday");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since: expected a duration such as 1h, 30m, 7d or an ISO time, got "yesterday"');
  });

  it("iam get-user prints PasswordLastUsed (ISO) once the user signed in to the console with the password", async () => {
    expect((await gh("iam", "create-user", "--user-name", "signer")).code).toBe(0);
    const profile = await gh("iam", "create-login-profile", "--user-name", "signer", "--password", "signer-Pass-1!");
    expect(profile.code, profile.stderr).toBe(0);
    const before = await gh("iam", "get-user", "--user-name", "signer");
    expect(before.json.User.UserName).toBe("signer");
    expect(before.json.User).not.toHaveProperty("PasswordLastUsed");

    const client = new SignInServiceClient(stack.controlPlane, grpcCredentials.createInsecure());
    const t0 = Date.now();
    try {
      const signedIn = await new Promise<SignInResponse>((resolve, reject) =>
        client.signIn(
          {
            account: accountId,
            userName: "signer",
            password: "signer-Pass-1!",
            mfaCode: "",
            newPassword: "",
            root: false,
            accessKeyId: "",
            secretAccessKey: "",
            durationSeconds: 0,
            sourceIp: "192.0.2.40",
          },
          (e: ServiceError | null, r) => (e === null ? resolve(r) : reject(e)),
        ),
      );
      expect(signedIn.status).toBe(SignInStatus.SIGN_IN_STATUS_SIGNED_IN);
    } finally {
      client.close();
    }
    // The control plane stamps the use off the sign-in's answer path: wait (bounded) for it.
    await vi.waitFor(
      async () => {
        const after = await gh("iam", "get-user", "--user-name", "signer");
        expect(after.json.User.PasswordLastUsed).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        const at = Date.parse(after.json.User.PasswordLastUsed);
        expect(at).toBeGreaterThanOrEqual(t0 - 1000);
        expect(at).toBeLessThanOrEqual(Date.now());
      },
      { timeout: 10_000, interval: 200 },
    );
    const listed = (await gh("iam", "list-users")).json.Users as { UserName: string; PasswordLastUsed?: string }[];
    expect(listed.find((u) => u.UserName === "signer")?.PasswordLastUsed).toMatch(/Z$/);
  });

  it("iam generate-credential-report / get-credential-report write AWS's CSV (the root and every user)", async () => {
    const generated = await gh("iam", "generate-credential-report");
    expect(generated.code, generated.stderr).toBe(0);
    expect(generated.json).toEqual({ State: "COMPLETE", Description: expect.any(String) });
    const csv = await gh("iam", "get-credential-report");
    expect(csv.code, csv.stderr).toBe(0);
    const [header, ...rows] = csv.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^user,arn,user_creation_time,password_enabled,password_last_used,.*,cert_2_last_rotated$/);
    const users = (await gh("iam", "list-users")).json.Users.map((u: { UserName: string }) => u.UserName).sort(
      (a: string, b: string) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1),
    );
    expect(rows.map((r) => r.split(",")[0])).toEqual(["<root_account>", ...users]);
    expect(rows[0]).toContain(`arn:aws:iam::${accountId}:root`);
    const shaped = await gh("iam", "get-credential-report", "--aws-shape");
    expect(shaped.json).toMatchObject({ ReportFormat: "text/csv", GeneratedTime: expect.any(String) });
    expect(Buffer.from(shaped.json.Content, "base64").toString("utf8")).toBe(csv.stdout);
  });
});
