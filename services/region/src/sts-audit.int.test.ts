// STS issuance and access keys' last use, recorded by a real region process and carried to the
// control plane's audit trail over the regional audit topic (real Postgres, Kafka and Redis):
// issuance keeps working while the control plane is down, and its records arrive once it is back.
import { createSigningInterceptor } from "@gatehouse/auth";
import {
  type AuthorizeResponse,
  AuthorizerServiceClient,
  AuthorizerServiceService,
  Decision,
  type GetRegionStatusResponse,
  StsServiceClient,
  StsServiceService,
} from "@gatehouse/proto";
import { createTestKeyPrefix, createTestTopic, regionRedis, testInfra } from "@gatehouse/testkit";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startRegionProcess } from "./region-process.int-helper.ts";
import { controlClient, OPERATOR, startTestControlPlane, type TestControlPlane } from "./region-stack.int-helper.ts";

const REGION = "eu-west-1";
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });

type Sts = Record<
  string,
  (r: unknown, m: Metadata, o: object, cb: (e: ServiceError | null, r: unknown) => void) => void
>;

function stsClient(address: string, creds: { accessKeyId: string; secretAccessKey: string }) {
  const client = new StsServiceClient(address, credentials.createInsecure(), {
    interceptors: [
      createSigningInterceptor({ credentials: creds, authority: address, region: REGION, service: "sts" }),
    ],
  });
  return {
    call<T = any>(method: "assumeRole" | "getSessionToken", request: object): Promise<T> {
      const full = { ...StsServiceService[method].requestDeserialize(Buffer.alloc(0)), ...request };
      return new Promise((resolve, reject) =>
        (client as unknown as Sts)[method]?.(full, new Metadata(), { deadline: Date.now() + 20_000 }, (e, r) =>
          e === null ? resolve(r as T) : reject(e),
        ),
      );
    },
    close: () => client.close(),
  };
}

