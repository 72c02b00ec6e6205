// The region's authenticator over a live view (real Redis) and decider: temporary credentials
// through a SessionCredentialResolver (the contract STS implements), and the key cache kept exact
// by the view's notifications.
import { createHash, randomBytes } from "node:crypto";
import { createSecretBox, signRequest } from "@gatehouse/auth";
import { createManualClock } from "@gatehouse/core";
import type { TypedEntity } from "@gatehouse/events";
import { createTestKeyPrefix, iamErrorOf, testRedis } from "@gatehouse/testkit";
import { createRegionView, type RegionView } from "@gatehouse/view-redis";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDecider, type Decider } from "./decider.ts";
import { type AuthenticationInput, createRequestAuthenticator } from "./request-authenticator.ts";
import type { SessionCredentialResolver } from "./session-credentials.ts";

const ACCT = "444455556666";
const REGION = "ap-southeast-1";
const t0 = Date.parse("2026-03-01T12:00:00Z");
const box = createSecretBox(randomBytes(32));
const sha = (x: string) => createHash("sha256").update(x).digest("hex");

async function input(
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  signedAtMs = t0,
): Promise<AuthenticationInput> {
  const headers = { host: "svc.internal" };
  const added = await signRequest({ method: "GET", path: "/things", query: { a: "1" }, headers, body: "" }, creds, {
    region: REGION,
    service: "things",
    clock: createManualClock(signedAtMs),
  });
  const { authorization = "", ...rest } = added;
  return {
    parts: { method: "GET", path: "/things", query: "a=1", headers: { ...headers, ...rest }, payloadHash: sha("") },
    authorization,
    service: "things",
    source: "10.1.0.1",
    uriEscapePath: true,
  };
}

function accessKey(id: string, secret: string, status: "Active" | "Inactive"): TypedEntity {
  return {
    kind: "access-key",
    id,
    state: {
      accessKeyId: id,
      accountId: ACCT,
      userId: null,
      userName: null,
      principalArn: `arn:aws:iam::${ACCT}:root`,
      status,
      createdAtMs: 1,
      secretCiphertext: box.seal(secret, id).toString("base64"),
    },
  };
}

