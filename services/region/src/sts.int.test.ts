import { randomBytes } from "node:crypto";
import { createSecretBox, newStsKey, type SecretBox } from "@gatehouse/auth";
import { createManualClock, IamError, type ManualClock } from "@gatehouse/core";
import type { RoleState, TypedEntity, UserState } from "@gatehouse/events";
import { createTestKeyPrefix, testRedis } from "@gatehouse/testkit";
import { createRegionView, type RegionView } from "@gatehouse/view-redis";
import type { Redis } from "ioredis";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { generate, generateSecret } from "otplib";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDecider, type Decider } from "./decider.ts";
import { accountEntities } from "./decider-fixture.int-helper.ts";
import { type AssumeRoleInput, createStsIssuer, type StsCaller, type StsIssuer } from "./sts-issuer.ts";
import { createStsKeyring, type StsKeyring } from "./sts-keyring.ts";

const A = "111100002222";
const B = "333300004444";
const T0 = Date.parse("2026-12-04T12:00:00Z");
const logger = pino({ level: "silent" });
const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const allow = (action: string, extra: object = {}) => ({ Effect: "Allow", Action: action, Resource: "*", ...extra });
const trust = (principal: object, action: string | string[] = "sts:AssumeRole", extra: object = {}) => ({
  Effect: "Allow",
  Principal: principal,
  Action: action,
  ...extra,
});

const user = (account: string, name: string, o: Partial<UserState> = {}) =>
  accountEntities(account, account).user(name, o);
/** A role allowed s3:* by an inline policy, sessions of up to two hours. */
const role = (account: string, name: string, trustDoc: string, o: Partial<RoleState> = {}) =>
  accountEntities(account, account).role(name, trustDoc, {
    maxSessionDuration: 7200,
    inlinePolicies: [{ policyName: "perm", policyDocument: doc(allow("s3:*")) }],
    ...o,
  });
/** A registered OIDC provider of `account` for `url`, client id "my-app", verifying with `jwk`. */
const oidcProvider = (account: string, url: string, jwk: object): TypedEntity => {
  const arn = `arn:aws:iam::${account}:oidc-provider/${url}`;
  return {
    kind: "oidc-provider",
    id: arn,
    state: {
      arn,
      accountId: account,
      url,
      clientIds: ["my-app"],
      thumbprints: [],
      jwks: JSON.stringify({ keys: [jwk] }),
      tags: [],
      createdAtMs: 1,
    },
  };
};
function accessKey(
  account: string,
  id: string,
  userName: string,
  status: "Active" | "Inactive" = "Active",
): TypedEntity {
  return {
    kind: "access-key",
    id,
    state: {
      accessKeyId: id,
      accountId: account,
      userId: `AIDA${userName.toUpperCase()}${account}`,
      userName,
      principalArn: `arn:aws:iam::${account}:user/${userName}`,
      status,
      createdAtMs: 1,
    },
  };
}
const longTerm = (account: string, userName: string, accessKeyId: string): StsCaller => ({
  kind: "long-term",
  accessKeyId,
  accountId: account,
  principalArn: `arn:aws:iam::${account}:user/${userName}`,
  userId: `AIDA${userName.toUpperCase()}${account}`,
  userName,
});

/** One region: a view under its own prefix, a decider with the keyring, the issuer. */
interface TestRegion {
  view: RegionView;
  decider: Decider;
  keyring: StsKeyring;
  sts: StsIssuer;
  revisions: Map<string, number>;
}

