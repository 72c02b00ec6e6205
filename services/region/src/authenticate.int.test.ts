// Authenticate and AuthenticateAndAuthorize end to end: keys created through a real control plane
// (Postgres, outbox relay to Kafka) reach a live region (applier + decider, its own Redis), which
// verifies SigV4 requests against its view with the control plane's secret key.
import { createHash, randomBytes } from "node:crypto";
import { signRequest } from "@gatehouse/auth";
import { loadControlPlaneConfig, startControlPlane } from "@gatehouse/control-plane";
import { createManualClock } from "@gatehouse/core";
import {
  type AuthenticateAndAuthorizeRequest,
  type AuthenticateAndAuthorizeResponse,
  type AuthenticateRequest,
  type AuthenticateResponse,
  AuthorizeRequest,
  type AuthorizeResponse,
  AuthorizerServiceClient,
  Decision,
  EntityType,
  ErrorDetail,
  type Revision,
} from "@gatehouse/proto";
import { createTestKeyPrefix, createTestSchema, createTestTopic, regionRedis, testInfra } from "@gatehouse/testkit";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadRegionConfig } from "./config.ts";
import { type Region, startRegion } from "./region.ts";
import { controlClient } from "./region-stack.int-helper.ts";

const logger = pino({ level: "silent" });
const OPERATOR = { accessKeyId: "AKIAOPERATORAUTHN000", secretAccessKey: randomBytes(30).toString("base64") };
const REGION = "eu-west-1";
const SECRET_KEY = randomBytes(32).toString("base64");

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

const sha = (x: string) => createHash("sha256").update(x).digest("hex");

/** A platform service's request signed as an AWS SDK signs it, in the shape Authenticate takes. */
async function signedRequest(
  creds: Creds,
  o: { body?: string; path?: string; signedAtMs?: number; source?: string } = {},
): Promise<AuthenticateRequest> {
  const body = o.body ?? '{"QueueName":"jobs"}';
  // As on the wire (percent-encoded), as an AWS SDK's HttpRequest holds it; SigV4 encodes it again.
  const path = o.path ?? "/queues/jobs%201/messages";
  const headers = { host: "queues.internal.example", "content-type": "application/json" };
  const added = await signRequest(
    { method: "POST", path, query: { Action: "SendMessage", Version: "2012-11-05" }, headers, body },
    creds,
    { region: REGION, service: "queues", clock: createManualClock(o.signedAtMs ?? Date.now()) },
  );
  const { authorization = "", ...rest } = added;
  return {
    authorization,
    amzDate: "",
    securityToken: "",
    method: "POST",
    path,
    host: "",
    payloadSha256: sha(body),
    query: "Action=SendMessage&Version=2012-11-05",
    signedHeaders: { ...headers, ...rest },
    service: "queues",
    source: o.source ?? "10.0.0.7",
    pathSingleEncoded: false,
  };
}

function unary<Req, Res>(
  client: AuthorizerServiceClient,
  method: "authenticate" | "authenticateAndAuthorize" | "authorize",
) {
  return (request: Req) =>
    new Promise<Res>((resolve, reject) =>
      (
        client[method] as unknown as (
          r: Req,
          m: Metadata,
          o: object,
          cb: (e: ServiceError | null, r: Res) => void,
        ) => void
      )(request, new Metadata(), { deadline: Date.now() + 15_000 }, (err, res) =>
        err === null ? resolve(res) : reject(err),
      ),
    );
}

/** The status and AWS error name a failed call carries. */
async function failure(p: Promise<unknown>): Promise<{ code: number; awsName: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x as ServiceError,
  );
  if (e === undefined) throw new Error("expected the call to fail");
  const bin = e.metadata?.get("gatehouse-error-bin")[0];
  const detail = bin instanceof Buffer ? ErrorDetail.decode(bin) : undefined;
  return { code: e.code, awsName: detail?.awsName ?? "", message: e.details };
}

const check = (r: Partial<AuthorizeRequest>): AuthorizeRequest => AuthorizeRequest.create(r);

