// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text
// End to end: a real control plane (Postgres, outbox relay to Kafka) and two regions (applier and
// decider each, their own Redis), talking only through the change topic.
import { createHash, randomBytes } from "node:crypto";
import { createSigningInterceptor, signRequest } from "@gatehouse/auth";
import { loadControlPlaneConfig, startControlPlane } from "@gatehouse/control-plane";
import {
  AssumeRoleRequest,
  type AssumeRoleResponse,
  type AuthenticateResponse,
  AuthorizeRequest,
  type AuthorizeResponse,
  AuthorizerServiceClient,
  ControlServiceClient,
  ControlServiceService,
  Decision,
  EntityType,
  type GetCallerIdentityResponse,
  type GetSessionTokenResponse,
  type Revision,
  StsServiceClient,
} from "@gatehouse/proto";
import { createTestKeyPrefix, createTestSchema, createTestTopic, regionRedis, testInfra } from "@gatehouse/testkit";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { generate } from "otplib";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRegionConfig } from "./config.ts";
import { type Region, startRegion } from "./region.ts";

const logger = pino({ level: "silent" });
// Half the default (1 s): short enough for a quick test, long enough that "below twice the
// interval" does not measure the test host's scheduling delays (at 200 ms, 505 ms samples were seen
// while other suites loaded both cores).
const HEARTBEAT_MS = 500;
const SECRET_KEY = randomBytes(32).toString("base64");
const OPERATOR = { accessKeyId: "AKIAOPERATORREGION00", secretAccessKey: randomBytes(30).toString("base64") };

type Unary = Record<string, (req: unknown, md: Metadata, cb: (e: ServiceError | null, res: unknown) => void) => void>;

function controlClient(
  address: string,
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
) {
  const client = new ControlServiceClient(address, credentials.createInsecure(), {
    interceptors: [createSigningInterceptor({ credentials: creds, authority: address })],
  });
  return {
    call<T = any>(method: string, request: object): Promise<T> {
      const def = (ControlServiceService as unknown as Record<string, { requestDeserialize(b: Buffer): object }>)[
        method
      ];
      const full = { ...def?.requestDeserialize(Buffer.alloc(0)), ...request };
      const fn = (client as unknown as Unary)[method];
      if (fn === undefined) return Promise.reject(new Error(`ControlService has no method ${method}`));
      return new Promise((resolve, reject) =>
        fn.call(client, full, new Metadata(), (e, res) => (e === null ? resolve(res as T) : reject(e))),
      );
    },
    close: () => client.close(),
  };
}

