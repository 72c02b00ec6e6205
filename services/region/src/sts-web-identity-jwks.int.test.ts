// AssumeRoleWithWebIdentity against an issuer whose keys the control plane fetched itself: a local
// OIDC issuer (discovery + JWKS over http on 127.0.0.1, port 0) with real EC key pairs, a real
// control plane (Postgres, outbox relay, Kafka) and a live region (Redis view, STS over gRPC).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type AssumeRoleResponse, EntityType, StsServiceClient } from "@gatehouse/proto";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  controlClient,
  OPERATOR,
  startTestControlPlane,
  startTestRegion,
  type TestControlPlane,
  type TestRegion,
} from "./region-stack.int-helper.ts";

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/** A key pair and its public JWK under `kid`. */
async function signingKey(kid: string): Promise<{ kid: string; pair: KeyPair; jwk: JWK }> {
  const pair = await generateKeyPair("ES256");
  return { kid, pair, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" } };
}

/** A local issuer: `/.well-known/openid-configuration` names `/keys`, which serves `keys`. */
async function startIssuer(): Promise<{ server: Server; issuer: string; keys: JWK[]; fetches: number }> {
  const state = { keys: [] as JWK[], fetches: 0 };
  const server = createServer((req, res) => {
    const { port } = server.address() as AddressInfo;
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration") {
      res.end(JSON.stringify({ issuer: `https://127.0.0.1:${port}`, jwks_uri: `http://127.0.0.1:${port}/keys` }));
    } else if (req.url === "/keys") {
      state.fetches++;
      res.end(JSON.stringify({ keys: state.keys }));
    } else {
      res.statusCode = 404;
      res.end("{}");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { server, issuer: `https://127.0.0.1:${port}` });
}

describe("web identity with keys the control plane fetched from the issuer (live region)", () => {
  let cp: TestControlPlane;
  let region: TestRegion;
  let sts: StsServiceClient;
  let idp: Awaited<ReturnType<typeof startIssuer>>;

  beforeAll(async () => {
    idp = await startIssuer();
    cp = await startTestControlPlane({
      // The refresher runs when the test says so (refreshOidcKeys), not on a timer.
      extraEnv: { GATEHOUSE_CP_OIDC_FETCH_HTTP_LOOPBACK: "true", GATEHOUSE_CP_OIDC_JWKS_REFRESH_MS: "0" },
    });
    region = await startTestRegion({
      topic: cp.topic,
      controlPlane: cp,
      extraEnv: { GATEHOUSE_SECRET_KEY: cp.secretKey },
    });
    sts = new StsServiceClient(`127.0.0.1:${region.region.decider?.port}`, credentials.createInsecure());
  }, 120_000);

  afterAll(async () => {
    sts?.close();
    await region?.close();
    await cp?.close();
    if (idp?.server.listening) await new Promise((resolve) => idp.server.close(resolve));
  }, 60_000);

  it("fetched at create; valid tokens accepted; bad signature, wrong audience, expired, alg none refused; rotation and refresh; issuer down keeps the last good keys", async () => {
    const operator = controlClient(cp.address, OPERATOR);
    const account = await operator.call("createAccount", { accountAlias: "" });
    const accountId = account.accountId as string;
    const root = controlClient(cp.address, {
      accessKeyId: account.rootAccessKeyId,
      secretAccessKey: account.rootSecretAccessKey,
    });
    const k1 = await signingKey("k1");
    const k2 = await signingKey("k2");
    const stranger = await signingKey("k1");
    idp.keys = [k1.jwk];
    try {
      // No jwksJson: the control plane reads the issuer's discovery document and its jwks_uri.
      const created = await root.call("createOpenIdConnectProvider", {
        url: idp.issuer,
        clientIdList: ["my-app"],
        thumbprintList: [],
      });
      const arn = created.openIdConnectProviderArn as string;
      const stored = await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn });
      expect(JSON.parse(stored.jwksJson).keys.map((k: JWK) => k.kid)).toEqual(["k1"]);
      expect(idp.fetches).toBe(1);

      await root.call("createRole", {
        roleName: "web",
        assumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Federated: arn }, Action: "sts:AssumeRoleWithWebIdentity" }],
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
      await region.region.decider?.decider.decide({
        principal: { kind: "arn", arn: `arn:aws:iam::${accountId}:role/web` },
        action: "s3:GetObject",
        resource: "*",
        context: {},
        explain: false,
        minRevision: put.revision,
        deadlineMs: Date.now() + 20_000,
      });

      const now = () => Math.floor(Date.now() / 1000);
      const sign = (
        key: { kid: string; pair: KeyPair },
        o: { aud?: string; exp?: number; iss?: string } = {},
      ): Promise<string> =>
        new SignJWT({ sub: "user-1", aud: o.aud ?? "my-app" })
          .setProtectedHeader({ alg: "ES256", kid: key.kid })
          .setIssuer(o.iss ?? idp.issuer)
          .setIssuedAt(now() - 60)
          .setExpirationTime(o.exp ?? now() + 300)
          .sign(key.pair.privateKey);
      const assume = (webIdentityToken: string) =>
        new Promise<AssumeRoleResponse>((resolve, reject) =>
          sts.assumeRoleWithWebIdentity(
            {
              roleArn: `arn:aws:iam::${accountId}:role/web`,
              roleSessionName: "web-session",
              webIdentityToken,
              durationSeconds: 900,
              policy: "",
              policyArns: [],
            },
            new Metadata(),
            { deadline: Date.now() + 10_000 },
            (e, res) => (e === null ? resolve(res) : reject(e)),
          ),
        );
      const refused = async (token: string): Promise<string> => {
        const e = (await assume(token).then(
          () => {
            throw new Error("expected a refusal");
          },
          (err: unknown) => err,
        )) as ServiceError;
        expect(e.code).toBe(16); // UNAUTHENTICATED
        return e.details;
      };

      // The provider's event reaches the region with the fetched key: a token of k1 is accepted.
      const ok = await assume(await sign(k1));
      expect(ok.assumedRoleUser?.arn).toBe(`arn:aws:sts::${accountId}:assumed-role/web/web-session`);
      expect(ok.credentials?.accessKeyId).toMatch(/^ASIA/);
      // A key outside the JWKS under the same kid (bad signature), another audience, expired, unsigned.
      expect(await refused(await sign(stranger))).toMatch(/signature/i);
      expect(await refused(await sign(k1, { aud: "other-app" }))).toMatch(/aud/i);
      expect(await refused(await sign(k1, { exp: now() - 120 }))).toMatch(/expired/i);
      const unsigned = new UnsecuredJWT({ sub: "user-1", aud: "my-app" })
        .setIssuer(idp.issuer)
        .setExpirationTime("5m")
        .encode();
      expect(unsigned.split(".")[2]).toBe("");
      await refused(unsigned);

      // Rotation at the issuer: k2 added. Before a refresh the region does not know k2.
      idp.keys = [k1.jwk, k2.jwk];
      await refused(await sign(k2));
      expect(await cp.refreshOidcKeys()).toEqual({ checked: 1, updated: 1, failed: 0 });
      await vi.waitFor(async () => assume(await sign(k2)), { timeout: 20_000, interval: 200 });
      await assume(await sign(k1));
      // Nothing changed: a refresh writes no revision.
      expect(await cp.refreshOidcKeys()).toEqual({ checked: 1, updated: 0, failed: 0 });

      // k1 retired at the issuer: once refreshed, the region refuses k1's tokens and accepts k2's.
      idp.keys = [k2.jwk];
      expect(await cp.refreshOidcKeys()).toEqual({ checked: 1, updated: 1, failed: 0 });
      await vi.waitFor(async () => refused(await sign(k1)), { timeout: 20_000, interval: 200 });
      await assume(await sign(k2));

      // The issuer down: the refresh fails, the last good keys (k2) stay, issuance goes on.
      await new Promise((resolve) => idp.server.close(resolve));
      expect(await cp.refreshOidcKeys()).toEqual({ checked: 1, updated: 0, failed: 1 });
      const after = await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn });
      expect(JSON.parse(after.jwksJson).keys.map((k: JWK) => k.kid)).toEqual(["k2"]);
      await assume(await sign(k2));

      // A provider created while its issuer is down has no keys yet (its tokens are refused); the
      // refresher tries it. A document the operator sets is theirs: the refresher leaves it alone.
      const later = await root.call("createOpenIdConnectProvider", {
        url: `${idp.issuer}/tenant`,
        clientIdList: ["my-app"],
        thumbprintList: [],
      });
      const empty = await root.call("getOpenIdConnectProvider", {
        openIdConnectProviderArn: later.openIdConnectProviderArn,
      });
      expect(empty.jwksJson).toBe("");
      expect(await cp.refreshOidcKeys()).toEqual({ checked: 2, updated: 0, failed: 2 });
      await root.call("updateOpenIdConnectProviderJwks", {
        openIdConnectProviderArn: arn,
        jwksJson: JSON.stringify({ keys: [k1.jwk] }),
      });
      expect(await cp.refreshOidcKeys()).toEqual({ checked: 1, updated: 0, failed: 1 });
      await vi.waitFor(async () => assume(await sign(k1)), { timeout: 20_000, interval: 200 });
    } finally {
      operator.close();
      root.close();
    }
  }, 120_000);
});
