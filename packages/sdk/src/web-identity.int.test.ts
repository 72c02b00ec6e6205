// Web-identity profiles against a live control plane and region: an OpenID Connect provider with a
// real ES256 key, a role that trusts it, and the SDK exchanging a token file for the role's
// credentials (AssumeRoleWithWebIdentity, unsigned) from a profile and from the environment; the
// file rewritten between refreshes (as Kubernetes rotates it) is read again; bad tokens fail typed.
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createManualClock } from "@gatehouse/core";
import { type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AccessDeniedError,
  ExpiredTokenError,
  type ExpiringCredentials,
  Gatehouse,
  GatehouseConfigError,
  type GatehouseOptions,
  InvalidIdentityTokenError,
} from "./index.ts";

const ISSUER_HOST = "oidc.cluster.example.test";
const AUDIENCE = "gatehouse";

/** An ES256 key pair, its public half as the JWK a provider lists. */
function es256Key(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" } };
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A signed JWT, as a Kubernetes projected service-account token is. */
function token(key: { kid: string; privateKey: KeyObject }, claims: { sub: string; exp?: number }): string {
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "ES256", kid: key.kid, typ: "JWT" });
  const body = b64({ iss: `https://${ISSUER_HOST}`, aud: AUDIENCE, iat: now - 60, exp: now + 600, ...claims });
  const signature = sign("sha256", Buffer.from(`${head}.${body}`), {
    key: key.privateKey,
    dsaEncoding: "ieee-p1363",
  }).toString("base64url");
  return `${head}.${body}.${signature}`;
}