describe("control plane → Kafka → two regions (end to end)", () => {
  let close: (() => Promise<void>)[] = [];
  let cpAddress = "";
  const regions: Region[] = [];
  const deciders: AuthorizerServiceClient[] = [];

  beforeAll(async () => {
    const schema = await createTestSchema({ prefix: "rege2e", migrated: true });
    const topic = await createTestTopic({ prefix: "rege2e", partitions: 4 });
    const cp = await startControlPlane({
      config: loadControlPlaneConfig({
        GATEHOUSE_CP_LISTEN: "127.0.0.1:0",
        GATEHOUSE_PG_URL: schema.databaseUrl,
        GATEHOUSE_PG_SCHEMA: schema.name,
        GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
        GATEHOUSE_CHANGES_TOPIC: topic.name,
        GATEHOUSE_CHANGES_PARTITIONS: "4",
        GATEHOUSE_SECRET_KEY: SECRET_KEY,
        GATEHOUSE_OPERATOR_ACCESS_KEY_ID: OPERATOR.accessKeyId,
        GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: OPERATOR.secretAccessKey,
        GATEHOUSE_CP_RELAY_WATERMARK_MS: String(HEARTBEAT_MS),
      }),
      logger,
    });
    cpAddress = `127.0.0.1:${cp.port}`;
    close = [() => cp.close(), () => schema.drop(), () => topic.delete()];
    for (const name of ["us-east-1", "eu-west-1"]) {
      const keys = createTestKeyPrefix({ prefix: "rege2e" });
      const region = await startRegion({
        config: loadRegionConfig(
          {
            GATEHOUSE_REGION: name,
            GATEHOUSE_REGION_REDIS_URL: regionRedis(name, testInfra()).url,
            GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
            GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
            GATEHOUSE_REGION_LISTEN: "127.0.0.1:0",
            GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
            GATEHOUSE_CHANGES_TOPIC: topic.name,
            GATEHOUSE_SECRET_KEY: SECRET_KEY,
          },
          ["--role", "all"],
        ),
        logger,
      });
      regions.push(region);
      deciders.push(new AuthorizerServiceClient(`127.0.0.1:${region.decider?.port}`, credentials.createInsecure()));
      close.unshift(async () => {
        await keys.cleanup();
      });
      close.unshift(() => region.close());
    }
  });
  afterAll(async () => {
    for (const d of deciders) d.close();
    for (const c of close) await c();
  });

  const authorize = (decider: AuthorizerServiceClient, r: Partial<AuthorizeRequest>) =>
    new Promise<AuthorizeResponse>((resolve, reject) =>
      decider.authorize(AuthorizeRequest.create(r), new Metadata(), { deadline: Date.now() + 15_000 }, (err, res) =>
        err === null ? resolve(res) : reject(err),
      ),
    );

  it("a change becomes visible in both regions with min_revision; a detach denies once applied", async () => {
    const operator = controlClient(cpAddress, OPERATOR);
    const account = await operator.call("createAccount", { accountAlias: "" });
    const root = controlClient(cpAddress, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    try {
      const created = await root.call("createUser", { userName: "alice" });
      const policy = await root.call("createPolicy", {
        policyName: "read",
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::home/${aws:username}/*" }],
        }),
      });
      const entity = { entityType: EntityType.ENTITY_TYPE_USER, entityName: "alice" };
      const attached = await root.call("attachPolicy", { ...entity, policyArn: policy.policy.arn });
      const ask = (decider: AuthorizerServiceClient, revision: Revision) =>
        authorize(decider, {
          principal: { kind: { $case: "arn", value: created.user.arn } },
          action: "s3:GetObject",
          resource: "arn:aws:s3:::home/alice/notes",
          minRevision: revision,
        });
      for (const decider of deciders) {
        const allowed = await ask(decider, attached.revision);
        expect(allowed.decision).toBe(Decision.DECISION_ALLOW);
        expect(Number(allowed.evaluatedAt?.revision)).toBeGreaterThanOrEqual(Number(attached.revision.revision));
      }
      const detached = await root.call("detachPolicy", { ...entity, policyArn: policy.policy.arn });
      for (const decider of deciders) {
        const denied = await ask(decider, detached.revision);
        expect(denied.decision).toBe(Decision.DECISION_IMPLICIT_DENY);
        expect(Number(denied.evaluatedAt?.revision)).toBeGreaterThanOrEqual(Number(detached.revision.revision));
      }
      for (const region of regions) expect(region.applier?.stats.gaps).toEqual([]);
      // Bounded staleness through the live path: the relay's watermarks reach the deciders.
      const fresh = await authorize(deciders[0] as AuthorizerServiceClient, {
        principal: { kind: { $case: "arn", value: created.user.arn } },
        action: "s3:GetObject",
        resource: "arn:aws:s3:::home/alice/notes",
        maxStalenessMs: 5 * HEARTBEAT_MS,
      });
      expect(fresh.decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    } finally {
      root.close();
      operator.close();
    }
  });

  it("group membership, a new default policy version and an account guardrail reach cached decisions", async () => {
    const operator = controlClient(cpAddress, OPERATOR);
    const account = await operator.call("createAccount", { accountAlias: "" });
    const root = controlClient(cpAddress, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
    try {
      const bob = await root.call("createUser", { userName: "bob" });
      await root.call("createGroup", { groupName: "devs" });
      const lists = await root.call("createPolicy", {
        policyName: "lists",
        policyDocument: doc({ Effect: "Allow", Action: ["s3:ListBucket", "s3:GetObject"], Resource: "*" }),
      });
      await root.call("attachPolicy", {
        entityType: EntityType.ENTITY_TYPE_GROUP,
        entityName: "devs",
        policyArn: lists.policy.arn,
      });
      const joined = await root.call("addUserToGroup", { groupName: "devs", userName: "bob" });
      const ask = (action: string, minRevision?: Revision) =>
        Promise.all(
          deciders.map((d) =>
            authorize(d, {
              principal: { kind: { $case: "arn", value: bob.user.arn } },
              action,
              resource: "arn:aws:s3:::bucket",
              ...(minRevision === undefined ? {} : { minRevision }),
            }),
          ),
        );
      const decisions = (rs: AuthorizeResponse[]) => rs.map((r) => r.decision);
      expect(decisions(await ask("s3:ListBucket", joined.revision))).toEqual([
        Decision.DECISION_ALLOW,
        Decision.DECISION_ALLOW,
      ]);
      // Cached now; a new default version of the group's policy must evict the member.
      const version = await root.call("createPolicyVersion", {
        policyArn: lists.policy.arn,
        policyDocument: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
        setAsDefault: true,
      });
      expect(decisions(await ask("s3:ListBucket", version.revision))).toEqual([
        Decision.DECISION_IMPLICIT_DENY,
        Decision.DECISION_IMPLICIT_DENY,
      ]);
      expect(decisions(await ask("s3:GetObject"))).toEqual([Decision.DECISION_ALLOW, Decision.DECISION_ALLOW]);
      // A guardrail is an account change: every cached principal of the account is evicted.
      const guardrail = await root.call("createPolicy", {
        policyName: "no-reads",
        policyDocument: doc(
          { Effect: "Allow", Action: "*", Resource: "*" },
          { Effect: "Deny", Action: "s3:GetObject", Resource: "*" },
        ),
      });
      const attached = await operator.call("attachAccountGuardrail", {
        accountId: account.accountId,
        policyArn: guardrail.policy.arn,
      });
      expect(decisions(await ask("s3:GetObject", attached.revision))).toEqual([
        Decision.DECISION_EXPLICIT_DENY,
        Decision.DECISION_EXPLICIT_DENY,
      ]);
    } finally {
      root.close();
      operator.close();
    }
  });

  // After the first test: the relay sends watermarks once it has published (or found nothing) as of a time.
  it("an idle region knows its staleness: below twice the heartbeat interval", async () => {
    await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS));
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      for (const region of regions) samples.push(region.decider?.decider.stalenessMs() ?? Number.POSITIVE_INFINITY);
      await new Promise((r) => setTimeout(r, HEARTBEAT_MS / 2));
    }
    expect(Math.max(...samples)).toBeLessThan(2 * HEARTBEAT_MS);
  });

  it("STS: a session issued in one region works in the other; the key set arrives sealed through the topic and rotates with live sessions", async () => {
    const operator = controlClient(cpAddress, OPERATOR);
    const account = await operator.call("createAccount", { accountAlias: "" });
    const accountId = account.accountId as string;
    const root = controlClient(cpAddress, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    try {
      await root.call("createUser", { userName: "alice" });
      const key = await root.call("createAccessKey", { userName: "alice" });
      const created = await root.call("createRole", {
        roleName: "app",
        assumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountId}:user/alice` }, Action: "sts:AssumeRole" },
          ],
        }),
      });
      const put = await root.call("putInlinePolicy", {
        entityType: EntityType.ENTITY_TYPE_ROLE,
        entityName: "app",
        policyName: "read",
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
        }),
      });
      expect(created.role.arn).toBe(`arn:aws:iam::${accountId}:role/app`);
      const [a, b] = regions as [Region, Region];
      const [, decB] = deciders as [AuthorizerServiceClient, AuthorizerServiceClient];
      // Region A has applied the role's revision (and, before the account existed, the first key).
      await a.decider?.decider.decide({
        principal: { kind: "arn", arn: created.role.arn },
        action: "s3:GetObject",
        resource: "*",
        context: {},
        explain: false,
        minRevision: put.revision,
        deadlineMs: Date.now() + 15_000,
      });
      const sts = a.decider?.sts;
      if (sts === undefined) throw new Error("region A serves no STS");
      const caller = {
        kind: "long-term" as const,
        accessKeyId: key.accessKey.accessKeyId as string,
        accountId,
        principalArn: `arn:aws:iam::${accountId}:user/alice`,
        userId: key.accessKey.userId as string,
        userName: "alice",
      };
      const assume = () =>
        sts.assumeRole(caller, {
          roleArn: created.role.arn,
          roleSessionName: "e2e",
          durationSeconds: 900,
          externalId: "",
          serialNumber: "",
          tokenCode: "",
          policy: "",
          policyArns: [],
          tags: [],
          transitiveTagKeys: [],
          deadlineMs: Date.now() + 15_000,
        });
      const first = await assume();
      const asSession = (s: { accessKeyId: string; sessionToken: string }, minRevision?: Revision) =>
        authorize(decB, {
          principal: { kind: { $case: "accessKeyId", value: s.accessKeyId } },
          sessionToken: s.sessionToken,
          action: "s3:GetObject",
          resource: "arn:aws:s3:::b/k",
          ...(minRevision === undefined ? { minRevision: put.revision } : { minRevision }),
        });
      expect((await asSession(first)).decision).toBe(Decision.DECISION_ALLOW);
      // Nothing of the key set is in clear in a region's Redis.
      const clear = (await b.view.readEntity("000000000000", "sts-key-set", "sts")).entity;
      expect(clear?.kind).toBe("sts-key-set");
      // Rotation: once applied, the old session still works in B and new ones are sealed with the new key.
      const rotated = await operator.call("rotateStsKeys", { activationDelaySeconds: 0 });
      expect(rotated.keys).toHaveLength(2);
      const sys = rotated.revision;
      expect((await asSession(first, sys)).decision).toBe(Decision.DECISION_ALLOW);
      await a.decider?.decider.decide({
        principal: { kind: "arn", arn: created.role.arn },
        action: "s3:GetObject",
        resource: "*",
        context: {},
        explain: false,
        minRevision: sys,
        deadlineMs: Date.now() + 15_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = await assume();
      expect(Buffer.from(second.sessionToken, "base64url").subarray(1, 9).toString("hex")).toBe(rotated.keys[1].keyId);
      expect((await asSession(second)).decision).toBe(Decision.DECISION_ALLOW);
      // A tampered token is refused over the wire.
      const bad = Buffer.from(second.sessionToken, "base64url");
      bad[30] = (bad[30] ?? 0) ^ 1;
      await expect(
        asSession({ accessKeyId: second.accessKeyId, sessionToken: bad.toString("base64url") }),
      ).rejects.toMatchObject({
        code: 16,
      });
    } finally {
      operator.close();
      root.close();
    }
  });

  it("STS over gRPC: AssumeRoleWithWebIdentity in one region (the provider's JWKS replicated), the session allowed in the other", async () => {
    const operator = controlClient(cpAddress, OPERATOR);
    const account = await operator.call("createAccount", { accountAlias: "" });
    const accountId = account.accountId as string;
    const root = controlClient(cpAddress, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "e1", alg: "ES256", use: "sig" };
    const url = "login.example.org";
    const [clientA, clientB] = regions.map(
      (r) => new StsServiceClient(`127.0.0.1:${r.decider?.port}`, credentials.createInsecure()),
    );
    try {
      const provider = await root.call("createOpenIdConnectProvider", {
        url: `https://${url}`,
        clientIdList: ["web-app"],
        thumbprintList: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
        jwksJson: JSON.stringify({ keys: [jwk] }),
      });
      await root.call("createRole", {
        roleName: "web",
        assumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Federated: provider.openIdConnectProviderArn },
              Action: "sts:AssumeRoleWithWebIdentity",
              Condition: { StringEquals: { [`${url}:sub`]: "u-1" } },
            },
          ],
        }),
      });
      const put = await root.call("putInlinePolicy", {
        entityType: EntityType.ENTITY_TYPE_ROLE,
        entityName: "web",
        policyName: "read",
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
        }),
      });
      const revision = put.revision;
      await regions[1]?.decider?.decider.decide({
        principal: { kind: "arn", arn: `arn:aws:iam::${accountId}:role/web` },
        action: "s3:GetObject",
        resource: "*",
        context: {},
        explain: false,
        minRevision: revision,
        deadlineMs: Date.now() + 15_000,
      });
      const token = await new SignJWT({ sub: "u-1", aud: "web-app" })
        .setProtectedHeader({ alg: "ES256", kid: "e1" })
        .setIssuer(`https://${url}`)
        .setExpirationTime("5m")
        .sign(privateKey);
      const request = {
        roleArn: `arn:aws:iam::${accountId}:role/web`,
        roleSessionName: "browser",
        webIdentityToken: token,
        durationSeconds: 900,
        policy: "",
        policyArns: [],
      };
      const assumed = await new Promise<AssumeRoleResponse>((resolve, reject) =>
        clientB?.assumeRoleWithWebIdentity(request, new Metadata(), { deadline: Date.now() + 10_000 }, (e, res) =>
          e === null ? resolve(res) : reject(e),
        ),
      );
      expect(assumed.assumedRoleUser?.arn).toBe(`arn:aws:sts::${accountId}:assumed-role/web/browser`);
      expect(assumed.region).toBe("eu-west-1");
      const creds = assumed.credentials;
      const allowed = await authorize(deciders[0] as AuthorizerServiceClient, {
        principal: { kind: { $case: "accessKeyId", value: creds?.accessKeyId ?? "" } },
        sessionToken: creds?.sessionToken ?? "",
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        minRevision: revision,
      });
      expect(allowed.decision).toBe(Decision.DECISION_ALLOW);
      const bad = await new Promise<ServiceError>((resolve) =>
        clientA?.assumeRoleWithWebIdentity(
          { ...request, webIdentityToken: `${token.slice(0, -4)}AAAA` },
          new Metadata(),
          { deadline: Date.now() + 10_000 },
          (e) => resolve(e as ServiceError),
        ),
      );
      expect(bad.code).toBe(16);
    } finally {
      clientA?.close();
      clientB?.close();
      operator.close();
      root.close();
    }
  });

  it("STS over gRPC, signed: AssumeRole with a user's key in one region, GetCallerIdentity and Authenticate with the session in the other, GetSessionToken; bad signatures refused", async () => {
    const operator = controlClient(cpAddress, OPERATOR);
    const account = await operator.call("createAccount", { accountAlias: "" });
    const accountId = account.accountId as string;
    const root = controlClient(cpAddress, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    const clients: StsServiceClient[] = [];
    const stsClient = (
      region: Region,
      creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
    ) => {
      const authority = `127.0.0.1:${region.decider?.port}`;
      const c = new StsServiceClient(authority, credentials.createInsecure(), {
        interceptors: [
          createSigningInterceptor({ credentials: creds, authority, region: regionNameOf(region), service: "sts" }),
        ],
      });
      clients.push(c);
      return c;
    };
    const regionNameOf = (r: Region) => (r === regions[0] ? "us-east-1" : "eu-west-1");
    const unary = <Res>(f: (cb: (e: ServiceError | null, res: Res) => void) => void) =>
      new Promise<Res>((resolve, reject) => f((e, res) => (e === null ? resolve(res) : reject(e))));
    try {
      await root.call("createUser", { userName: "bob" });
      const key = await root.call("createAccessKey", { userName: "bob" });
      await root.call("createRole", {
        roleName: "ops",
        assumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountId}:user/bob` }, Action: "sts:AssumeRole" },
          ],
        }),
      });
      const put = await root.call("putInlinePolicy", {
        entityType: EntityType.ENTITY_TYPE_ROLE,
        entityName: "ops",
        policyName: "read",
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: ["s3:GetObject", "iam:GetUser"], Resource: "*" }],
        }),
      });
      const revision = put.revision;
      for (const r of regions) {
        await r.decider?.decider.waitApplied(accountId, revision.revision, Date.now() + 15_000);
        // The first STS key (the system account's first revision, made at the control plane's start).
        await r.decider?.decider.waitApplied("000000000000", 1, Date.now() + 15_000);
      }
      const [a, b] = regions as [Region, Region];
      const bob = { accessKeyId: key.accessKey.accessKeyId as string, secretAccessKey: key.secretAccessKey as string };
      const assumed = await unary<AssumeRoleResponse>((cb) =>
        stsClient(a, bob).assumeRole(
          {
            roleArn: `arn:aws:iam::${accountId}:role/ops`,
            roleSessionName: "signed",
            durationSeconds: 900,
            externalId: "",
            serialNumber: "",
            tokenCode: "",
            policy: "",
            policyArns: [],
            tags: [],
            transitiveTagKeys: [],
            sourceIdentity: "",
            minRevision: revision,
          },
          cb,
        ),
      );
      const creds = assumed.credentials;
      if (creds === undefined) throw new Error("no credentials");
      expect(creds.accessKeyId).toMatch(/^ASIA/);
      // Each STS answer names the region that gave it.
      expect(assumed.region).toBe("us-east-1");
      const session = {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken,
      };
      const who = await unary<GetCallerIdentityResponse>((cb) => stsClient(b, session).getCallerIdentity({}, cb));
      expect(who).toEqual({
        account: accountId,
        arn: `arn:aws:sts::${accountId}:assumed-role/ops/signed`,
        userId: expect.stringMatching(/^AROA.+:signed$/),
        region: "eu-west-1",
      });
      const bobIs = await unary<GetCallerIdentityResponse>((cb) => stsClient(b, bob).getCallerIdentity({}, cb));
      expect(bobIs.arn).toBe(`arn:aws:iam::${accountId}:user/bob`);
      // A session cannot call GetSessionToken; the user can.
      const refused = await unary((cb) =>
        stsClient(b, session).getSessionToken({ durationSeconds: 900, serialNumber: "", tokenCode: "" }, cb),
      ).catch((e: ServiceError) => e);
      expect((refused as ServiceError).code).toBe(7);
      const own = await unary<GetSessionTokenResponse>((cb) =>
        stsClient(b, bob).getSessionToken({ durationSeconds: 900, serialNumber: "", tokenCode: "" }, cb),
      );
      expect(own.credentials?.accessKeyId).toMatch(/^ASIA/);
      expect(own.region).toBe("eu-west-1");
      // MFA: a device created and enabled on the control plane; its sealed seed reaches the region,
      // which checks the code itself (once), and the control plane lets only the MFA session call IAM.
      await root.call("putInlinePolicy", {
        entityType: EntityType.ENTITY_TYPE_USER,
        entityName: "bob",
        policyName: "self",
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }],
        }),
      });
      const device = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "bob-phone", path: "/" });
      const t = Math.floor(Date.now() / 1000);
      const enabled = await root.call("enableMfaDevice", {
        userName: "bob",
        serialNumber: device.serialNumber,
        authenticationCode1: await generate({ secret: device.base32StringSeed, epoch: t - 30 }),
        authenticationCode2: await generate({ secret: device.base32StringSeed, epoch: t }),
      });
      await b.decider?.decider.waitApplied(accountId, Number(enabled.revision.revision), Date.now() + 15_000);
      const code = await generate({ secret: device.base32StringSeed, epoch: Math.floor(Date.now() / 1000) });
      const withMfa = { durationSeconds: 900, serialNumber: device.serialNumber as string, tokenCode: code };
      const mfaSession = await unary<GetSessionTokenResponse>((cb) => stsClient(b, bob).getSessionToken(withMfa, cb));
      const replay = await unary((cb) => stsClient(b, bob).getSessionToken(withMfa, cb)).catch((e: ServiceError) => e);
      expect((replay as ServiceError).code).toBe(7);
      const asMfa = controlClient(cpAddress, {
        accessKeyId: mfaSession.credentials?.accessKeyId ?? "",
        secretAccessKey: mfaSession.credentials?.secretAccessKey ?? "",
        sessionToken: mfaSession.credentials?.sessionToken ?? "",
      });
      const asNoMfa = controlClient(cpAddress, {
        accessKeyId: own.credentials?.accessKeyId ?? "",
        secretAccessKey: own.credentials?.secretAccessKey ?? "",
        sessionToken: own.credentials?.sessionToken ?? "",
      });
      try {
        expect((await asMfa.call("getUser", { userName: "bob" })).user.userName).toBe("bob");
        await expect(asNoMfa.call("getUser", { userName: "bob" })).rejects.toMatchObject({ code: 7 });
      } finally {
        asMfa.close();
        asNoMfa.close();
      }
      // Wrong secret, or the session's key id with another session's token: UNAUTHENTICATED.
      const wrong = await unary((cb) =>
        stsClient(b, { ...bob, secretAccessKey: "x".repeat(40) }).getCallerIdentity({}, cb),
      ).catch((e: ServiceError) => e);
      expect((wrong as ServiceError).code).toBe(16);
      const swapped = await unary((cb) =>
        stsClient(b, { ...session, sessionToken: own.credentials?.sessionToken ?? "" }).getCallerIdentity({}, cb),
      ).catch((e: ServiceError) => e);
      expect((swapped as ServiceError).code).toBe(16);
      // The same session through Authenticate (a calling service's request, signed for its own name).
      const host = "queues.example.com";
      const added = await signRequest({ method: "GET", path: "/q", headers: { host }, body: "" }, session, {
        region: "eu-west-1",
        service: "queues",
      });
      const authed = await unary<AuthenticateResponse>((cb) =>
        (deciders[1] as AuthorizerServiceClient).authenticate(
          {
            authorization: added.authorization ?? "",
            amzDate: added["x-amz-date"] ?? "",
            securityToken: added["x-amz-security-token"] ?? "",
            method: "GET",
            path: "/q",
            host,
            payloadSha256: createHash("sha256").update("").digest("hex"),
            query: "",
            signedHeaders: Object.fromEntries(
              Object.entries(added).filter(
                ([k]) => k !== "authorization" && k !== "x-amz-date" && k !== "x-amz-security-token",
              ),
            ),
            service: "queues",
            source: "10.0.0.1",
            pathSingleEncoded: false,
          },
          cb,
        ),
      );
      expect(authed.arn).toBe(`arn:aws:sts::${accountId}:assumed-role/ops/signed`);
      // The control plane verifies the same session (its own copy of the key set) and authorizes
      // it with the role's policies: GetUser allowed, CreateUser not; a tampered token refused.
      const asSession = controlClient(cpAddress, session);
      const asTampered = controlClient(cpAddress, {
        ...session,
        sessionToken: `${session.sessionToken.slice(0, -2)}AA`,
      });
      try {
        const got = await asSession.call("getUser", { userName: "bob" });
        expect(got.user.userName).toBe("bob");
        await expect(asSession.call("createUser", { userName: "eve" })).rejects.toMatchObject({ code: 7 });
        await expect(asTampered.call("getUser", { userName: "bob" })).rejects.toMatchObject({ code: 16 });
      } finally {
        asSession.close();
        asTampered.close();
      }
      // SourceIdentity end to end: a role (made on the control plane) trusting bob to set one and
      // allowing by it; the session's requests carry it in the other region and at the control
      // plane, set by them only.
      await root.call("createRole", {
        roleName: "ops-si",
        assumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: `arn:aws:iam::${accountId}:user/bob` },
              Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
            },
          ],
        }),
      });
      const bySource = await root.call("putInlinePolicy", {
        entityType: EntityType.ENTITY_TYPE_ROLE,
        entityName: "ops-si",
        policyName: "by-source",
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["s3:GetObject", "iam:GetUser"],
              Resource: "*",
              Condition: { StringEquals: { "aws:SourceIdentity": "bob-laptop" } },
            },
          ],
        }),
      });
      const siRevision = bySource.revision;
      for (const r of regions)
        await r.decider?.decider.waitApplied(accountId, siRevision.revision, Date.now() + 15_000);
      const assumeSi = (sourceIdentity: string) =>
        unary<AssumeRoleResponse>((cb) =>
          stsClient(a, bob).assumeRole(
            AssumeRoleRequest.fromPartial({
              roleArn: `arn:aws:iam::${accountId}:role/ops-si`,
              roleSessionName: "si",
              durationSeconds: 900,
              sourceIdentity,
              minRevision: siRevision,
            }),
            cb,
          ),
        );
      const withSi = await assumeSi("bob-laptop");
      const withoutSi = await assumeSi("");
      expect([withSi.sourceIdentity, withSi.region, withoutSi.sourceIdentity]).toEqual(["bob-laptop", "us-east-1", ""]);
      const asCreds = (r: AssumeRoleResponse) => ({
        accessKeyId: r.credentials?.accessKeyId ?? "",
        secretAccessKey: r.credentials?.secretAccessKey ?? "",
        sessionToken: r.credentials?.sessionToken ?? "",
      });
      const check = (r: AssumeRoleResponse, context: AuthorizeRequest["context"] = {}) =>
        authorize(deciders[1] as AuthorizerServiceClient, {
          principal: { kind: { $case: "accessKeyId", value: r.credentials?.accessKeyId ?? "" } },
          sessionToken: r.credentials?.sessionToken ?? "",
          action: "s3:GetObject",
          resource: "arn:aws:s3:::b/k",
          context,
          minRevision: siRevision,
        });
      expect((await check(withSi)).decision).toBe(Decision.DECISION_ALLOW);
      expect((await check(withoutSi)).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
      const claimed = await check(withoutSi, {
        "aws:SourceIdentity": { kind: { $case: "stringValue", value: "bob-laptop" } },
      }).catch((e: ServiceError) => e);
      expect((claimed as ServiceError).code).toBe(3);
      const cpWithSi = controlClient(cpAddress, asCreds(withSi));
      const cpWithoutSi = controlClient(cpAddress, asCreds(withoutSi));
      try {
        expect((await cpWithSi.call("getUser", { userName: "bob" })).user.userName).toBe("bob");
        await expect(cpWithoutSi.call("getUser", { userName: "bob" })).rejects.toMatchObject({ code: 7 });
      } finally {
        cpWithSi.close();
        cpWithoutSi.close();
      }
    } finally {
      for (const c of clients) c.close();
      operator.close();
      root.close();
    }
  });

  it("STS managed session policies: an AWS managed one the account never uses narrows the session in a live region; a new default version of a customer managed one reaches the live session", async () => {
    const operator = controlClient(cpAddress, OPERATOR);
    const account = await operator.call("createAccount", { accountAlias: "" });
    const accountId = account.accountId as string;
    const root = controlClient(cpAddress, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
    const [a] = regions as [Region, Region];
    const [, decB] = deciders as [AuthorizerServiceClient, AuthorizerServiceClient];
    const clients: StsServiceClient[] = [];
    const unary = <Res>(f: (cb: (e: ServiceError | null, res: Res) => void) => void) =>
      new Promise<Res>((resolve, reject) => f((e, res) => (e === null ? resolve(res) : reject(e))));
    try {
      await root.call("createUser", { userName: "carol" });
      const key = await root.call("createAccessKey", { userName: "carol" });
      await root.call("createRole", {
        roleName: "wide",
        assumeRolePolicyDocument: doc({
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${accountId}:user/carol` },
          Action: "sts:AssumeRole",
        }),
      });
      await root.call("putInlinePolicy", {
        entityType: EntityType.ENTITY_TYPE_ROLE,
        entityName: "wide",
        policyName: "s3-and-iam",
        policyDocument: doc({ Effect: "Allow", Action: ["s3:*", "iam:GetUser", "iam:CreateUser"], Resource: "*" }),
      });
      const narrow = await root.call("createPolicy", {
        policyName: "narrow",
        policyDocument: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
      });
      const ready = narrow.revision;
      // Both regions hold every AWS managed policy from the system stream (seeded at the control
      // plane's start with the first STS key), though this account uses none.
      for (const r of regions) {
        await r.decider?.decider.waitApplied(accountId, ready.revision, Date.now() + 15_000);
        await r.decider?.decider.waitApplied("000000000000", 2, Date.now() + 15_000);
      }
      const authority = `127.0.0.1:${a.decider?.port}`;
      const sts = new StsServiceClient(authority, credentials.createInsecure(), {
        interceptors: [
          createSigningInterceptor({
            credentials: { accessKeyId: key.accessKey.accessKeyId, secretAccessKey: key.secretAccessKey },
            authority,
            region: "us-east-1",
            service: "sts",
          }),
        ],
      });
      clients.push(sts);
      const assume = (policyArns: string[]) =>
        unary<AssumeRoleResponse>((cb) =>
          sts.assumeRole(
            {
              roleArn: `arn:aws:iam::${accountId}:role/wide`,
              roleSessionName: "narrowed",
              durationSeconds: 900,
              externalId: "",
              serialNumber: "",
              tokenCode: "",
              policy: "",
              policyArns,
              tags: [],
              transitiveTagKeys: [],
              sourceIdentity: "",
              minRevision: ready,
            },
            cb,
          ),
        );
      const ask = (creds: AssumeRoleResponse["credentials"], action: string, minRevision: Revision = ready) =>
        authorize(decB, {
          principal: { kind: { $case: "accessKeyId", value: creds?.accessKeyId ?? "" } },
          sessionToken: creds?.sessionToken ?? "",
          action,
          resource: action.startsWith("s3:") ? "arn:aws:s3:::bucket/key" : `arn:aws:iam::${accountId}:user/carol`,
          minRevision,
        }).then((r) => r.decision);
      // ReadOnlyAccess: the role's reads stay, its writes go; what the role lacks it never gains.
      const readOnly = await assume(["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
      expect(readOnly.packedPolicySize).toBeGreaterThan(0);
      expect(await ask(readOnly.credentials, "s3:GetObject")).toBe(Decision.DECISION_ALLOW);
      expect(await ask(readOnly.credentials, "iam:GetUser")).toBe(Decision.DECISION_ALLOW);
      expect(await ask(readOnly.credentials, "s3:PutObject")).toBe(Decision.DECISION_IMPLICIT_DENY);
      expect(await ask(readOnly.credentials, "iam:CreateUser")).toBe(Decision.DECISION_IMPLICIT_DENY);
      expect(await ask(readOnly.credentials, "dynamodb:GetItem")).toBe(Decision.DECISION_IMPLICIT_DENY);
      // A customer managed session policy counts at its current default version.
      const narrowed = await assume([narrow.policy.arn]);
      expect(await ask(narrowed.credentials, "s3:GetObject")).toBe(Decision.DECISION_ALLOW);
      expect(await ask(narrowed.credentials, "s3:ListBucket")).toBe(Decision.DECISION_IMPLICIT_DENY);
      const version = await root.call("createPolicyVersion", {
        policyArn: narrow.policy.arn,
        policyDocument: doc({ Effect: "Allow", Action: "s3:ListBucket", Resource: "*" }),
        setAsDefault: true,
      });
      const changed = version.revision;
      expect(await ask(narrowed.credentials, "s3:ListBucket", changed)).toBe(Decision.DECISION_ALLOW);
      expect(await ask(narrowed.credentials, "s3:GetObject", changed)).toBe(Decision.DECISION_IMPLICIT_DENY);
      // Another account's policy is not a session policy of this role (AWS: the role's account's).
      const foreign = await assume(["arn:aws:iam::123456789012:policy/narrow"]).catch((e: ServiceError) => e);
      expect((foreign as ServiceError).code).toBe(3);
    } finally {
      for (const c of clients) c.close();
      operator.close();
      root.close();
    }
  });
});