describe("Authenticate and AuthenticateAndAuthorize in a live region", () => {
  const close: (() => Promise<void>)[] = [];
  let cpAddress = "";
  let region: Region;
  let decider: AuthorizerServiceClient;
  let authenticate: (r: AuthenticateRequest) => Promise<AuthenticateResponse>;
  let both: (r: AuthenticateAndAuthorizeRequest) => Promise<AuthenticateAndAuthorizeResponse>;
  let authorize: (r: AuthorizeRequest) => Promise<AuthorizeResponse>;
  let operator: ReturnType<typeof controlClient>;
  let root: ReturnType<typeof controlClient>;
  let account: { accountId: string; rootAccessKeyId: string; rootSecretAccessKey: string };
  let aliceArn = "";
  let alice: Creds;
  let aliceKeyRevision: Revision;

  beforeAll(async () => {
    const schema = await createTestSchema({ prefix: "regauthn", migrated: true });
    const topic = await createTestTopic({ prefix: "regauthn", partitions: 2 });
    const auditTopic = await createTestTopic({ prefix: "regauthnaudit", partitions: 2 });
    close.push(
      () => schema.drop(),
      () => topic.delete(),
      () => auditTopic.delete(),
    );
    const cp = await startControlPlane({
      config: loadControlPlaneConfig({
        GATEHOUSE_CP_LISTEN: "127.0.0.1:0",
        GATEHOUSE_PG_URL: schema.databaseUrl,
        GATEHOUSE_PG_SCHEMA: schema.name,
        GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
        GATEHOUSE_CHANGES_TOPIC: topic.name,
        GATEHOUSE_CHANGES_PARTITIONS: "2",
        GATEHOUSE_SECRET_KEY: SECRET_KEY,
        GATEHOUSE_OPERATOR_ACCESS_KEY_ID: OPERATOR.accessKeyId,
        GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: OPERATOR.secretAccessKey,
        GATEHOUSE_CP_REGION_AUDIT_TOPIC: auditTopic.name,
      }),
      logger,
    });
    close.unshift(() => cp.close());
    await cp.regionAudit?.joined();
    cpAddress = `127.0.0.1:${cp.port}`;
    const keys = createTestKeyPrefix({ prefix: "regauthn" });
    close.unshift(async () => {
      await keys.cleanup();
    });
    region = await startRegion({
      config: loadRegionConfig(
        {
          GATEHOUSE_REGION: REGION,
          GATEHOUSE_REGION_REDIS_URL: regionRedis(REGION, testInfra()).url,
          GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
          GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
          GATEHOUSE_REGION_LISTEN: "127.0.0.1:0",
          GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
          GATEHOUSE_CHANGES_TOPIC: topic.name,
          GATEHOUSE_SECRET_KEY: SECRET_KEY,
          GATEHOUSE_REGION_AUDIT_TOPIC: auditTopic.name,
          GATEHOUSE_REGION_AUDIT_FLUSH_MS: "50",
          GATEHOUSE_REGION_KEY_USE_INTERVAL_MS: "300",
        },
        ["--role", "all"],
      ),
      logger,
    });
    close.unshift(() => region.close());
    decider = new AuthorizerServiceClient(`127.0.0.1:${region.decider?.port}`, credentials.createInsecure());
    authenticate = unary(decider, "authenticate");
    both = unary(decider, "authenticateAndAuthorize");
    authorize = unary(decider, "authorize");

    operator = controlClient(cpAddress, OPERATOR);
    account = await operator.call("createAccount", { accountAlias: "" });
    root = controlClient(cpAddress, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    const created = await root.call("createUser", { userName: "alice", tags: [{ key: "team", value: "red" }] });
    aliceArn = created.user.arn;
    const policy = await root.call("createPolicy", {
      policyName: "jobs",
      policyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "sqs:SendMessage", Resource: "arn:aws:sqs:eu-west-1:*:jobs-*" }],
      }),
    });
    await root.call("attachPolicy", {
      entityType: EntityType.ENTITY_TYPE_USER,
      entityName: "alice",
      policyArn: policy.policy.arn,
    });
    const key = await root.call("createAccessKey", { userName: "alice" });
    alice = { accessKeyId: key.accessKey.accessKeyId, secretAccessKey: key.secretAccessKey };
    aliceKeyRevision = key.revision;
  });
  afterAll(async () => {
    decider?.close();
    root?.close();
    operator?.close();
    for (const c of close) await c();
  });

  /** AuthenticateAndAuthorize of a check, after the region applied `minRevision`. */
  const authenticateAndAuthorize = async (
    creds: Creds,
    r: Partial<AuthorizeRequest>,
    minRevision = aliceKeyRevision,
  ): Promise<AuthenticateAndAuthorizeResponse> =>
    both({ authenticate: await signedRequest(creds), authorize: check({ minRevision, ...r }) });

  it("Authorize takes the principal as an access key id: the key's owner is evaluated", async () => {
    const r = await authorize(
      check({
        principal: { kind: { $case: "accessKeyId", value: alice.accessKeyId } },
        action: "sqs:SendMessage",
        resource: `arn:aws:sqs:eu-west-1:${account.accountId}:jobs-1`,
        minRevision: aliceKeyRevision,
      }),
    );
    expect(r.decision).toBe(Decision.DECISION_ALLOW);
  });

  it("a request signed with a key created through the control plane names its user, tags and key", async () => {
    const who = await authenticate(await signedRequest(alice));
    expect(who).toMatchObject({
      arn: aliceArn,
      accountId: account.accountId,
      principalType: "user",
      userName: "alice",
      tags: [{ key: "team", value: "red" }],
      mfaPresent: false,
      accessKeyId: alice.accessKeyId,
    });
    expect(who.userId).toMatch(/^AIDA/);
  });

  it("a key's use reaches GetAccessKeyLastUsed and ListAccessKeys (time, service, region) through the regional audit topic", async () => {
    const bob = await root.call("createUser", { userName: "bob-last-used" });
    const created = await root.call("createAccessKey", { userName: bob.user.userName });
    const bobCreds = { accessKeyId: created.accessKey.accessKeyId, secretAccessKey: created.secretAccessKey };
    const lastUsed = async () =>
      (await root.call("getAccessKeyLastUsed", { accessKeyId: bobCreds.accessKeyId })).accessKeyLastUsed;
    expect(await lastUsed()).toEqual({ lastUsedDateMs: 0, serviceName: "N/A", region: "N/A" });
    const t0 = Date.now();
    // Ten uses; the latest reaches the control plane (coalescing is unit-tested in region-audit-sink.test.ts).
    for (let i = 0; i < 10; i++) {
      await authenticateAndAuthorize(bobCreds, { action: "sqs:SendMessage", resource: "*" }, created.revision);
    }
    const t1 = Date.now();
    await vi.waitFor(async () => expect((await lastUsed()).serviceName).toBe("queues"), {
      timeout: 15_000,
      interval: 100,
    });
    const used = await lastUsed();
    expect(used.region).toBe(REGION);
    expect(Number(used.lastUsedDateMs)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(Number(used.lastUsedDateMs)).toBeLessThanOrEqual(t1 + 1000);
    const listed = (await root.call("listAccessKeys", { userName: bob.user.userName })).accessKeys[0];
    expect(listed).toMatchObject({
      lastUsedService: "queues",
      lastUsedRegion: REGION,
      lastUsedDateMs: used.lastUsedDateMs,
    });
  });

  it("the root's access key authenticates as arn:aws:iam::ACCOUNT:root", async () => {
    const rootCreds = { accessKeyId: account.rootAccessKeyId, secretAccessKey: account.rootSecretAccessKey };
    const who = await authenticate(await signedRequest(rootCreds));
    expect(who).toMatchObject({
      arn: `arn:aws:iam::${account.accountId}:root`,
      accountId: account.accountId,
      userId: account.accountId,
      principalType: "root",
      userName: "",
      tags: [],
    });
  });

  it("refuses a wrong secret, tampered header, path or payload, a stale date, an unknown key, temporary credentials", async () => {
    const ok = await signedRequest(alice, { source: "10.0.1.1" });
    const cases: [string, AuthenticateRequest, string][] = [
      [
        "wrong secret",
        await signedRequest({ ...alice, secretAccessKey: randomBytes(30).toString("base64") }, { source: "10.0.1.2" }),
        "SignatureDoesNotMatch",
      ],
      [
        "tampered header",
        { ...ok, signedHeaders: { ...ok.signedHeaders, "content-type": "text/plain" } },
        "SignatureDoesNotMatch",
      ],
      ["tampered path", { ...ok, path: "/queues/jobs%202/messages" }, "SignatureDoesNotMatch"],
      ["tampered query", { ...ok, query: "Action=DeleteQueue&Version=2012-11-05" }, "SignatureDoesNotMatch"],
      ["tampered payload", { ...ok, payloadSha256: sha('{"QueueName":"other"}') }, "SignatureDoesNotMatch"],
      ["stale date", await signedRequest(alice, { signedAtMs: Date.now() - 16 * 60_000 }), "RequestExpired"],
      [
        "unknown key",
        await signedRequest({ accessKeyId: "AKIAUNKNOWNKEY000001", secretAccessKey: alice.secretAccessKey }),
        "InvalidClientTokenId",
      ],
      [
        "temporary credentials",
        await signedRequest({ accessKeyId: "ASIAEXAMPLE000000001", secretAccessKey: "s", sessionToken: "token" }),
        "InvalidClientTokenId",
      ],
      ["unsigned", { ...ok, authorization: "" }, "MissingAuthenticationToken"],
    ];
    for (const [name, request, awsName] of cases) {
      const f = await failure(authenticate(request));
      expect([name, f.code, f.awsName]).toEqual([name, status.UNAUTHENTICATED, awsName]);
      expect(f.message).not.toContain(alice.secretAccessKey);
      expect(f.message).not.toMatch(/[0-9a-f]{64}/);
    }
    const temp = await failure(
      authenticate(
        await signedRequest({ accessKeyId: "ASIAEXAMPLE000000001", secretAccessKey: "s", sessionToken: "t" }),
      ),
    );
    // The region resolves ASIA keys through its STS sessions: a token that does not open is no session.
    expect(temp.message).toBe("the access key id in the request is not valid or not active");
    // Within 15 minutes is accepted.
    await expect(
      authenticate(await signedRequest(alice, { signedAtMs: Date.now() - 14 * 60_000 })),
    ).resolves.toBeDefined();
    // A request that is not one (no method) is the caller's error, naming the field.
    const bad = await failure(authenticate({ ...ok, method: "" }));
    expect([bad.code, bad.awsName, bad.message]).toEqual([
      status.INVALID_ARGUMENT,
      "InvalidInput",
      "method is required",
    ]);
  });

  it("a bad caller is throttled per key and source; the key's owner calling from elsewhere is not", async () => {
    const forged = await signedRequest({ ...alice, secretAccessKey: "x".repeat(40) }, { source: "192.0.2.66" });
    const names: string[] = [];
    // A bucket of 10 failures refilled at 1/s: a slow host may refill one during the loop.
    while (names.length < 30 && names.at(-1) !== "Throttling")
      names.push((await failure(authenticate(forged))).awsName);
    expect(names.slice(0, 10)).toEqual(Array(10).fill("SignatureDoesNotMatch"));
    expect(names.at(-1)).toBe("Throttling");
    // The same key from the bad source stays throttled even with a good signature…
    const fromBad = await failure(authenticate(await signedRequest(alice, { source: "192.0.2.66" })));
    expect([fromBad.code, fromBad.awsName]).toEqual([status.RESOURCE_EXHAUSTED, "Throttling"]);
    // …while its owner, elsewhere, is not locked out.
    expect((await authenticate(await signedRequest(alice, { source: "10.0.0.8" }))).arn).toBe(aliceArn);
  });

  it("AuthenticateAndAuthorize: the authenticated user is authorized by its policies and a resource policy", async () => {
    const queue = (name: string) => `arn:aws:sqs:eu-west-1:${account.accountId}:${name}`;
    const allowed = await authenticateAndAuthorize(alice, { action: "sqs:SendMessage", resource: queue("jobs-1") });
    expect(allowed.authenticated?.arn).toBe(aliceArn);
    expect(allowed.authorization?.decision).toBe(Decision.DECISION_ALLOW);
    expect(allowed.authorization?.evaluatedAt?.accountId).toBe(account.accountId);
    const other = await authenticateAndAuthorize(alice, { action: "sqs:SendMessage", resource: queue("other") });
    expect(other.authorization?.decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    const denyAlice = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Deny", Principal: { AWS: aliceArn }, Action: "sqs:*", Resource: "*" }],
    });
    const denied = await authenticateAndAuthorize(alice, {
      action: "sqs:SendMessage",
      resource: queue("jobs-1"),
      resourcePolicy: denyAlice,
      explain: true,
    });
    expect(denied.authorization?.decision).toBe(Decision.DECISION_EXPLICIT_DENY);
    expect(denied.authorization?.explanationJson).not.toBe("");
    // The principal is the authenticated one; a caller cannot name another.
    const named = await failure(
      both({
        authenticate: await signedRequest(alice),
        authorize: check({ principal: { kind: { $case: "arn", value: `arn:aws:iam::${account.accountId}:root` } } }),
      }),
    );
    expect([named.code, named.awsName]).toEqual([status.INVALID_ARGUMENT, "InvalidInput"]);
    // A failed authentication answers no decision.
    const forged = await failure(
      both({
        authenticate: await signedRequest({ ...alice, secretAccessKey: "y".repeat(40) }, { source: "10.0.2.1" }),
        authorize: check({ action: "sqs:SendMessage", resource: queue("jobs-1") }),
      }),
    );
    expect(forged.awsName).toBe("SignatureDoesNotMatch");
  });

  it("the root may do anything in its account, except what a resource policy denies or a guardrail forbids", async () => {
    const rootCreds = { accessKeyId: account.rootAccessKeyId, secretAccessKey: account.rootSecretAccessKey };
    const rootArn = `arn:aws:iam::${account.accountId}:root`;
    const bucket = `arn:aws:s3:::bucket-${account.accountId}`;
    const ask = (r: Partial<AuthorizeRequest>, min = aliceKeyRevision) => authenticateAndAuthorize(rootCreds, r, min);
    expect((await ask({ action: "s3:DeleteBucket", resource: bucket })).authorization?.decision).toBe(
      Decision.DECISION_ALLOW,
    );
    // Authorize by the root's ARN says the same.
    const byArn = await authorize(
      check({ principal: { kind: { $case: "arn", value: rootArn } }, action: "iam:DeleteUser", resource: aliceArn }),
    );
    expect(byArn.decision).toBe(Decision.DECISION_ALLOW);
    const denyRoot = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Deny", Principal: { AWS: rootArn }, Action: "s3:DeleteBucket", Resource: bucket }],
    });
    expect(
      (await ask({ action: "s3:DeleteBucket", resource: bucket, resourcePolicy: denyRoot })).authorization?.decision,
    ).toBe(Decision.DECISION_EXPLICIT_DENY);
    // Another account's resource is not the root's without that account's resource policy.
    expect(
      (await ask({ action: "s3:GetObject", resource: "arn:aws:s3:::elsewhere/k", resourceAccount: "999988887777" }))
        .authorization?.decision,
    ).toBe(Decision.DECISION_IMPLICIT_DENY);
    const guardrail = await root.call("createPolicy", {
      policyName: "no-deletes",
      policyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: "*", Resource: "*" },
          { Effect: "Deny", Action: "s3:DeleteBucket", Resource: "*" },
        ],
      }),
    });
    const attached = await operator.call("attachAccountGuardrail", {
      accountId: account.accountId,
      policyArn: guardrail.policy.arn,
    });
    const bounded = await ask({ action: "s3:DeleteBucket", resource: bucket }, attached.revision);
    expect(bounded.authorization?.decision).toBe(Decision.DECISION_EXPLICIT_DENY);
    expect((await ask({ action: "s3:PutObject", resource: `${bucket}/k` })).authorization?.decision).toBe(
      Decision.DECISION_ALLOW,
    );
  });

  it("a deactivated key fails as soon as the region applies the change, works again when reactivated, and a deleted key fails", async () => {
    const key = await root.call("createAccessKey", { userName: "alice" });
    const bob = { accessKeyId: key.accessKey.accessKeyId, secretAccessKey: key.secretAccessKey };
    const ask = (min: Revision) =>
      authenticateAndAuthorize(bob, { action: "sqs:SendMessage", resource: "arn:aws:sqs:eu-west-1:1:jobs-1" }, min);
    // Authenticated once: the key and its derived signing key are cached now.
    expect((await ask(key.revision)).authenticated?.accessKeyId).toBe(bob.accessKeyId);
    const inactive = await root.call("updateAccessKey", {
      userName: "alice",
      accessKeyId: bob.accessKeyId,
      status: "Inactive",
    });
    const f = await failure(ask(inactive.revision));
    expect([f.code, f.awsName]).toEqual([status.UNAUTHENTICATED, "InvalidClientTokenId"]);
    // Plain Authenticate too, right after (the region has applied it).
    expect((await failure(authenticate(await signedRequest(bob, { source: "10.0.3.1" })))).awsName).toBe(
      "InvalidClientTokenId",
    );
    const active = await root.call("updateAccessKey", {
      userName: "alice",
      accessKeyId: bob.accessKeyId,
      status: "Active",
    });
    expect((await ask(active.revision)).authenticated?.accessKeyId).toBe(bob.accessKeyId);
    const deleted = await root.call("deleteAccessKey", { userName: "alice", accessKeyId: bob.accessKeyId });
    const gone = await failure(ask(deleted.revision));
    expect([gone.code, gone.awsName, gone.message]).toEqual([
      status.UNAUTHENTICATED,
      "InvalidClientTokenId",
      "the access key id in the request is not valid or not active",
    ]);
  });
});