describe("web-identity profiles against a live region", () => {
  let stack: LiveStack;
  let dir: string;
  let accountId: string;
  const key = es256Key("k1");
  const stranger = es256Key("k1");
  const clients: Gatehouse[] = [];
  const client = (options: GatehouseOptions, env: Record<string, string> = {}) => {
    const gh = new Gatehouse({ ...options, env: { GATEHOUSE_CONFIG_DIR: dir, ...env } });
    clients.push(gh);
    return gh;
  };
  const file = (name: string) => join(dir, name);
  const roleArn = () => `arn:aws:iam::${accountId}:role/pod`;

  beforeAll(async () => {
    stack = await startLiveStack("sdkweb");
    const operator = new Gatehouse({
      credentials: stack.operator,
      endpoints: { controlPlane: stack.controlPlane },
      env: {},
    });
    const account = await operator.iam.createAccount({ accountAlias: "" });
    operator.close();
    accountId = account.accountId;
    const root = new Gatehouse({
      credentials: { accessKeyId: account.rootAccessKeyId, secretAccessKey: account.rootSecretAccessKey },
      region: stack.region,
      endpoints: { controlPlane: stack.controlPlane, regions: { [stack.region]: [stack.decider] } },
      env: {},
    }).session();
    clients.push(root);
    const provider = await root.iam.createOpenIdConnectProvider({
      url: `https://${ISSUER_HOST}`,
      clientIdList: [AUDIENCE],
      thumbprintList: [],
      jwksJson: JSON.stringify({ keys: [key.jwk] }),
    });
    await root.iam.createRole({
      roleName: "pod",
      assumeRolePolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: provider.openIdConnectProviderArn },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringLike: { [`${ISSUER_HOST}:sub`]: "system:serviceaccount:apps:*" } },
          },
        ],
      }),
    });
    // Read-your-writes: waits until the region has applied the provider and the role.
    await root.authz.authorize({ principalArn: roleArn(), action: "s3:GetObject", resource: "*" });

    dir = await mkdtemp(join(tmpdir(), "gatehouse-sdk-web-"));
    const where = [`region = ${stack.region}`, `endpoint_${stack.region} = ${stack.decider}`];
    await writeFile(
      join(dir, "config"),
      [
        "[profile pod]",
        `role_arn = ${roleArn()}`,
        `web_identity_token_file = ${file("token")}`,
        "role_session_name = pod-session",
        "duration_seconds = 900",
        ...where,
        "[profile stranger]",
        `role_arn = ${roleArn()}`,
        `web_identity_token_file = ${file("stranger-token")}`,
        ...where,
        "[profile untrusted]",
        `role_arn = ${roleArn()}`,
        `web_identity_token_file = ${file("untrusted-token")}`,
        ...where,
        "[profile missing]",
        `role_arn = ${roleArn()}`,
        `web_identity_token_file = ${file("absent")}`,
        ...where,
        "",
      ].join("\n"),
    );
    await writeFile(file("token"), `${token(key, { sub: "system:serviceaccount:apps:api" })}\n`);
    await writeFile(file("stranger-token"), token(stranger, { sub: "system:serviceaccount:apps:api" }));
    await writeFile(file("untrusted-token"), token(key, { sub: "system:serviceaccount:kube-system:x" }));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await stack?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("exchanges the profile's token file for the role's credentials, unsigned", async () => {
    const gh = client({ profile: "pod" });
    expect(gh.config.credentialSource).toEqual({
      kind: "web-identity",
      profile: "pod",
      roleArn: roleArn(),
      tokenFile: file("token"),
    });
    expect(await gh.sts.getCallerIdentity()).toMatchObject({
      account: accountId,
      arn: `arn:aws:sts::${accountId}:assumed-role/pod/pod-session`,
    });
    const creds = (await gh.credentials()) as { accessKeyId: string; expiresAtMs?: number };
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    // duration_seconds = 900 was asked for.
    expect(creds.expiresAtMs).toBeLessThanOrEqual(Date.now() + 900_000 + 5_000);
  });

  it("takes GATEHOUSE_ROLE_ARN and GATEHOUSE_WEB_IDENTITY_TOKEN_FILE from the environment", async () => {
    const gh = client(
      { endpoints: { regions: { [stack.region]: [stack.decider] } } },
      {
        GATEHOUSE_REGION: stack.region,
        GATEHOUSE_ROLE_ARN: roleArn(),
        GATEHOUSE_WEB_IDENTITY_TOKEN_FILE: file("token"),
        GATEHOUSE_ROLE_SESSION_NAME: "from-env",
      },
    );
    expect(gh.config.credentialSource).toEqual({ kind: "web-identity", roleArn: roleArn(), tokenFile: file("token") });
    expect((await gh.sts.getCallerIdentity()).arn).toBe(`arn:aws:sts::${accountId}:assumed-role/pod/from-env`);
  });

  it("reads the token file again at each refresh (rotated between them), once for concurrent callers", async () => {
    await writeFile(file("rotating"), token(key, { sub: "system:serviceaccount:apps:api" }));
    await writeFile(
      join(dir, "config"),
      `[profile rotating]\nrole_arn = ${roleArn()}\nweb_identity_token_file = ${file("rotating")}\nrole_session_name = rotating\nregion = ${stack.region}\nendpoint_${stack.region} = ${stack.decider}\n`,
      { flag: "a" },
    );
    const clock = createManualClock(Date.now());
    const gh = client({ profile: "rotating", assumeRole: { clock } });
    const first = (await gh.credentials()) as ExpiringCredentials;
    // The file now holds a token that has expired: the refresh (due five minutes before expiry)
    // sends it and is refused; the current credentials are still good, so they are used.
    await writeFile(
      file("rotating"),
      token(key, { sub: "system:serviceaccount:apps:api", exp: Math.floor(Date.now() / 1000) - 120 }),
    );
    clock.set(first.expiresAtMs - 5 * 60_000);
    expect((await gh.credentials()).accessKeyId).toBe(first.accessKeyId);
    // Past expiry the refusal is the caller's, typed, naming the role and the file.
    clock.set(first.expiresAtMs + 1);
    const expired = await gh.credentials().catch((e: unknown) => e);
    expect(expired).toBeInstanceOf(ExpiredTokenError);
    expect((expired as Error).message).toContain(
      `assuming ${roleArn()} with the web identity token in ${file("rotating")}`,
    );
    // Rotated to a fresh token: the next refresh reads it, and twenty callers at once make one call.
    await writeFile(file("rotating"), token(key, { sub: "system:serviceaccount:apps:worker" }));
    const burst = await Promise.all(Array.from({ length: 20 }, () => gh.credentials()));
    const keys = new Set(burst.map((c) => c.accessKeyId));
    expect(keys.size).toBe(1);
    expect(keys.has(first.accessKeyId)).toBe(false);
    clock.set(Date.now());
    expect((await gh.sts.getCallerIdentity()).arn).toBe(`arn:aws:sts::${accountId}:assumed-role/pod/rotating`);
  });

  it("fails typed when the token is bad, the role does not trust it, or the file is missing", async () => {
    const bad = await client({ profile: "stranger" })
      .sts.getCallerIdentity()
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidIdentityTokenError);
    expect(bad).toMatchObject({ code: "UNAUTHENTICATED", awsName: "InvalidIdentityToken", retriable: false });
    expect((bad as Error).message).toMatch(/signature/i);
    expect((bad as Error).message).toContain(`for the profile "stranger"`);

    const untrusted = await client({ profile: "untrusted" })
      .sts.getCallerIdentity()
      .catch((e: unknown) => e);
    expect(untrusted).toBeInstanceOf(AccessDeniedError);

    const missing = await client({ profile: "missing" })
      .sts.getCallerIdentity()
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(GatehouseConfigError);
    expect((missing as Error).message).toContain(`cannot read the web identity token file ${file("absent")}`);
  });
});