async function refusal(p: Promise<unknown>): Promise<IamError> {
  try {
    await p;
  } catch (e) {
    if (IamError.is(e)) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("STS in two regions (real Redis views, injected clock)", () => {
  const prefixes = [createTestKeyPrefix({ prefix: "sts_a" }), createTestKeyPrefix({ prefix: "sts_b" })];
  const clients: Redis[] = [];
  const secretKey = randomBytes(32);
  let box: SecretBox;
  let clock: ManualClock;
  let regions: TestRegion[];
  let ra: TestRegion;
  let rb: TestRegion;
  const mfaSeed = generateSecret();
  const serial = `arn:aws:iam::${A}:mfa/alice`;
  const keys = [newStsKey(), newStsKey()];

  /** Applies one revision of `account` to every region. */
  const apply = async (account: string, ...entities: TypedEntity[]) => {
    for (const r of regions) {
      const revision = (r.revisions.get(account) ?? 0) + 1;
      r.revisions.set(account, revision);
      const out = await r.view.applyRevision(account, revision, "e", entities);
      expect(out.kind).toBe("applied");
    }
    // The deciders learn of it through the notification channel.
    await new Promise((resolve) => setTimeout(resolve, 50));
  };
  const keySet = (held: { keyId: string; key: Uint8Array; activatesAtMs: number; retiredAtMs: number | null }[]) =>
    ({
      kind: "sts-key-set",
      id: "sts",
      state: {
        keys: held.map((k) => ({
          keyId: k.keyId,
          sealedKey: box.seal(Buffer.from(k.key).toString("base64"), `sts-key:${k.keyId}`).toString("base64"),
          createdAtMs: k.activatesAtMs,
          activatesAtMs: k.activatesAtMs,
          retiredAtMs: k.retiredAtMs,
        })),
      },
    }) as TypedEntity;

  const authorize = (
    r: TestRegion,
    creds: { accessKeyId: string; sessionToken: string },
    action: string,
    resource = "arn:aws:s3:::b/k",
  ) =>
    r.decider
      .decide({
        principal: { kind: "access-key", accessKeyId: creds.accessKeyId, sessionToken: creds.sessionToken },
        action,
        resource,
        context: {},
        explain: false,
        deadlineMs: Date.now() + 5000,
      })
      .then((d) => d.result.decision);
  const assume = (r: TestRegion, caller: StsCaller, input: Partial<AssumeRoleInput> & { roleArn: string }) =>
    r.sts.assumeRole(caller, {
      roleSessionName: "s1",
      durationSeconds: 0,
      externalId: "",
      serialNumber: "",
      tokenCode: "",
      policy: "",
      policyArns: [],
      tags: [],
      transitiveTagKeys: [],
      deadlineMs: Date.now() + 5000,
      ...input,
    });
  const alice = () => longTerm(A, "alice", "AKIAALICE00000000000");
  const sessionCaller = (r: { claims: import("@gatehouse/auth").SessionClaims }): StsCaller => ({
    kind: "session",
    claims: r.claims,
  });

  beforeAll(async () => {
    box = createSecretBox(secretKey);
    clock = createManualClock(T0);
    regions = [];
    for (const [i, prefix] of prefixes.entries()) {
      const redis = testRedis();
      const subscriber = testRedis();
      clients.push(redis);
      const view = createRegionView({ redis, keyPrefix: prefix.prefix });
      await view.ensureGeneration();
      const keyring = await createStsKeyring({ view, box, clock, logger });
      const decider = await createDecider({
        view,
        subscriber,
        region: i === 0 ? "us-east-1" : "eu-west-1",
        l1MaxBytes: 1 << 22,
        logger,
        now: () => clock.now(),
        keyring,
      });
      regions.push({
        view,
        decider,
        keyring,
        sts: createStsIssuer({ decider, view, keyring, box, clock }),
        revisions: new Map(),
      });
    }
    [ra, rb] = regions as [TestRegion, TestRegion];
    await apply(
      "000000000000",
      keySet([{ ...(keys[0] as { keyId: string; key: Uint8Array }), activatesAtMs: 0, retiredAtMs: null }]),
    );
    await apply(
      A,
      user(A, "alice", { tags: [{ key: "dept", value: "eng" }] }),
      user(A, "bob"),
      accessKey(A, "AKIAALICE00000000000", "alice"),
      accessKey(A, "AKIABOB0000000000000", "bob"),
      {
        kind: "mfa-device",
        id: serial,
        state: {
          serialNumber: serial,
          accountId: A,
          path: "/",
          deviceName: "alice",
          userId: `AIDAALICE${A}`,
          userName: "alice",
          enabledAtMs: 1,
          tags: [],
          createdAtMs: 1,
          seedCiphertext: box.seal(mfaSeed, serial).toString("base64"),
        },
      },
      role(A, "app", doc(trust({ AWS: `arn:aws:iam::${A}:user/alice` }, ["sts:AssumeRole", "sts:TagSession"]))),
      role(
        A,
        "denied",
        doc(trust({ AWS: `arn:aws:iam::${A}:root` }), {
          Effect: "Deny",
          Principal: { AWS: `arn:aws:iam::${A}:user/alice` },
          Action: "sts:AssumeRole",
        }),
      ),
      role(A, "other", doc(trust({ AWS: `arn:aws:iam::${A}:user/bob` }))),
      role(
        A,
        "external",
        doc(
          trust({ AWS: `arn:aws:iam::${A}:user/alice` }, "sts:AssumeRole", {
            Condition: { StringEquals: { "sts:ExternalId": "xyz-123" } },
          }),
        ),
      ),
      role(A, "notags", doc(trust({ AWS: `arn:aws:iam::${A}:user/alice` }))),
      role(
        A,
        "mfa",
        doc(
          trust({ AWS: `arn:aws:iam::${A}:user/alice` }, "sts:AssumeRole", {
            Condition: {
              Bool: { "aws:MultiFactorAuthPresent": "true" },
              NumericLessThan: { "aws:MultiFactorAuthAge": "300" },
            },
          }),
        ),
      ),
      role(A, "chain", doc(trust({ AWS: `arn:aws:iam::${A}:role/app` }, ["sts:AssumeRole", "sts:TagSession"]))),
    );
    await apply(
      B,
      role(B, "cross", doc(trust({ AWS: `arn:aws:iam::${A}:root` })), {
        inlinePolicies: [{ policyName: "perm", policyDocument: doc(allow("dynamodb:GetItem")) }],
      }),
    );
  });
  afterAll(async () => {
    for (const r of regions) await r.decider.close();
    for (const c of clients) await c.quit();
  });

  it("AssumeRole: trust allow issues ASIA credentials that work in another region, with the role's permissions", async () => {
    const r = await assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/app`, roleSessionName: "ci-7" });
    expect(r.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(r.arn).toBe(`arn:aws:sts::${A}:assumed-role/app/ci-7`);
    expect(r.assumedRoleId).toBe(`AROAAPP${A}:ci-7`);
    expect(r.expirationMs).toBe(T0 + 3_600_000);
    expect(r.packedPolicySize).toBe(0);
    expect(await authorize(rb, r, "s3:PutObject")).toBe("Allow");
    expect(await authorize(rb, r, "iam:CreateUser")).toBe("ImplicitDeny");
    expect(rb.sts.getCallerIdentity(sessionCaller(r))).toEqual({ account: A, arn: r.arn, userId: r.assumedRoleId });
  });

  it("AssumeRole: explicit deny and missing allow in the trust policy are AccessDenied", async () => {
    // The account root cannot assume roles, neither with its keys nor with a root session.
    const root: StsCaller = {
      kind: "long-term",
      accessKeyId: "AKIAROOT000000000000",
      accountId: A,
      principalArn: `arn:aws:iam::${A}:root`,
      userId: null,
      userName: null,
    };
    const rootSession = await ra.sts.getSessionToken(root, { durationSeconds: 900, serialNumber: "", tokenCode: "" });
    expect(rootSession.claims.principal.kind).toBe("root");
    for (const caller of [root, sessionCaller(rootSession)]) {
      expect((await refusal(assume(ra, caller, { roleArn: `arn:aws:iam::${A}:role/app` }))).message).toContain(
        "the account root cannot assume roles",
      );
    }
    for (const name of ["denied", "other", "nonexistent"]) {
      const e = await refusal(assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/${name}` }));
      expect(e.awsName, name).toBe("AccessDenied");
    }
  });

  it("ExternalId: required when the trust policy asks for it, and must match", async () => {
    const roleArn = `arn:aws:iam::${A}:role/external`;
    expect((await refusal(assume(ra, alice(), { roleArn }))).awsName).toBe("AccessDenied");
    expect((await refusal(assume(ra, alice(), { roleArn, externalId: "wrong-1" }))).awsName).toBe("AccessDenied");
    expect((await assume(ra, alice(), { roleArn, externalId: "xyz-123" })).accessKeyId).toMatch(/^ASIA/);
  });

  it("the trust policy must itself allow: the caller's own sts:AssumeRole and sts:TagSession permissions are not enough", async () => {
    // dave may assume any role and tag any session by his identity policy; the roles' trust decides.
    await apply(
      A,
      user(A, "dave", {
        inlinePolicies: [
          { policyName: "assume-any", policyDocument: doc(allow("sts:AssumeRole"), allow("sts:TagSession")) },
        ],
      }),
      accessKey(A, "AKIADAVE000000000000", "dave"),
      role(
        A,
        "dave-external",
        doc(
          trust({ AWS: `arn:aws:iam::${A}:user/dave` }, "sts:AssumeRole", {
            Condition: { StringEquals: { "sts:ExternalId": "dave-9" } },
          }),
        ),
      ),
      role(A, "dave-other", doc(trust({ AWS: `arn:aws:iam::${A}:user/bob` }))),
      role(A, "dave-account", doc(trust({ AWS: `arn:aws:iam::${A}:root` }))),
      role(A, "dave-notags", doc(trust({ AWS: `arn:aws:iam::${A}:user/dave` }))),
    );
    const dave = longTerm(A, "dave", "AKIADAVE000000000000");
    const bob = longTerm(A, "bob", "AKIABOB0000000000000");
    const roleArn = (name: string) => `arn:aws:iam::${A}:role/${name}`;
    // The trust policy's sts:ExternalId condition fails: refused, although dave's own policy allows.
    const noId = await refusal(assume(ra, dave, { roleArn: roleArn("dave-external") }));
    expect(noId.awsName).toBe("AccessDenied");
    expect(noId.message).toContain("sts:AssumeRole");
    expect((await refusal(assume(ra, dave, { roleArn: roleArn("dave-external"), externalId: "nope-1" }))).awsName).toBe(
      "AccessDenied",
    );
    const ok = await assume(ra, dave, { roleArn: roleArn("dave-external"), externalId: "dave-9" });
    expect(ok.arn).toBe(`arn:aws:sts::${A}:assumed-role/dave-external/s1`);
    // A trust policy naming someone else refuses him in every region.
    for (const r of [ra, rb]) {
      expect((await refusal(assume(r, dave, { roleArn: roleArn("dave-other") }))).awsName).toBe("AccessDenied");
    }
    // Naming the account delegates to IAM: dave's identity policy allows, bob has none.
    expect((await assume(ra, dave, { roleArn: roleArn("dave-account") })).accessKeyId).toMatch(/^ASIA/);
    expect((await refusal(assume(ra, bob, { roleArn: roleArn("dave-account") }))).awsName).toBe("AccessDenied");
    // sts:TagSession is asked of the same trust policy, which allows only sts:AssumeRole.
    const tags = [{ key: "project", value: "apollo" }];
    const tagging = await refusal(assume(ra, dave, { roleArn: roleArn("dave-notags"), tags }));
    expect(tagging.awsName).toBe("AccessDenied");
    expect(tagging.message).toContain("sts:TagSession");
    expect((await assume(ra, dave, { roleArn: roleArn("dave-notags") })).accessKeyId).toMatch(/^ASIA/);
  });

  it("MFA: required by the trust policy, a code is good once, and its age counts", async () => {
    const roleArn = `arn:aws:iam::${A}:role/mfa`;
    expect((await refusal(assume(ra, alice(), { roleArn }))).awsName).toBe("AccessDenied");
    const code = await generate({ secret: mfaSeed, epoch: Math.floor(clock.now() / 1000) });
    const bad = code === "000000" ? "111111" : "000000";
    expect((await refusal(assume(ra, alice(), { roleArn, serialNumber: serial, tokenCode: bad }))).field).toBe(
      "tokenCode",
    );
    const s = await ra.sts.getSessionToken(alice(), { durationSeconds: 0, serialNumber: serial, tokenCode: code });
    expect(s.claims.mfaAuthTimeMs).toBe(T0);
    expect(s.expirationMs).toBe(T0 + 43_200_000);
    // Replayed in the same region: refused.
    expect(
      (await refusal(ra.sts.getSessionToken(alice(), { durationSeconds: 0, serialNumber: serial, tokenCode: code })))
        .message,
    ).toContain("already used");
    // The MFA session assumes the role; the same session ten minutes later is too old for it.
    expect((await assume(ra, sessionCaller(s), { roleArn })).accessKeyId).toMatch(/^ASIA/);
    clock.advance(600_000);
    try {
      expect((await refusal(assume(rb, sessionCaller(s), { roleArn }))).awsName).toBe("AccessDenied");
    } finally {
      clock.set(T0);
    }
    // Bob's session has no MFA: its context says so, never what a caller claims.
    const bobs = await ra.sts.getSessionToken(longTerm(A, "bob", "AKIABOB0000000000000"), {
      durationSeconds: 900,
      serialNumber: "",
      tokenCode: "",
    });
    expect(bobs.claims.mfaAuthTimeMs).toBeUndefined();
    expect(
      (
        await refusal(
          ra.sts.getSessionToken(longTerm(A, "bob", "AKIABOB0000000000000"), {
            durationSeconds: 900,
            serialNumber: serial,
            tokenCode: code,
          }),
        )
      ).awsName,
    ).toBe("AccessDenied");
  });

  it("trust policy conditions on aws:SourceIp (as the region saw it), sts:RoleSessionName and aws:PrincipalTag", async () => {
    await apply(
      A,
      role(
        A,
        "conditions",
        doc(
          trust({ AWS: [`arn:aws:iam::${A}:user/alice`, `arn:aws:iam::${A}:user/bob`] }, "sts:AssumeRole", {
            Condition: {
              IpAddress: { "aws:SourceIp": "10.0.0.0/8" },
              StringLike: { "sts:RoleSessionName": "ci-*" },
              StringEquals: { "aws:PrincipalTag/dept": "eng" },
            },
          }),
        ),
      ),
    );
    const roleArn = `arn:aws:iam::${A}:role/conditions`;
    const ok = { roleArn, roleSessionName: "ci-1", sourceIp: "10.1.2.3" };
    expect((await assume(ra, alice(), ok)).arn).toBe(`arn:aws:sts::${A}:assumed-role/conditions/ci-1`);
    for (const refused of [
      { ...ok, sourceIp: "203.0.113.7" },
      { roleArn, roleSessionName: "ci-1" },
      { ...ok, roleSessionName: "manual-1" },
    ]) {
      expect((await refusal(assume(ra, alice(), refused))).awsName).toBe("AccessDenied");
    }
    // Bob has no dept tag.
    expect((await refusal(assume(ra, longTerm(A, "bob", "AKIABOB0000000000000"), ok))).awsName).toBe("AccessDenied");
  });

  it("durations: 900..the role's max; role chaining is capped at one hour", async () => {
    const roleArn = `arn:aws:iam::${A}:role/app`;
    expect((await refusal(assume(ra, alice(), { roleArn, durationSeconds: 899 }))).field).toBe("durationSeconds");
    expect((await refusal(assume(ra, alice(), { roleArn, durationSeconds: 7201 }))).field).toBe("durationSeconds");
    const first = await assume(ra, alice(), { roleArn, durationSeconds: 7200 });
    expect(first.expirationMs).toBe(T0 + 7_200_000);
    const chainArn = `arn:aws:iam::${A}:role/chain`;
    const e = await refusal(assume(rb, sessionCaller(first), { roleArn: chainArn, durationSeconds: 3601 }));
    expect([e.field, e.message]).toEqual(["durationSeconds", expect.stringContaining("role chaining")]);
    const chained = await assume(rb, sessionCaller(first), { roleArn: chainArn, durationSeconds: 3600 });
    expect(chained.claims.source).toBe("session");
    expect(chained.arn).toBe(`arn:aws:sts::${A}:assumed-role/chain/s1`);
    for (const name of ["x", "a".repeat(65), "has space"]) {
      expect((await refusal(assume(ra, alice(), { roleArn, roleSessionName: name }))).field).toBe("roleSessionName");
    }
  });

  it("session policies narrow the role's permissions and never widen them", async () => {
    await apply(A, {
      kind: "policy",
      id: "ANPAREADONLY",
      state: {
        accountId: A,
        policyId: "ANPAREADONLY",
        policyName: "readonly",
        path: "/",
        arn: `arn:aws:iam::${A}:policy/readonly`,
        description: "",
        defaultVersionId: "v1",
        createdAtMs: 1,
        updatedAtMs: 1,
        tags: [],
        versions: [{ versionId: "v1", document: doc(allow("s3:Get*")), isDefault: true, createdAtMs: 1 }],
      },
    });
    const roleArn = `arn:aws:iam::${A}:role/app`;
    const inline = await assume(ra, alice(), { roleArn, policy: doc(allow("s3:GetObject"), allow("iam:*")) });
    expect(inline.packedPolicySize).toBeGreaterThan(0);
    expect(await authorize(rb, inline, "s3:GetObject")).toBe("Allow");
    expect(await authorize(rb, inline, "s3:PutObject")).toBe("ImplicitDeny");
    expect(await authorize(rb, inline, "iam:CreateUser")).toBe("ImplicitDeny");
    const managed = await assume(ra, alice(), { roleArn, policyArns: [`arn:aws:iam::${A}:policy/readonly`] });
    expect(await authorize(rb, managed, "s3:GetBucketPolicy")).toBe("Allow");
    expect(await authorize(rb, managed, "s3:DeleteObject")).toBe("ImplicitDeny");
    expect((await refusal(assume(ra, alice(), { roleArn, policy: "{not json" }))).field).toBe("policy");
    const eleven = Array.from({ length: 11 }, (_, i) => `arn:aws:iam::${A}:policy/p${i}`);
    expect((await refusal(assume(ra, alice(), { roleArn, policyArns: eleven }))).field).toBe("policyArns");
  });

  it("session tags need sts:TagSession, become aws:PrincipalTag, and transitive ones pass through chaining", async () => {
    const tags = [{ key: "project", value: "apollo" }];
    expect((await refusal(assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/notags`, tags }))).message).toContain(
      "sts:TagSession",
    );
    await apply(
      A,
      role(A, "tagged", doc(trust({ AWS: `arn:aws:iam::${A}:user/alice` }, ["sts:AssumeRole", "sts:TagSession"])), {
        inlinePolicies: [
          {
            policyName: "abac",
            policyDocument: doc(
              allow("s3:GetObject", { Condition: { StringEquals: { "aws:PrincipalTag/project": "apollo" } } }),
            ),
          },
        ],
      }),
    );
    const tagged = await assume(ra, alice(), {
      roleArn: `arn:aws:iam::${A}:role/tagged`,
      tags,
      transitiveTagKeys: ["project"],
    });
    expect(await authorize(rb, tagged, "s3:GetObject")).toBe("Allow");
    const untagged = await assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/tagged` });
    expect(await authorize(rb, untagged, "s3:GetObject")).toBe("ImplicitDeny");
    // Chaining from a session of `app` keeps the transitive tag, which cannot be overridden.
    const app = await assume(ra, alice(), {
      roleArn: `arn:aws:iam::${A}:role/app`,
      tags,
      transitiveTagKeys: ["project"],
    });
    const chained = await assume(rb, sessionCaller(app), { roleArn: `arn:aws:iam::${A}:role/chain` });
    expect(chained.claims.tags).toEqual(tags);
    expect(chained.claims.transitiveTagKeys).toEqual(["project"]);
    expect(
      (
        await refusal(
          assume(rb, sessionCaller(app), {
            roleArn: `arn:aws:iam::${A}:role/chain`,
            tags: [{ key: "Project", value: "x" }],
          }),
        )
      ).field,
    ).toBe("tags[0].key");
  });

  it("cross-account: the trust policy and the caller's own identity policy must both allow", async () => {
    const roleArn = `arn:aws:iam::${B}:role/cross`;
    expect((await refusal(assume(ra, alice(), { roleArn }))).awsName).toBe("AccessDenied");
    await apply(
      A,
      user(A, "alice", {
        tags: [{ key: "dept", value: "eng" }],
        inlinePolicies: [
          {
            policyName: "assume",
            policyDocument: doc({ Effect: "Allow", Action: "sts:AssumeRole", Resource: roleArn }),
          },
        ],
      }),
    );
    const r = await assume(ra, alice(), { roleArn });
    expect(r.arn).toBe(`arn:aws:sts::${B}:assumed-role/cross/s1`);
    expect(await authorize(rb, r, "dynamodb:GetItem", `arn:aws:dynamodb:us-east-1:${B}:table/t`)).toBe("Allow");
  });

  it("expiry (injected clock), tampered, truncated and foreign tokens are refused", async () => {
    const r = await assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/app`, durationSeconds: 900 });
    clock.set(T0 + 899_000);
    expect(await authorize(rb, r, "s3:GetObject")).toBe("Allow");
    clock.set(T0 + 900_000);
    expect((await refusal(authorize(rb, r, "s3:GetObject"))).awsName).toBe("ExpiredToken");
    clock.set(T0);
    const raw = Buffer.from(r.sessionToken, "base64url");
    const tampered = Buffer.from(raw);
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    for (const sessionToken of [tampered.toString("base64url"), raw.subarray(0, 40).toString("base64url"), ""]) {
      expect((await refusal(authorize(rb, { accessKeyId: r.accessKeyId, sessionToken }, "s3:GetObject"))).awsName).toBe(
        "InvalidClientTokenId",
      );
    }
    // Another key id with this token, or a token sealed under a key no region holds.
    const other = await assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/app` });
    expect(
      (await refusal(authorize(rb, { accessKeyId: other.accessKeyId, sessionToken: r.sessionToken }, "s3:GetObject")))
        .awsName,
    ).toBe("InvalidClientTokenId");
    const { createSessionTokenCodec } = await import("@gatehouse/auth");
    const foreign = createSessionTokenCodec({ current: newStsKey(), clock }).seal(r.claims);
    expect(
      (await refusal(authorize(rb, { accessKeyId: r.accessKeyId, sessionToken: foreign }, "s3:GetObject"))).awsName,
    ).toBe("InvalidClientTokenId");
  });

  it("key rotation: live sessions keep working, new ones are sealed with the new key", async () => {
    const before = await assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/app` });
    const [k1, k2] = keys as [{ keyId: string; key: Uint8Array }, { keyId: string; key: Uint8Array }];
    await apply(
      "000000000000",
      keySet([
        { ...k1, activatesAtMs: 0, retiredAtMs: T0 },
        { ...k2, activatesAtMs: T0, retiredAtMs: null },
      ]),
    );
    expect(rb.keyring.keyIds()).toEqual([k1.keyId, k2.keyId]);
    expect(await authorize(rb, before, "s3:GetObject")).toBe("Allow");
    const after = await assume(rb, alice(), { roleArn: `arn:aws:iam::${A}:role/app` });
    expect(Buffer.from(after.sessionToken, "base64url").subarray(1, 9).toString("hex")).toBe(k2.keyId);
    expect(await authorize(ra, after, "s3:GetObject")).toBe("Allow");
    // Once the old key leaves the set, its sessions end.
    await apply("000000000000", keySet([{ ...k2, activatesAtMs: T0, retiredAtMs: null }]));
    expect((await refusal(authorize(ra, before, "s3:GetObject"))).awsName).toBe("InvalidClientTokenId");
    expect(await authorize(ra, after, "s3:GetObject")).toBe("Allow");
  });

  it("revoke older sessions: an inline deny on aws:TokenIssueTime ends earlier sessions once applied", async () => {
    const old = await assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/app` });
    clock.set(T0 + 60_000);
    try {
      const revokeBefore = new Date(T0 + 30_000).toISOString();
      await apply(
        A,
        role(A, "app", doc(trust({ AWS: `arn:aws:iam::${A}:user/alice` }, ["sts:AssumeRole", "sts:TagSession"])), {
          inlinePolicies: [
            { policyName: "perm", policyDocument: doc(allow("s3:*")) },
            {
              policyName: "AWSRevokeOlderSessions",
              policyDocument: doc({
                Effect: "Deny",
                Action: "*",
                Resource: "*",
                Condition: { DateLessThan: { "aws:TokenIssueTime": revokeBefore } },
              }),
            },
          ],
        }),
      );
      expect(await authorize(rb, old, "s3:GetObject")).toBe("ExplicitDeny");
      const fresh = await assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/app` });
      expect(await authorize(rb, fresh, "s3:GetObject")).toBe("Allow");
    } finally {
      clock.set(T0);
    }
  });

  it("GetSessionToken: acts as the user; ends when its access key is deactivated or the user is deleted", async () => {
    await apply(
      A,
      user(A, "carol", { inlinePolicies: [{ policyName: "p", policyDocument: doc(allow("sqs:*")) }] }),
      accessKey(A, "AKIACAROL00000000000", "carol"),
    );
    const carol = longTerm(A, "carol", "AKIACAROL00000000000");
    const s = await ra.sts.getSessionToken(carol, { durationSeconds: 900, serialNumber: "", tokenCode: "" });
    expect(await authorize(rb, s, "sqs:SendMessage")).toBe("Allow");
    expect(rb.sts.getCallerIdentity(sessionCaller(s)).arn).toBe(`arn:aws:iam::${A}:user/carol`);
    expect(
      (
        await refusal(
          ra.sts.getSessionToken(sessionCaller(s), { durationSeconds: 900, serialNumber: "", tokenCode: "" }),
        )
      ).awsName,
    ).toBe("AccessDenied");
    expect(
      (await refusal(ra.sts.getSessionToken(carol, { durationSeconds: 129_601, serialNumber: "", tokenCode: "" })))
        .field,
    ).toBe("durationSeconds");
    await apply(A, accessKey(A, "AKIACAROL00000000000", "carol", "Inactive"));
    expect((await refusal(authorize(rb, s, "sqs:SendMessage"))).awsName).toBe("InvalidClientTokenId");
    await apply(A, accessKey(A, "AKIACAROL00000000000", "carol", "Active"));
    expect(await authorize(rb, s, "sqs:SendMessage")).toBe("Allow");
    await apply(A, { kind: "user", id: `AIDACAROL${A}`, state: null });
    expect((await refusal(authorize(rb, s, "sqs:SendMessage"))).awsName).toBe("InvalidClientTokenId");
  });

  it("AssumeRoleWithWebIdentity: a JWT from the registered provider's JWKS (RSA), issuer, audience, times, claims in the trust policy", async () => {
    const url = "idp.example.com";
    const provider = `arn:aws:iam::${A}:oidc-provider/${url}`;
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const stranger = await generateKeyPair("RS256");
    await apply(
      A,
      oidcProvider(A, url, jwk),
      role(
        A,
        "web",
        doc(
          trust({ Federated: provider }, "sts:AssumeRoleWithWebIdentity", {
            Condition: { StringEquals: { [`${url}:sub`]: "user-1", [`${url}:aud`]: "my-app" } },
          }),
        ),
      ),
    );
    const sign = (claims: Record<string, unknown>, key = privateKey, kid = "k1") =>
      new SignJWT({ ...claims })
        .setProtectedHeader({ alg: "RS256", kid })
        .setIssuer(`https://${url}`)
        .setIssuedAt(Math.floor(clock.now() / 1000))
        .setExpirationTime(Math.floor(clock.now() / 1000) + 600)
        .sign(key);
    const web = (webIdentityToken: string) =>
      ra.sts.assumeRoleWithWebIdentity({
        roleArn: `arn:aws:iam::${A}:role/web`,
        roleSessionName: "web-1",
        webIdentityToken,
        durationSeconds: 0,
        policy: "",
        policyArns: [],
      });
    const ok = await web(await sign({ sub: "user-1", aud: "my-app" }));
    expect(ok.arn).toBe(`arn:aws:sts::${A}:assumed-role/web/web-1`);
    expect([ok.subject, ok.provider]).toEqual(["user-1", provider]);
    expect(await authorize(rb, ok, "s3:GetObject")).toBe("Allow");
    // Another user of the same provider is not trusted; a token for another audience does not verify.
    expect((await refusal(web(await sign({ sub: "user-2", aud: "my-app" })))).awsName).toBe("AccessDenied");
    expect((await refusal(web(await sign({ sub: "user-1", aud: "other-app" })))).awsName).toBe("InvalidIdentityToken");
    // A key outside the provider's JWKS (a bad signature), unsigned `alg: none`, garbage.
    expect(await refusal(web(await sign({ sub: "user-1", aud: "my-app" }, stranger.privateKey)))).toMatchObject({
      awsName: "InvalidIdentityToken",
      field: "webIdentityToken",
    });
    const unsigned = new UnsecuredJWT({ sub: "user-1", aud: "my-app" })
      .setIssuer(`https://${url}`)
      .setExpirationTime("10m")
      .encode();
    expect((await refusal(web(unsigned))).awsName).toBe("InvalidIdentityToken");
    expect((await refusal(web("not.a.jwt"))).awsName).toBe("InvalidIdentityToken");
    // Expired and not yet valid, by the injected clock.
    const token = await sign({ sub: "user-1", aud: "my-app" });
    clock.advance(601_000);
    try {
      expect((await refusal(web(token))).awsName).toBe("ExpiredToken");
    } finally {
      clock.set(T0);
    }
    const later = await new SignJWT({ sub: "user-1", aud: "my-app" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(`https://${url}`)
      .setNotBefore(Math.floor(clock.now() / 1000) + 300)
      .setExpirationTime(Math.floor(clock.now() / 1000) + 900)
      .sign(privateKey);
    expect((await refusal(web(later))).awsName).toBe("InvalidIdentityToken");
  });

  /** Registers an OIDC provider (RSA key) for `url` in account A and a role trusting it; returns a token signer. */
  const webProvider = async (url: string, roleName: string, roleExtra: Partial<RoleState> = {}) => {
    const provider = `arn:aws:iam::${A}:oidc-provider/${url}`;
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    await apply(
      A,
      oidcProvider(A, url, jwk),
      role(A, roleName, doc(trust({ Federated: provider }, "sts:AssumeRoleWithWebIdentity")), roleExtra),
    );
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ aud: "my-app", ...claims })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setIssuer(`https://${url}`)
        .setExpirationTime(Math.floor(clock.now() / 1000) + 600)
        .sign(privateKey);
    const web = async (sub: string, input: { policy?: string; policyArns?: string[] } = {}) =>
      ra.sts.assumeRoleWithWebIdentity({
        roleArn: `arn:aws:iam::${A}:role/${roleName}`,
        roleSessionName: "web-1",
        webIdentityToken: await sign({ sub, amr: ["authenticated", "pwd"] }),
        durationSeconds: 0,
        policy: input.policy ?? "",
        policyArns: input.policyArns ?? [],
      });
    return { provider, web };
  };

  it("web identity sessions: the region sets aws:FederatedProvider and the token's claim keys on later requests, callers cannot, chaining does not pass them on", async () => {
    const url = "login.example.org/realm";
    const providerArn = `arn:aws:iam::${A}:oidc-provider/${url}`;
    const { web } = await webProvider(url, "webhome", {
      inlinePolicies: [
        {
          policyName: "home",
          policyDocument: doc(
            { Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::home/\${${url}:sub}/*` },
            allow("sqs:SendMessage", { Condition: { StringEquals: { "aws:FederatedProvider": providerArn } } }),
            allow("sns:Publish", { Condition: { "ForAnyValue:StringEquals": { [`${url}:amr`]: "pwd" } } }),
            allow("sts:AssumeRole"),
          ),
        },
      ],
    });
    await apply(
      A,
      role(
        A,
        "afterweb",
        doc(
          trust({ AWS: `arn:aws:iam::${A}:role/webhome` }, "sts:AssumeRole", {
            Condition: { StringEquals: { "aws:FederatedProvider": providerArn } },
          }),
        ),
        {
          inlinePolicies: [
            {
              policyName: "p",
              policyDocument: doc(
                allow("sqs:SendMessage", { Condition: { StringEquals: { "aws:FederatedProvider": providerArn } } }),
                allow("s3:GetObject"),
              ),
            },
          ],
        },
      ),
    );
    const s = await web("user-1");
    expect(s.claims.federatedProvider).toBe(providerArn);
    expect(await authorize(rb, s, "s3:GetObject", "arn:aws:s3:::home/user-1/notes")).toBe("Allow");
    expect(await authorize(rb, s, "s3:GetObject", "arn:aws:s3:::home/user-2/notes")).toBe("ImplicitDeny");
    expect(await authorize(rb, s, "sqs:SendMessage")).toBe("Allow");
    expect(await authorize(rb, s, "sns:Publish")).toBe("Allow");
    // A caller's context cannot set them (any case), for this session or any other principal.
    for (const context of [
      { "aws:FederatedProvider": providerArn } as Record<string, string>,
      { "AWS:federatedprovider": providerArn },
      { [`${url}:sub`]: "user-2" },
      { "accounts.google.com:sub": "x" },
    ]) {
      const e = await refusal(
        rb.decider.decide({
          principal: { kind: "access-key", accessKeyId: s.accessKeyId, sessionToken: s.sessionToken },
          action: "s3:GetObject",
          resource: "arn:aws:s3:::home/user-2/notes",
          context,
          explain: false,
          deadlineMs: Date.now() + 5000,
        }),
      );
      expect([e.awsName, e.field]).toEqual(["InvalidInput", `context.${Object.keys(context)[0]}`]);
    }
    // Service keys with dots in a tag key are not provider keys.
    const tagged = await rb.decider.decide({
      principal: { kind: "access-key", accessKeyId: s.accessKeyId, sessionToken: s.sessionToken },
      action: "s3:GetObject",
      resource: "arn:aws:s3:::home/user-1/notes",
      context: { "s3:ExistingObjectTag/app.example/x": "1" },
      explain: false,
      deadlineMs: Date.now() + 5000,
    });
    expect(tagged.result.decision).toBe("Allow");
    // The web session's AssumeRole request carries it (the trust policy's condition holds); the
    // chained session does not (AWS does not pass it through role chaining).
    const chained = await assume(rb, sessionCaller(s), { roleArn: `arn:aws:iam::${A}:role/afterweb` });
    expect(chained.claims.federatedProvider).toBeUndefined();
    expect(await authorize(ra, chained, "s3:GetObject")).toBe("Allow");
    expect(await authorize(ra, chained, "sqs:SendMessage")).toBe("ImplicitDeny");
    expect((await refusal(assume(rb, alice(), { roleArn: `arn:aws:iam::${A}:role/afterweb` }))).awsName).toBe(
      "AccessDenied",
    );
  });

  const decideWith = (
    r: TestRegion,
    creds: { accessKeyId: string; sessionToken: string },
    action: string,
    context: Record<string, string>,
  ) =>
    r.decider.decide({
      principal: { kind: "access-key", accessKeyId: creds.accessKeyId, sessionToken: creds.sessionToken },
      action,
      resource: "arn:aws:s3:::b/k",
      context,
      explain: false,
      deadlineMs: Date.now() + 5000,
    });

  it("SourceIdentity: AWS's validation; sts:SetSourceIdentity in the trust policy (and the caller's identity policy when it names the account); sealed, returned, aws:SourceIdentity in the session's requests and never from a caller", async () => {
    /** Allows s3:GetObject only to sessions whose source identity is alice. */
    const bySourceIdentity = {
      inlinePolicies: [
        {
          policyName: "si",
          policyDocument: doc(
            allow("s3:GetObject", { Condition: { StringEquals: { "aws:SourceIdentity": "alice" } } }),
            allow("sts:AssumeRole"),
          ),
        },
      ],
    };
    await apply(
      A,
      role(
        A,
        "si",
        doc(trust({ AWS: `arn:aws:iam::${A}:user/alice` }, ["sts:AssumeRole", "sts:SetSourceIdentity"])),
        bySourceIdentity,
      ),
      role(A, "si-root", doc(trust({ AWS: `arn:aws:iam::${A}:root` }, ["sts:AssumeRole", "sts:SetSourceIdentity"]))),
      user(A, "carol", { inlinePolicies: [{ policyName: "p", policyDocument: doc(allow("sts:AssumeRole")) }] }),
      user(A, "dave", {
        inlinePolicies: [
          {
            policyName: "p",
            policyDocument: doc({
              Effect: "Allow",
              Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
              Resource: "*",
            }),
          },
        ],
      }),
      accessKey(A, "AKIACAROL00000000000", "carol"),
      accessKey(A, "AKIADAVE000000000000", "dave"),
    );
    const si = `arn:aws:iam::${A}:role/si`;
    // AWS's validation: 2-64 characters of [\w+=,.@-], not beginning with "aws:".
    for (const bad of ["a", "aws:alice", "AWS:alice", "alice smith", "x".repeat(65), "al/ice"]) {
      expect(await refusal(assume(ra, alice(), { roleArn: si, sourceIdentity: bad }))).toMatchObject({
        awsName: "ValidationError",
        field: "sourceIdentity",
      });
    }
    // A trust policy without sts:SetSourceIdentity refuses it (the same role without one is fine).
    const noSet = await refusal(
      assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/app`, sourceIdentity: "alice" }),
    );
    expect([noSet.awsName, noSet.message.includes("sts:SetSourceIdentity")]).toEqual(["AccessDenied", true]);
    await assume(ra, alice(), { roleArn: `arn:aws:iam::${A}:role/app` });
    // Set: returned, sealed in the token, aws:SourceIdentity in the session's requests (another region).
    const s = await assume(ra, alice(), { roleArn: si, sourceIdentity: "alice" });
    expect(s.sourceIdentity).toBe("alice");
    expect(rb.keyring.codec().open(s.sessionToken).sourceIdentity).toBe("alice");
    expect(await authorize(rb, s, "s3:GetObject")).toBe("Allow");
    const plain = await assume(ra, alice(), { roleArn: si });
    expect(plain.sourceIdentity).toBeUndefined();
    expect(await authorize(rb, plain, "s3:GetObject")).toBe("ImplicitDeny");
    // GetCallerIdentity does not show it (as in AWS).
    expect(Object.keys(rb.sts.getCallerIdentity(sessionCaller(s))).sort()).toEqual(["account", "arn", "userId"]);
    // A caller cannot claim one (any case), with or without a session.
    for (const key of ["aws:SourceIdentity", "AWS:sourceidentity"]) {
      for (const creds of [plain, s]) {
        const e = await refusal(decideWith(rb, creds, "s3:GetObject", { [key]: "alice" }));
        expect([e.awsName, e.field]).toEqual(["InvalidInput", `context.${key}`]);
      }
      const e = await refusal(
        rb.decider.decide({
          principal: { kind: "arn", arn: `arn:aws:iam::${A}:user/alice` },
          action: "s3:GetObject",
          resource: "arn:aws:s3:::b/k",
          context: { [key]: "alice" },
          explain: false,
          deadlineMs: Date.now() + 5000,
        }),
      );
      expect(e.awsName).toBe("InvalidInput");
    }
    // A trust policy naming the account: the caller's identity policy must allow it too.
    const siRoot = `arn:aws:iam::${A}:role/si-root`;
    const carol = longTerm(A, "carol", "AKIACAROL00000000000");
    await assume(ra, carol, { roleArn: siRoot });
    const carolRefused = await refusal(assume(ra, carol, { roleArn: siRoot, sourceIdentity: "carol" }));
    expect([carolRefused.awsName, carolRefused.message.includes("sts:SetSourceIdentity")]).toEqual([
      "AccessDenied",
      true,
    ]);
    const dave = await assume(ra, longTerm(A, "dave", "AKIADAVE000000000000"), {
      roleArn: siRoot,
      sourceIdentity: "dave",
    });
    expect(dave.claims.sourceIdentity).toBe("dave");
  });

  it("SourceIdentity persists through role chaining and cannot be changed; each role of the chain must allow sts:SetSourceIdentity; trust policies see sts:SourceIdentity", async () => {
    const policy = {
      inlinePolicies: [
        {
          policyName: "si",
          policyDocument: doc(
            allow("s3:GetObject", { Condition: { StringEquals: { "aws:SourceIdentity": "alice" } } }),
          ),
        },
      ],
    };
    await apply(
      A,
      role(
        A,
        "si-next",
        doc(
          trust({ AWS: `arn:aws:iam::${A}:role/si` }, "sts:AssumeRole"),
          trust({ AWS: `arn:aws:iam::${A}:role/si` }, "sts:SetSourceIdentity", {
            Condition: { StringEquals: { "sts:SourceIdentity": "alice" } },
          }),
        ),
        policy,
      ),
      role(A, "si-noset", doc(trust({ AWS: `arn:aws:iam::${A}:role/si` }, "sts:AssumeRole")), policy),
    );
    const si = `arn:aws:iam::${A}:role/si`;
    const next = `arn:aws:iam::${A}:role/si-next`;
    const s = await assume(ra, alice(), { roleArn: si, sourceIdentity: "alice" });
    // Carried without being given, or given unchanged; the chained session's requests have it.
    const carried = await assume(rb, sessionCaller(s), { roleArn: next });
    expect([carried.sourceIdentity, carried.claims.sourceIdentity]).toEqual(["alice", "alice"]);
    expect(await authorize(ra, carried, "s3:GetObject")).toBe("Allow");
    expect((await assume(rb, sessionCaller(s), { roleArn: next, sourceIdentity: "alice" })).sourceIdentity).toBe(
      "alice",
    );
    // Another value is refused: it cannot be changed.
    const changed = await refusal(assume(rb, sessionCaller(s), { roleArn: next, sourceIdentity: "mallory" }));
    expect([changed.awsName, changed.message.includes("cannot be changed")]).toEqual(["AccessDenied", true]);
    // A role whose trust policy does not allow sts:SetSourceIdentity cannot be chained into with one.
    const noset = await refusal(assume(rb, sessionCaller(s), { roleArn: `arn:aws:iam::${A}:role/si-noset` }));
    expect([noset.awsName, noset.message.includes("sts:SetSourceIdentity")]).toEqual(["AccessDenied", true]);
    // Without a source identity both are open, and setting one in the chain follows the trust policy's condition.
    const plain = await assume(ra, alice(), { roleArn: si });
    const unset = await assume(rb, sessionCaller(plain), { roleArn: `arn:aws:iam::${A}:role/si-noset` });
    expect(unset.sourceIdentity).toBeUndefined();
    expect(await authorize(ra, unset, "s3:GetObject")).toBe("ImplicitDeny");
    expect((await assume(rb, sessionCaller(plain), { roleArn: next, sourceIdentity: "alice" })).sourceIdentity).toBe(
      "alice",
    );
    expect((await refusal(assume(rb, sessionCaller(plain), { roleArn: next, sourceIdentity: "bob" }))).awsName).toBe(
      "AccessDenied",
    );
  });

  it("web identity: the token's https://aws.amazon.com/tags claim becomes session tags (sts:TagSession) and its source_identity claim the source identity (sts:SetSourceIdentity); AWS's tag rules; carried through chaining", async () => {
    const url = "tags.example.com";
    const provider = `arn:aws:iam::${A}:oidc-provider/${url}`;
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const perms = {
      inlinePolicies: [
        {
          policyName: "abac",
          policyDocument: doc(
            allow("s3:GetObject", { Condition: { StringEquals: { "aws:PrincipalTag/team": "blue" } } }),
            allow("sqs:SendMessage", { Condition: { StringEquals: { "aws:SourceIdentity": "user-1@example.com" } } }),
            allow("sts:AssumeRole"),
          ),
        },
      ],
    };
    await apply(
      A,
      oidcProvider(A, url, jwk),
      role(
        A,
        "webtags",
        doc(
          trust({ Federated: provider }, ["sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:SetSourceIdentity"]),
        ),
        perms,
      ),
      role(A, "webplain", doc(trust({ Federated: provider }, "sts:AssumeRoleWithWebIdentity")), perms),
      role(
        A,
        "aftertags",
        doc(
          trust({ AWS: `arn:aws:iam::${A}:role/webtags` }, [
            "sts:AssumeRole",
            "sts:TagSession",
            "sts:SetSourceIdentity",
          ]),
        ),
        perms,
      ),
    );
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ aud: "my-app", sub: "user-1", ...claims })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setIssuer(`https://${url}`)
        .setExpirationTime(Math.floor(clock.now() / 1000) + 600)
        .sign(privateKey);
    const web = async (roleName: string, claims: Record<string, unknown>) =>
      ra.sts.assumeRoleWithWebIdentity({
        roleArn: `arn:aws:iam::${A}:role/${roleName}`,
        roleSessionName: "web-1",
        webIdentityToken: await sign(claims),
        durationSeconds: 0,
        policy: "",
        policyArns: [],
      });
    const tagsClaim = {
      "https://aws.amazon.com/tags": {
        principal_tags: { team: ["blue"], cost: ["42"] },
        transitive_tag_keys: ["team"],
      },
    };
    const sourceClaim = { "https://aws.amazon.com/source_identity": "user-1@example.com" };
    const s = await web("webtags", { ...tagsClaim, ...sourceClaim });
    expect(s.claims.tags).toEqual([
      { key: "team", value: "blue" },
      { key: "cost", value: "42" },
    ]);
    expect(s.claims.transitiveTagKeys).toEqual(["team"]);
    expect([s.sourceIdentity, s.claims.sourceIdentity]).toEqual(["user-1@example.com", "user-1@example.com"]);
    expect(s.packedPolicySize).toBeGreaterThan(0);
    expect(await authorize(rb, s, "s3:GetObject")).toBe("Allow");
    expect(await authorize(rb, s, "sqs:SendMessage")).toBe("Allow");
    // Without them, the same role's session has neither.
    const bare = await web("webtags", {});
    expect([bare.claims.tags, bare.sourceIdentity]).toEqual([[], undefined]);
    expect(await authorize(rb, bare, "s3:GetObject")).toBe("ImplicitDeny");
    expect(await authorize(rb, bare, "sqs:SendMessage")).toBe("ImplicitDeny");
    // A trust policy without sts:TagSession / sts:SetSourceIdentity refuses the claims.
    expect((await web("webplain", {})).arn).toBe(`arn:aws:sts::${A}:assumed-role/webplain/web-1`);
    const untaggable = await refusal(web("webplain", tagsClaim));
    expect([untaggable.awsName, untaggable.message.includes("sts:TagSession")]).toEqual(["AccessDenied", true]);
    const unsettable = await refusal(web("webplain", sourceClaim));
    expect([unsettable.awsName, unsettable.message.includes("sts:SetSourceIdentity")]).toEqual(["AccessDenied", true]);
    // AWS's rules: one value per tag, at most 50 tags, key/value lengths, transitive keys among the tags,
    // no key twice in any case; the source identity's pattern.
    const tagged = (principal_tags: unknown, transitive_tag_keys: unknown = []) => ({
      "https://aws.amazon.com/tags": { principal_tags, transitive_tag_keys },
    });
    expect((await refusal(web("webtags", tagged({ team: ["blue", "red"] })))).awsName).toBe("InvalidIdentityToken");
    expect((await refusal(web("webtags", tagged({ team: [7] })))).awsName).toBe("InvalidIdentityToken");
    expect((await refusal(web("webtags", tagged({ team: ["blue"] }, "team")))).awsName).toBe("InvalidIdentityToken");
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, ["v"]]));
    expect(await refusal(web("webtags", tagged(many)))).toMatchObject({
      awsName: "ValidationError",
      field: "webIdentityToken.principal_tags",
    });
    expect(await refusal(web("webtags", tagged({ team: ["x".repeat(257)] })))).toMatchObject({
      awsName: "ValidationError",
      field: "webIdentityToken.principal_tags[0].value",
    });
    expect(await refusal(web("webtags", tagged({ team: ["blue"], TEAM: ["red"] })))).toMatchObject({
      awsName: "ValidationError",
      field: "webIdentityToken.principal_tags[1].key",
    });
    expect(await refusal(web("webtags", tagged({ team: ["blue"] }, ["cost"])))).toMatchObject({
      awsName: "ValidationError",
      field: "webIdentityToken.transitive_tag_keys[0]",
    });
    expect(await refusal(web("webtags", { "https://aws.amazon.com/source_identity": "aws:user-1" }))).toMatchObject({
      awsName: "ValidationError",
      field: "webIdentityToken.source_identity",
    });
    // Chaining from the web session: the transitive tag and the source identity pass on, the other tag does not.
    const chained = await assume(rb, sessionCaller(s), { roleArn: `arn:aws:iam::${A}:role/aftertags` });
    expect(chained.claims.tags).toEqual([{ key: "team", value: "blue" }]);
    expect(chained.sourceIdentity).toBe("user-1@example.com");
    expect(await authorize(ra, chained, "s3:GetObject")).toBe("Allow");
    expect(await authorize(ra, chained, "sqs:SendMessage")).toBe("Allow");
    expect(
      (
        await refusal(
          assume(rb, sessionCaller(s), { roleArn: `arn:aws:iam::${A}:role/aftertags`, sourceIdentity: "x1" }),
        )
      ).awsName,
    ).toBe("AccessDenied");
  });

  it("PackedPolicySize: one measure for AssumeRole and AssumeRoleWithWebIdentity; both refuse PackedPolicyTooLarge", async () => {
    const { web } = await webProvider("packed.example.com", "webpacked");
    const roleArn = `arn:aws:iam::${A}:role/app`;
    const policy = doc(allow("s3:GetObject"), allow("s3:ListBucket"));
    const policyArns = [`arn:aws:iam::${A}:policy/readonly`, "arn:aws:iam::aws:policy/ReadOnlyAccess"];
    const assumed = await assume(ra, alice(), { roleArn, policy, policyArns });
    const federated = await web("user-1", { policy, policyArns });
    expect(assumed.packedPolicySize).toBeGreaterThan(0);
    expect(federated.packedPolicySize).toBe(assumed.packedPolicySize);
    expect((await web("user-1")).packedPolicySize).toBe(0);
    // Ten long managed policy ARNs of random names: within every plain-text limit, too large packed.
    const long = Array.from({ length: 10 }, () => `arn:aws:iam::${A}:policy/${randomBytes(300).toString("base64url")}`);
    for (const call of [
      () => assume(ra, alice(), { roleArn, policyArns: long }),
      () => web("user-1", { policyArns: long }),
    ]) {
      expect((await refusal(call())).awsName).toBe("PackedPolicyTooLarge");
    }
    // Session tags count too (AssumeRole): 50 tags with long random values.
    const tags = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: randomBytes(150).toString("base64") }));
    expect(await refusal(assume(ra, alice(), { roleArn, tags }))).toMatchObject({
      awsName: "PackedPolicyTooLarge",
      field: "tags",
    });
  });

  it("MFA replay: a code is accepted once across the decider processes of a region (one atomic SET NX in its Redis); each other region keeps its own record", async () => {
    // A second decider of region A: its own Redis connections and issuer over A's view.
    const redis = testRedis();
    const subscriber = testRedis();
    clients.push(redis);
    const view = createRegionView({ redis, keyPrefix: (prefixes[0] as { prefix: string }).prefix });
    const keyring = await createStsKeyring({ view, box, clock, logger });
    const decider = await createDecider({
      view,
      subscriber,
      region: "us-east-1",
      l1MaxBytes: 1 << 22,
      logger,
      now: () => clock.now(),
      keyring,
    });
    try {
      const a2 = createStsIssuer({ decider, view, keyring, box, clock });
      clock.set(T0 + 3_600_000);
      const code = await generate({ secret: mfaSeed, epoch: Math.floor(clock.now() / 1000) });
      const input = { durationSeconds: 900, serialNumber: serial, tokenCode: code };
      // Both deciders at once: exactly one accepts.
      const both = await Promise.allSettled([
        ra.sts.getSessionToken(alice(), input),
        a2.getSessionToken(alice(), input),
      ]);
      expect(both.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      const refused = both.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect((refused.reason as IamError).message).toContain("already used");
      // And again on either afterwards.
      for (const sts of [ra.sts, a2]) {
        expect((await refusal(sts.getSessionToken(alice(), input))).message).toContain("already used");
      }
      // Documented: another region's Redis has no record of it, so the code is good once there too.
      expect((await rb.sts.getSessionToken(alice(), input)).claims.mfaAuthTimeMs).toBe(clock.now());
      expect((await refusal(rb.sts.getSessionToken(alice(), input))).message).toContain("already used");
    } finally {
      clock.set(T0);
      await decider.close();
    }
  });
});