describe("STS issuance and keys' last use in the audit trail (a real region process, control plane down and back)", () => {
  let cp: TestControlPlane;
  let region: ReturnType<typeof startRegionProcess>;
  const cleanup: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    const auditTopic = await createTestTopic({ prefix: "stsaudit", partitions: 2 });
    cleanup.push(() => auditTopic.delete());
    cp = await startTestControlPlane({ extraEnv: { GATEHOUSE_CP_REGION_AUDIT_TOPIC: auditTopic.name } });
    cleanup.unshift(() => cp.close());
    await cp.current?.regionAudit?.joined();
    const keys = createTestKeyPrefix({ prefix: "stsaudit" });
    cleanup.unshift(() => keys.cleanup());
    region = startRegionProcess("all", {
      GATEHOUSE_REGION: REGION,
      GATEHOUSE_REGION_REDIS_URL: regionRedis(REGION, testInfra()).url,
      GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
      GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
      GATEHOUSE_REGION_LISTEN: "127.0.0.1:0",
      GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
      GATEHOUSE_CHANGES_TOPIC: cp.topic,
      GATEHOUSE_SECRET_KEY: cp.secretKey,
      GATEHOUSE_REGION_AUDIT_TOPIC: auditTopic.name,
      GATEHOUSE_REGION_AUDIT_FLUSH_MS: "50",
      GATEHOUSE_REGION_KEY_USE_INTERVAL_MS: "300",
      GATEHOUSE_REGION_AUTHORIZE_SAMPLE_RATE: "1",
    });
    cleanup.unshift(async () => {
      region.child.kill("SIGTERM");
      await new Promise((resolve) =>
        region.child.exitCode === null ? region.child.once("exit", resolve) : resolve(0),
      );
    });
  }, 60_000);
  afterAll(async () => {
    for (const c of cleanup) await c();
  });

  let accountId = "";
  let root: ReturnType<typeof controlClient>;

  it("records AssumeRole (allowed and denied) and GetSessionToken served while the control plane is down, without secrets; the key's last use too", async () => {
    const operator = controlClient(cp.address, OPERATOR);
    cleanup.unshift(() => operator.close());
    const account = await operator.call("createAccount", { accountAlias: "" });
    accountId = account.accountId;
    root = controlClient(cp.address, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    cleanup.unshift(() => root.close());
    const alice = (await root.call("createUser", { userName: "alice" })).user;
    const key = await root.call("createAccessKey", { userName: "alice" });
    await root.call("createRole", {
      roleName: "deploy",
      assumeRolePolicyDocument: doc({
        Effect: "Allow",
        Principal: { AWS: alice.arn },
        Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
      }),
    });
    // Trusts the account, but alice has no permission to assume it: AccessDenied.
    const locked = await root.call("createRole", {
      roleName: "locked",
      assumeRolePolicyDocument: doc({
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: "sts:AssumeRole",
      }),
    });
    const port = await region.port;
    const sts = stsClient(`127.0.0.1:${port}`, {
      accessKeyId: key.accessKey.accessKeyId,
      secretAccessKey: key.secretAccessKey,
    });
    cleanup.unshift(() => sts.close());
    // The region has what it needs once it applied the last write.
    const minRevision = locked.revision;
    await vi.waitFor(
      () =>
        sts.call("assumeRole", {
          roleArn: `arn:aws:iam::${accountId}:role/deploy`,
          roleSessionName: "warm-up",
          minRevision,
        }),
      { timeout: 30_000, interval: 500 },
    );

    await cp.stop();
    const t0 = Date.now();
    const assumed = await sts.call("assumeRole", {
      roleArn: `arn:aws:iam::${accountId}:role/deploy`,
      roleSessionName: "while-down",
      durationSeconds: 900,
      externalId: "ext-123",
      policy: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
      sourceIdentity: "alice-laptop",
    });
    // The answers name the region that issued them; AssumeRole's returns the source identity.
    expect([assumed.region, assumed.sourceIdentity]).toEqual([REGION, "alice-laptop"]);
    const denied = await sts
      .call("assumeRole", { roleArn: `arn:aws:iam::${accountId}:role/locked`, roleSessionName: "nope" })
      .then(
        () => undefined,
        (e: ServiceError) => e,
      );
    expect(denied?.details).toMatch(/not authorized|AccessDenied|denied/i);
    const session = await sts.call("getSessionToken", { durationSeconds: 900 });
    expect(session.region).toBe(REGION);
    // Give the region's sink time to put the records on the topic while nobody consumes it.
    await new Promise((r) => setTimeout(r, 1000));
    await cp.start();

    const lookup = async () =>
      (await root.call("lookupEvents", { userName: "alice", startTimeMs: t0 - 1 })).events.filter(
        (e: { region: string }) => e.region === REGION,
      );
    await vi.waitFor(async () => expect(await lookup()).toHaveLength(3), { timeout: 30_000, interval: 250 });
    const events = await lookup();
    // Newest first.
    const [token, refused, ok] = events;
    const base = {
      accountId,
      principalArn: alice.arn,
      accessKeyId: key.accessKey.accessKeyId,
      sourceIp: "127.0.0.1",
      region: REGION,
      revision: 0,
    };
    expect(ok).toMatchObject({ ...base, operation: "AssumeRole", errorCode: "", errorName: "" });
    expect(JSON.parse(ok.requestParametersJson)).toEqual({
      roleArn: `arn:aws:iam::${accountId}:role/deploy`,
      roleSessionName: "while-down",
      durationSeconds: 900,
      externalId: "ext-123",
      policy: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/), length: expect.any(Number) },
      sourceIdentity: "alice-laptop",
    });
    expect(JSON.parse(ok.responseElementsJson)).toEqual({
      credentials: {
        accessKeyId: assumed.credentials.accessKeyId,
        expirationMs: Number(assumed.credentials.expirationMs),
      },
      assumedRoleUser: { assumedRoleId: assumed.assumedRoleUser.assumedRoleId, arn: assumed.assumedRoleUser.arn },
      sourceIdentity: "alice-laptop",
    });
    expect(refused).toMatchObject({
      ...base,
      operation: "AssumeRole",
      errorCode: "PERMISSION_DENIED",
      errorName: "AccessDenied",
      responseElementsJson: "",
    });
    expect(token).toMatchObject({ ...base, operation: "GetSessionToken", errorName: "" });
    expect(JSON.parse(token.responseElementsJson).credentials.accessKeyId).toBe(session.credentials.accessKeyId);
    // An event is inserted once, whatever the topic redelivers; nothing secret anywhere.
    const rows = await cp.current?.store.pool.query(
      "SELECT row_to_json(a)::text AS row FROM audit_events a WHERE region IS NOT NULL",
    );
    const stored = (rows?.rows ?? []).map((r: { row: string }) => r.row).join("\n");
    for (const secret of [
      key.secretAccessKey,
      assumed.credentials.secretAccessKey,
      assumed.credentials.sessionToken,
      session.credentials.secretAccessKey,
      session.credentials.sessionToken,
    ]) {
      expect(stored).not.toContain(secret);
      expect(JSON.stringify(events)).not.toContain(secret);
    }
    // These three once each, and the warm-up: at least once (on a loaded host a try of it may time
    // out at the client after the region served and recorded it, and be retried).
    const recorded = (rows?.rows ?? []).map((r: { row: string }) => r.row);
    expect(recorded.filter((r) => !r.includes('"warm-up"'))).toHaveLength(3);
    expect(recorded.filter((r) => r.includes('"warm-up"')).length).toBeGreaterThanOrEqual(1);

    // The key signed STS calls in eu-west-1: its last use came the same way.
    await vi.waitFor(
      async () =>
        expect(
          (await root.call("getAccessKeyLastUsed", { accessKeyId: key.accessKey.accessKeyId })).accessKeyLastUsed,
        ).toMatchObject({ serviceName: "sts", region: REGION }),
      { timeout: 15_000, interval: 250 },
    );
  });

  it("records sampled Authorize decisions (rate 1 here): principal, action, resource, context keys and the decision, never context values or a session token", async () => {
    const port = await region.port;
    const decider = new AuthorizerServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    cleanup.unshift(() => decider.close());
    const t0 = Date.now();
    const answer = await new Promise<AuthorizeResponse>((resolve, reject) =>
      decider.authorize(
        {
          ...AuthorizerServiceService.authorize.requestDeserialize(Buffer.alloc(0)),
          principal: { kind: { $case: "arn", value: `arn:aws:iam::${accountId}:user/alice` } },
          action: "s3:GetObject",
          resource: "arn:aws:s3:::reports/q3.pdf",
          context: { "aws:SourceIp": { kind: { $case: "stringValue", value: "198.51.100.99" } } },
        },
        (e, r) => (e === null ? resolve(r) : reject(e)),
      ),
    );
    expect(answer.decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    const lookup = async () =>
      (await root.call("lookupEvents", { operation: "Authorize", startTimeMs: t0 - 1 })).events;
    await vi.waitFor(async () => expect(await lookup()).toHaveLength(1), { timeout: 20_000, interval: 250 });
    const [event] = await lookup();
    expect(event).toMatchObject({
      accountId,
      principalArn: `arn:aws:iam::${accountId}:user/alice`,
      operation: "Authorize",
      region: REGION,
      sourceIp: "127.0.0.1",
      errorCode: "",
    });
    expect(JSON.parse(event.requestParametersJson)).toEqual({
      action: "s3:GetObject",
      resource: "arn:aws:s3:::reports/q3.pdf",
      contextKeys: ["aws:SourceIp"],
    });
    expect(JSON.parse(event.responseElementsJson)).toEqual({
      decision: "ImplicitDeny",
      revision: Number(answer.evaluatedAt?.revision),
    });
    expect(JSON.stringify(event)).not.toContain("198.51.100.99");
    // The decider reports its audit figures in GetRegionStatus.
    const status = await new Promise<GetRegionStatusResponse>((resolve, reject) =>
      decider.getRegionStatus({ pageSize: 1, pageToken: "" }, (e, r) => (e === null ? resolve(r) : reject(e))),
    );
    expect(Number(status.auditSent)).toBeGreaterThanOrEqual(6);
    expect(Number(status.auditDropped)).toBe(0);
  });

  it("records a cross-account AssumeRole in the caller's account and in the role's", async () => {
    const operator = controlClient(cp.address, OPERATOR);
    cleanup.unshift(() => operator.close());
    const other = await operator.call("createAccount", { accountAlias: "" });
    const otherRoot = controlClient(cp.address, {
      accessKeyId: other.rootAccessKeyId,
      secretAccessKey: other.rootSecretAccessKey,
    });
    cleanup.unshift(() => otherRoot.close());
    const roleArn = `arn:aws:iam::${other.accountId}:role/shared`;
    await otherRoot.call("createRole", {
      roleName: "shared",
      assumeRolePolicyDocument: doc({
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: "sts:AssumeRole",
      }),
    });
    const bob = (await root.call("createUser", { userName: "bob" })).user;
    await root.call("putInlinePolicy", {
      entityType: 1,
      entityName: "bob",
      policyName: "cross",
      policyDocument: doc({ Effect: "Allow", Action: "sts:AssumeRole", Resource: roleArn }),
    });
    const key = await root.call("createAccessKey", { userName: "bob" });
    const sts = stsClient(`127.0.0.1:${await region.port}`, {
      accessKeyId: key.accessKey.accessKeyId,
      secretAccessKey: key.secretAccessKey,
    });
    cleanup.unshift(() => sts.close());
    // Retried until the region applied both accounts' writes.
    const assumed = await vi.waitFor(() => sts.call("assumeRole", { roleArn, roleSessionName: "cross" }), {
      timeout: 30_000,
      interval: 300,
    });
    const inAccount = async (client: typeof root) =>
      (await client.call("lookupEvents", { operation: "AssumeRole", userName: "bob" })).events;
    await vi.waitFor(
      async () => {
        expect(await inAccount(root)).toHaveLength(1);
        expect(await inAccount(otherRoot)).toHaveLength(1);
      },
      { timeout: 20_000, interval: 250 },
    );
    const [mine] = await inAccount(root);
    const [theirs] = await inAccount(otherRoot);
    for (const e of [mine, theirs]) {
      expect(e).toMatchObject({ principalArn: bob.arn, operation: "AssumeRole", region: REGION, errorName: "" });
      expect(JSON.parse(e.responseElementsJson).credentials.accessKeyId).toBe(assumed.credentials.accessKeyId);
    }
    expect(mine.accountId).toBe(accountId);
    expect(theirs.accountId).toBe(other.accountId);
    expect(theirs.eventId).not.toBe(mine.eventId);
  });
});
