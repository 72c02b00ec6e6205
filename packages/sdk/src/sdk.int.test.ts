// The SDK against a real control plane and a real region (Postgres, Kafka, Redis).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deadPort, type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EntityAlreadyExistsError,
  Gatehouse,
  GatehouseError,
  InvalidInputError,
  MalformedPolicyDocumentError,
  NoSuchEntityError,
} from "./index.ts";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });

describe("@gatehouse/sdk against a live control plane and region", () => {
  let stack: LiveStack;
  let dir: string;
  let root: { accessKeyId: string; secretAccessKey: string };
  let accountId: string;
  const clients: Gatehouse[] = [];
  const client = (options: ConstructorParameters<typeof Gatehouse>[0]) => {
    const gh = new Gatehouse(options);
    clients.push(gh);
    return gh;
  };

  beforeAll(async () => {
    stack = await startLiveStack("sdk");
    const operator = client({ credentials: stack.operator, endpoints: { controlPlane: stack.controlPlane }, env: {} });
    const created = await operator.iam.createAccount({ accountAlias: "" });
    accountId = created.accountId;
    root = { accessKeyId: created.rootAccessKeyId, secretAccessKey: created.rootSecretAccessKey };
    dir = await mkdtemp(join(tmpdir(), "gatehouse-sdk-"));
    const dead = await deadPort();
    await writeFile(
      join(dir, "credentials"),
      `[demo]\naccess_key_id = ${root.accessKeyId}\nsecret_access_key = ${root.secretAccessKey}\n`,
    );
    await writeFile(
      join(dir, "config"),
      [
        "[profile demo]",
        "region = us-east-1",
        `endpoint_control_plane = ${stack.controlPlane}`,
        // The first endpoint refuses connections: every check must fail over to the second.
        `endpoint_us-east-1 = 127.0.0.1:${dead},${stack.decider}`,
        "[profile sts]",
        "role_arn = arn:aws:iam::111122223333:role/admin",
        "source_profile = demo",
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await stack?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("reads a profile from GATEHOUSE_CONFIG_DIR, writes, pages, and reads its own writes through a failing-over region", async () => {
    const gh = client({ env: { GATEHOUSE_CONFIG_DIR: dir, GATEHOUSE_PROFILE: "demo" } });
    expect(gh.config.credentialSource).toEqual({ kind: "profile", profile: "demo", configDir: dir });
    const session = gh.session();
    const alice = await session.iam.createUser({ userName: "alice", tags: [{ key: "team", value: "red" }] });
    expect(alice.user?.arn).toBe(`arn:aws:iam::${accountId}:user/alice`);
    for (const name of ["bob", "carol"]) await session.iam.createUser({ userName: name });
    const names: string[] = [];
    for await (const u of session.iam.paginate.listUsers({ maxItems: 1 })) names.push(u.userName);
    expect(names).toEqual(["alice", "bob", "carol"]);

    const put = await session.iam.putUserPolicy({
      userName: "alice",
      policyName: "read",
      policyDocument: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }),
    });
    expect(session.lastRevision(accountId)).toBe(put.revision?.revision);
    expect((await session.iam.getUserPolicy({ userName: "alice", policyName: "read" })).policyName).toBe("read");
    // Read-your-writes: the check waits for the revision of the policy just put.
    const allowed = await session.authz.authorize({
      principalArn: alice.user?.arn ?? "",
      action: "s3:GetObject",
      resource: "arn:aws:s3:::b/k",
      explain: true,
    });
    expect(allowed.allowed).toBe(true);
    // The first endpoint refused: the answer names the one that gave it.
    expect(allowed).toMatchObject({ region: "us-east-1", endpoint: stack.decider });
    expect(allowed.evaluatedAt?.revision).toBeGreaterThanOrEqual(put.revision?.revision ?? Infinity);
    expect(allowed.explanation).toBeDefined();

    await session.iam.deleteUserPolicy({ userName: "alice", policyName: "read" });
    const [denied, other] = await session.authz.batchAuthorize([
      { principalArn: alice.user?.arn ?? "", action: "s3:GetObject", resource: "arn:aws:s3:::b/k" },
      { principalArn: alice.user?.arn ?? "", action: "s3:PutObject", resource: "arn:aws:s3:::b/k" },
    ]);
    expect(denied).toMatchObject({ decision: "ImplicitDeny", allowed: false });
    expect(other).toMatchObject({ decision: "ImplicitDeny" });

    const simulated = await session.authz.simulate({
      principalArn: alice.user?.arn ?? "",
      actions: ["s3:GetObject", "s3:DeleteObject"],
      resources: ["arn:aws:s3:::b/k"],
      extraIdentityPolicies: [doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" })],
    });
    expect(simulated.map((r) => r.decision)).toEqual(["Allow", "ImplicitDeny"]);
    const status = await session.authz.regionStatus();
    expect(status.region).toBe("us-east-1");
    expect(status.accounts.find((a) => a.accountId === accountId)?.revision).toBeGreaterThanOrEqual(
      session.lastRevision(accountId),
    );
  });

  it("batchAuthorizePrincipal: many checks of one principal in one call, a failed check in its place", async () => {
    const session = client({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile: "demo" }).session();
    const eve = await session.iam.createUser({ userName: "eve" });
    await session.iam.putUserPolicy({
      userName: "eve",
      policyName: "reports",
      policyDocument: doc({
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: "arn:aws:s3:::reports/*",
        Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
      }),
    });
    const checks = [
      { action: "s3:GetObject", resource: "arn:aws:s3:::reports/q1.csv", correlationId: "get" },
      { action: "s3:PutObject", resource: "arn:aws:s3:::reports/q1.csv" },
      { action: "s3:GetObject", resource: "arn:aws:s3:::reports/q1.csv", resourcePolicy: "{not json" },
    ];
    const inside = await session.authz.batchAuthorizePrincipal({
      principalArn: eve.user?.arn ?? "",
      context: { "aws:SourceIp": "10.1.2.3" },
      checks,
    });
    expect(inside[0]).toMatchObject({ decision: "Allow", allowed: true, correlationId: "get" });
    expect(inside[1]).toMatchObject({ decision: "ImplicitDeny", allowed: false });
    expect(inside[2]).toBeInstanceOf(GatehouseError);
    expect(inside[2]).toMatchObject({ code: "INVALID_ARGUMENT", retriable: false });
    // The shared context decides every check: from outside 10/8 nothing is allowed.
    const outside = await session.authz.batchAuthorizePrincipal({
      principalArn: eve.user?.arn ?? "",
      context: { "aws:SourceIp": "192.0.2.1" },
      checks: checks.slice(0, 2),
    });
    expect(outside.map((r) => (r instanceof Error ? r.awsName : r.decision))).toEqual(["ImplicitDeny", "ImplicitDeny"]);
  });

  it("calls the region's STS signed for `sts`: GetCallerIdentity, then a GetSessionToken session's own calls", async () => {
    const admin = client({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile: "demo" });
    await admin.iam.createUser({ userName: "stsuser" });
    const made = await admin.iam.createAccessKey({ userName: "stsuser" });
    const key = { accessKeyId: made.accessKey?.accessKeyId ?? "", secretAccessKey: made.secretAccessKey };
    const endpoints = { controlPlane: stack.controlPlane, regions: { "us-east-1": [stack.decider] } };
    const user = client({ credentials: key, region: "us-east-1", endpoints, env: {} });
    const arn = `arn:aws:iam::${accountId}:user/stsuser`;
    // The key reaches the region with its revision; STS calls carry no min_revision.
    await expect
      .poll(
        () =>
          user.sts.getCallerIdentity().then(
            (r) => r.arn,
            (e: unknown) => String(e),
          ),
        { timeout: 15_000 },
      )
      .toBe(arn);
    const session = await user.sts.getSessionToken({ durationSeconds: 900 });
    const creds = session.credentials;
    expect(creds?.accessKeyId).toMatch(/^ASIA/);
    const temporary = client({
      credentials: {
        accessKeyId: creds?.accessKeyId ?? "",
        secretAccessKey: creds?.secretAccessKey ?? "",
        sessionToken: creds?.sessionToken ?? "",
      },
      region: "us-east-1",
      endpoints,
      env: {},
    });
    expect(await temporary.sts.getCallerIdentity()).toMatchObject({ account: accountId, arn });
  });

  it("throws typed errors with the AWS name, the field and retriable", async () => {
    const gh = client({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile: "demo" });
    const missing = await gh.iam.getUser({ userName: "nobody" }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NoSuchEntityError);
    expect(missing).toBeInstanceOf(GatehouseError);
    expect(missing).toMatchObject({
      awsName: "NoSuchEntity",
      code: "NOT_FOUND",
      retriable: false,
      name: "NoSuchEntityError",
    });
    await gh.iam.createUser({ userName: "dave" });
    await expect(gh.iam.createUser({ userName: "dave" })).rejects.toBeInstanceOf(EntityAlreadyExistsError);
    const malformed = await gh.iam
      .putUserPolicy({ userName: "dave", policyName: "p", policyDocument: '{"Statement":[{"Effect":"Permit"}]}' })
      .catch((e: unknown) => e as GatehouseError);
    expect(malformed).toBeInstanceOf(MalformedPolicyDocumentError);
    expect((malformed as GatehouseError).field).toBe("policyDocument");
    expect((malformed as GatehouseError).findings.length).toBeGreaterThan(0);
    // A field the operation does not take is refused before anything is sent.
    await expect(gh.iam.getUser({ userNme: "x" } as never)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("retries a write with the token it made: a replay answers with the first result", async () => {
    const gh = client({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile: "demo" });
    const token = "sdk-test-token-1";
    const first = await gh.iam.createGroup({ groupName: "ops", clientRequestToken: token });
    const again = await gh.iam.createGroup({ groupName: "ops", clientRequestToken: token });
    expect(again.group?.groupId).toBe(first.group?.groupId);
    expect(again.revision?.revision).toBe(first.revision?.revision);
  });

  it("fails over between endpoints and says which are down when all are", async () => {
    const dead = await deadPort();
    const gh = client({
      credentials: root,
      region: "us-east-1",
      endpoints: { controlPlane: `127.0.0.1:${dead}`, regions: { "us-east-1": [`127.0.0.1:${dead}`] } },
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
      timeoutMs: 5_000,
      env: {},
    });
    const down = await gh.authz.regionStatus().catch((e: unknown) => e as GatehouseError);
    expect(down).toMatchObject({ code: "UNAVAILABLE", retriable: true, awsName: "ServiceUnavailable" });
    const cpDown = await gh.iam.listUsers().catch((e: unknown) => e as GatehouseError);
    expect(cpDown).toMatchObject({ code: "UNAVAILABLE" });
  });

  it("signs with the clock it is given: ten minutes of skew is RequestExpired, not retried", async () => {
    const skewed = client({
      credentials: root,
      endpoints: { controlPlane: stack.controlPlane },
      clock: { now: () => Date.now() - 10 * 60_000 },
      env: {},
    });
    const err = await skewed.iam.listUsers().catch((e: unknown) => e as GatehouseError);
    expect(err).toMatchObject({ awsName: "RequestExpired", code: "UNAUTHENTICATED", retriable: false });
  });

  it("refuses unknown profiles with a hint; takes a role profile as one (assume-role.int.test.ts uses them)", () => {
    expect(() => new Gatehouse({ profile: "nope", env: { GATEHOUSE_CONFIG_DIR: dir } })).toThrow(
      expect.objectContaining({ hint: expect.stringContaining("known profiles: demo, sts") }),
    );
    const role = client({ profile: "sts", env: { GATEHOUSE_CONFIG_DIR: dir } });
    expect(role.config.credentialSource).toMatchObject({ kind: "assume-role", profile: "sts" });
  });
});