describe("region authenticator over a live view", () => {
  const keys = createTestKeyPrefix({ prefix: "authn" });
  let redis: Redis;
  let view: RegionView;
  let decider: Decider;
  let revision = 0;
  const clock = createManualClock(t0);
  const apply = async (...entities: TypedEntity[]) => {
    revision++;
    expect((await view.applyRevision(ACCT, revision, "e", entities)).kind).toBe("applied");
    await decider.waitApplied(ACCT, revision, Date.now() + 5000);
  };

  beforeAll(async () => {
    redis = testRedis();
    view = createRegionView({ redis, keyPrefix: keys.prefix });
    await view.ensureGeneration();
    decider = await createDecider({
      view,
      subscriber: testRedis(),
      region: REGION,
      l1MaxBytes: 1 << 20,
      logger: pino({ level: "silent" }),
    });
  });
  afterAll(async () => {
    await decider.close();
    await redis.quit();
    await keys.cleanup();
  });

  it("temporary credentials: what the resolver vouches for authenticates; unknown, expired, swapped tokens fail", async () => {
    const session = {
      arn: `arn:aws:sts::${ACCT}:assumed-role/deploy/ci-7`,
      accountId: ACCT,
      userId: "AROADEPLOY:ci-7",
      type: "assumed-role" as const,
      tags: [{ key: "pipeline", value: "ci" }],
      mfaPresent: true,
    };
    const temp = {
      accessKeyId: "ASIATEMPKEY00000001",
      secretAccessKey: "temp-secret-0123456789",
      sessionToken: "tok-1",
    };
    const calls: [string, string][] = [];
    const sessions: SessionCredentialResolver = {
      async resolve(accessKeyId, sessionToken) {
        calls.push([accessKeyId, sessionToken]);
        if (sessionToken === "tok-1" && accessKeyId === temp.accessKeyId) {
          return { secretAccessKey: temp.secretAccessKey, principal: session, expiresAtMs: t0 + 3600_000 };
        }
        if (sessionToken === "tok-old") {
          return { secretAccessKey: temp.secretAccessKey, principal: session, expiresAtMs: t0 - 1 };
        }
        return undefined;
      },
    };
    const authn = createRequestAuthenticator({
      view,
      decider,
      secretBox: box,
      region: REGION,
      logger: pino({ level: "silent" }),
      sessions,
      clock,
    });
    expect(await authn.authenticate(await input(temp))).toEqual({
      ...session,
      userName: "",
      accessKeyId: temp.accessKeyId,
      signedAtMs: t0,
    });
    expect(calls).toEqual([[temp.accessKeyId, "tok-1"]]);
    const unknown = await iamErrorOf(authn.authenticate(await input({ ...temp, sessionToken: "tok-unknown" })));
    expect(unknown.awsName).toBe("InvalidClientTokenId");
    const expired = await iamErrorOf(authn.authenticate(await input({ ...temp, sessionToken: "tok-old" })));
    expect(expired.awsName).toBe("ExpiredToken");
    // The token is covered by the signature: swapping it after signing breaks the signature.
    const signed = await input(temp);
    const swapped = {
      ...signed,
      parts: { ...signed.parts, headers: { ...signed.parts.headers, "x-amz-security-token": "tok-old" } },
    };
    expect((await iamErrorOf(authn.authenticate(swapped))).awsName).toBe("SignatureDoesNotMatch");
    // Without a resolver, ASIA keys are refused as the proto says.
    const none = createRequestAuthenticator({
      view,
      decider,
      secretBox: box,
      region: REGION,
      logger: pino({ level: "silent" }),
      clock,
    });
    const refused = await iamErrorOf(none.authenticate(await input(temp)));
    expect([refused.awsName, refused.message]).toEqual([
      "InvalidClientTokenId",
      "temporary credentials are not accepted by this region yet",
    ]);
  });

  it("caches a key once and evicts it exactly when a revision names it; absent ids are cached and found once created", async () => {
    const authn = createRequestAuthenticator({
      view,
      decider,
      secretBox: box,
      region: REGION,
      logger: pino({ level: "silent" }),
      clock,
    });
    const creds = { accessKeyId: "AKIAROOTKEY00000001", secretAccessKey: "root-secret-0123456789abcdef" };
    expect((await iamErrorOf(authn.authenticate(await input(creds)))).awsName).toBe("InvalidClientTokenId");
    expect(authn.cachedKeys).toBe(1);
    await apply(accessKey(creds.accessKeyId, creds.secretAccessKey, "Active"));
    expect((await authn.authenticate(await input(creds))).type).toBe("root");
    // Another key's revision leaves this one cached.
    await apply(accessKey("AKIAOTHERKEY0000001", "x".repeat(30), "Active"));
    expect(authn.cachedKeys).toBe(1);
    await apply(accessKey(creds.accessKeyId, creds.secretAccessKey, "Inactive"));
    expect(authn.cachedKeys).toBe(0);
    expect((await iamErrorOf(authn.authenticate(await input(creds)))).awsName).toBe("InvalidClientTokenId");
    // A secret sealed under a key the region does not hold is a configuration error, not the caller's.
    const foreign = createSecretBox(randomBytes(32));
    await apply({
      ...accessKey("AKIAFOREIGN00000001", "y".repeat(30), "Active"),
      state: {
        ...(accessKey("AKIAFOREIGN00000001", "y".repeat(30), "Active").state as object),
        secretCiphertext: foreign.seal("y".repeat(30), "AKIAFOREIGN00000001").toString("base64"),
      },
    } as TypedEntity);
    const misconfigured = await iamErrorOf(
      authn.authenticate(await input({ accessKeyId: "AKIAFOREIGN00000001", secretAccessKey: "y".repeat(30) })),
    );
    expect(misconfigured.code).toBe("INTERNAL");
  });
});
