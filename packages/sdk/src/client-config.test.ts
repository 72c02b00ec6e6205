import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONTROL_PLANE, GatehouseConfigError, resolveClientConfig } from "./client-config.ts";

describe("resolveClientConfig", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-config-"));
    await writeFile(
      join(dir, "credentials"),
      "[default]\naccess_key_id = AKIADEFAULT\nsecret_access_key = s0\n[demo]\naccess_key_id = AKIADEMO\nsecret_access_key = s1\nsession_token = tok\n",
    );
    await writeFile(
      join(dir, "config"),
      [
        "[default]",
        "region = eu-west-1",
        "[profile demo]",
        "region = us-east-1",
        "endpoint_control_plane = 127.0.0.1:50051",
        "endpoint_us-east-1 = 127.0.0.1:50061, 127.0.0.1:50062",
        "endpoint_eu-west-1 = 127.0.0.1:50071",
        "[profile admin]",
        "role_arn = arn:aws:iam::111122223333:role/admin",
        "source_profile = demo",
        "mfa_serial = arn:aws:iam::111122223333:mfa/me",
        "external_id = ext-1",
        "role_session_name = me",
        "duration_seconds = 1800",
        "[profile chained]",
        "role_arn = arn:aws:iam::111122223333:role/deploy",
        "source_profile = admin",
        "[profile loop-a]",
        "role_arn = arn:aws:iam::111122223333:role/a",
        "source_profile = loop-b",
        "[profile loop-b]",
        "role_arn = arn:aws:iam::111122223333:role/b",
        "source_profile = loop-a",
        "[profile orphan]",
        "role_arn = arn:aws:iam::111122223333:role/a",
        "[profile long]",
        "role_arn = arn:aws:iam::111122223333:role/a",
        "source_profile = demo",
        "duration_seconds = 99999",
        "[profile routed]",
        "region = eu-west-1",
        "region_order = eu-west-1, us-east-1",
        "endpoint_us-east-1 = 127.0.0.1:50061",
        "endpoint_eu-west-1 = 127.0.0.1:50071",
        "[profile near]",
        "region = eu-west-1",
        "region_order = nearest",
        "endpoint_us-east-1 = 127.0.0.1:50061",
        "endpoint_eu-west-1 = 127.0.0.1:50071",
        "[profile badorder]",
        "region_order = us-east-1, mars-1",
        "endpoint_us-east-1 = 127.0.0.1:50061",
        "[profile web]",
        "role_arn = arn:aws:iam::111122223333:role/web",
        "web_identity_token_file = /var/run/secrets/token",
        "role_session_name = pod-1",
        "duration_seconds = 3600",
        "region = us-east-1",
        "[profile web-chained]",
        "role_arn = arn:aws:iam::111122223333:role/deploy",
        "source_profile = web",
        "[profile web-and-source]",
        "role_arn = arn:aws:iam::111122223333:role/web",
        "web_identity_token_file = /var/run/secrets/token",
        "source_profile = demo",
        "[profile src-env]",
        "role_arn = arn:aws:iam::111122223333:role/ci",
        "credential_source = Environment",
        "[profile src-ec2]",
        "role_arn = arn:aws:iam::111122223333:role/ci",
        "credential_source = Ec2InstanceMetadata",
        "[profile src-ecs]",
        "role_arn = arn:aws:iam::111122223333:role/ci",
        "credential_source = EcsContainer",
        "[profile src-odd]",
        "role_arn = arn:aws:iam::111122223333:role/ci",
        "credential_source = Vault",
        "[profile src-both]",
        "role_arn = arn:aws:iam::111122223333:role/ci",
        "credential_source = Environment",
        "source_profile = demo",
        "[profile src-chained]",
        "role_arn = arn:aws:iam::111122223333:role/deploy",
        "source_profile = src-env",
        "[profile web-long]",
        "role_arn = arn:aws:iam::111122223333:role/web",
        "web_identity_token_file = /var/run/secrets/token",
        "duration_seconds = 60",
      ].join("\n"),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads a profile's keys, region and endpoints", () => {
    const c = resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir, GATEHOUSE_PROFILE: "demo" } });
    expect(c.credentials).toEqual({ accessKeyId: "AKIADEMO", secretAccessKey: "s1", sessionToken: "tok" });
    expect(c.region).toBe("us-east-1");
    expect(c.controlPlane).toBe("127.0.0.1:50051");
    expect(c.regions).toEqual({
      "us-east-1": ["127.0.0.1:50061", "127.0.0.1:50062"],
      "eu-west-1": ["127.0.0.1:50071"],
    });
  });

  it("orders the chain: explicit, then a named profile, then env keys, then the default profile", () => {
    const env = { GATEHOUSE_CONFIG_DIR: dir, GATEHOUSE_ACCESS_KEY_ID: "AKIAENV", GATEHOUSE_SECRET_ACCESS_KEY: "se" };
    expect(
      resolveClientConfig({ env, credentials: { accessKeyId: "X", secretAccessKey: "y" } }).credentials?.accessKeyId,
    ).toBe("X");
    expect(resolveClientConfig({ env, profile: "demo" }).credentials?.accessKeyId).toBe("AKIADEMO");
    expect(resolveClientConfig({ env }).credentials?.accessKeyId).toBe("AKIAENV");
    expect(resolveClientConfig({ env }).credentialSource).toEqual({ kind: "env" });
    expect(resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir } }).credentials?.accessKeyId).toBe("AKIADEFAULT");
  });

  it("takes region and control plane from options, then env, then the profile", () => {
    const env = {
      GATEHOUSE_CONFIG_DIR: dir,
      GATEHOUSE_REGION: "ap-southeast-1",
      GATEHOUSE_ENDPOINT_CONTROL_PLANE: "h:1",
    };
    expect(resolveClientConfig({ env }).region).toBe("ap-southeast-1");
    expect(resolveClientConfig({ env, region: "us-west-2" }).region).toBe("us-west-2");
    expect(resolveClientConfig({ env }).controlPlane).toBe("h:1");
    expect(resolveClientConfig({ env, endpoints: { controlPlane: "h:2" } }).controlPlane).toBe("h:2");
    expect(resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir } }).controlPlane).toBe(DEFAULT_CONTROL_PLANE);
  });

  it("refuses an unknown profile, naming the known ones", () => {
    const err = (() => {
      try {
        resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile: "prod" });
      } catch (e) {
        return e as GatehouseConfigError;
      }
      throw new Error("expected a failure");
    })();
    expect(err).toBeInstanceOf(GatehouseConfigError);
    expect(err.message).toContain('"prod"');
    expect(err.hint).toContain("known profiles: admin, badorder, chained, default, demo,");
  });

  it("resolves an assumed-role profile, its source's keys, and a chain of roles", () => {
    const admin = resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile: "admin" });
    expect(admin.credentials).toBeUndefined();
    expect(admin.credentialSource).toEqual({
      kind: "assume-role",
      profile: "admin",
      roleArn: "arn:aws:iam::111122223333:role/admin",
      configDir: dir,
    });
    expect(admin.assumeRole).toEqual({
      profile: "admin",
      roleArn: "arn:aws:iam::111122223333:role/admin",
      roleSessionName: "me",
      externalId: "ext-1",
      mfaSerial: "arn:aws:iam::111122223333:mfa/me",
      durationSeconds: 1800,
      source: {
        kind: "keys",
        profile: "demo",
        credentials: { accessKeyId: "AKIADEMO", secretAccessKey: "s1", sessionToken: "tok" },
      },
    });
    const chained = resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile: "chained" });
    expect(chained.assumeRole?.roleSessionName).toMatch(/^gatehouse-\d+$/);
    expect(chained.assumeRole?.source).toMatchObject({ kind: "assume-role", spec: { profile: "admin" } });
  });

  it("refuses role profiles that cannot work, saying why", () => {
    const resolve = (profile: string) => () => resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile });
    expect(resolve("loop-a")).toThrow(/loop-a → loop-b → loop-a assume each other's roles in a circle/);
    expect(resolve("orphan")).toThrow(/has role_arn but no source_profile/);
    expect(resolve("long")).toThrow(/duration_seconds = 99999/);
  });

  it("resolves a web-identity profile, and a role profile whose source is one", () => {
    const web = resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile: "web" });
    expect(web.credentials).toBeUndefined();
    expect(web.assumeRole).toBeUndefined();
    expect(web.webIdentity).toEqual({
      profile: "web",
      roleArn: "arn:aws:iam::111122223333:role/web",
      tokenFile: "/var/run/secrets/token",
      roleSessionName: "pod-1",
      durationSeconds: 3600,
    });
    expect(web.credentialSource).toEqual({
      kind: "web-identity",
      profile: "web",
      roleArn: "arn:aws:iam::111122223333:role/web",
      tokenFile: "/var/run/secrets/token",
    });
    const chained = resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile: "web-chained" });
    expect(chained.assumeRole?.source).toMatchObject({
      kind: "web-identity",
      spec: { profile: "web", tokenFile: "/var/run/secrets/token" },
    });
    const resolve = (profile: string) => () => resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir }, profile });
    expect(resolve("web-and-source")).toThrow(/both web_identity_token_file and source_profile/);
    expect(resolve("web-long")).toThrow(/duration_seconds = 60/);
  });

  it("takes a web identity from GATEHOUSE_ROLE_ARN and GATEHOUSE_WEB_IDENTITY_TOKEN_FILE, after env keys", () => {
    const env = {
      GATEHOUSE_CONFIG_DIR: dir,
      GATEHOUSE_ROLE_ARN: "arn:aws:iam::111122223333:role/pod",
      GATEHOUSE_WEB_IDENTITY_TOKEN_FILE: "/token",
    };
    const c = resolveClientConfig({ env });
    expect(c.credentials).toBeUndefined();
    expect(c.webIdentity).toMatchObject({ roleArn: "arn:aws:iam::111122223333:role/pod", tokenFile: "/token" });
    expect(c.webIdentity?.profile).toBeUndefined();
    expect(c.webIdentity?.roleSessionName).toMatch(/^gatehouse-\d+$/);
    expect(c.credentialSource).toEqual({
      kind: "web-identity",
      roleArn: "arn:aws:iam::111122223333:role/pod",
      tokenFile: "/token",
    });
    expect(
      resolveClientConfig({ env: { ...env, GATEHOUSE_ROLE_SESSION_NAME: "p" } }).webIdentity?.roleSessionName,
    ).toBe("p");
    // Env keys win over it; a named profile wins over both.
    const keys = { GATEHOUSE_ACCESS_KEY_ID: "AKIAENV", GATEHOUSE_SECRET_ACCESS_KEY: "se" };
    expect(resolveClientConfig({ env: { ...env, ...keys } }).credentialSource).toEqual({ kind: "env" });
    expect(resolveClientConfig({ env, profile: "demo" }).credentials?.accessKeyId).toBe("AKIADEMO");
    // One without the other is a mistake, named.
    expect(() =>
      resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir, GATEHOUSE_WEB_IDENTITY_TOKEN_FILE: "/token" } }),
    ).toThrow(/GATEHOUSE_WEB_IDENTITY_TOKEN_FILE is set but GATEHOUSE_ROLE_ARN is not/);
    expect(() =>
      resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: dir, GATEHOUSE_ROLE_ARN: "arn:aws:iam::1:role/x" } }),
    ).toThrow(/GATEHOUSE_ROLE_ARN is set but GATEHOUSE_WEB_IDENTITY_TOKEN_FILE is not/);
  });

  it("resolves credential_source = Environment from the env keys; refuses the sources Gatehouse has not", () => {
    const keys = {
      GATEHOUSE_CONFIG_DIR: dir,
      GATEHOUSE_ACCESS_KEY_ID: "AKIAENV",
      GATEHOUSE_SECRET_ACCESS_KEY: "se",
      GATEHOUSE_SESSION_TOKEN: "st",
    };
    const c = resolveClientConfig({ env: keys, profile: "src-env" });
    expect(c.credentials).toBeUndefined();
    expect(c.assumeRole).toMatchObject({
      profile: "src-env",
      roleArn: "arn:aws:iam::111122223333:role/ci",
      source: {
        kind: "environment",
        credentials: { accessKeyId: "AKIAENV", secretAccessKey: "se", sessionToken: "st" },
      },
    });
    expect(resolveClientConfig({ env: keys, profile: "src-chained" }).assumeRole?.source).toMatchObject({
      kind: "assume-role",
      spec: { profile: "src-env", source: { kind: "environment" } },
    });
    const resolve =
      (profile: string, env: Record<string, string> = keys) =>
      () =>
        resolveClientConfig({ env, profile });
    expect(resolve("src-env", { GATEHOUSE_CONFIG_DIR: dir })).toThrow(
      /credential_source = Environment, and GATEHOUSE_ACCESS_KEY_ID \/ GATEHOUSE_SECRET_ACCESS_KEY are not set/,
    );
    expect(resolve("src-ec2")).toThrow(
      /credential_source = Ec2InstanceMetadata, which Gatehouse does not support \(only Environment\)/,
    );
    expect(resolve("src-ecs")).toThrow(/credential_source = EcsContainer, which Gatehouse does not support/);
    expect(resolve("src-odd")).toThrow(
      /credential_source = Vault, not one of Environment, Ec2InstanceMetadata, EcsContainer/,
    );
    expect(resolve("src-both")).toThrow(/both source_profile and credential_source/);
    expect(resolve("src-ec2")).toThrow(expect.objectContaining({ name: "GatehouseConfigError" }));
  });

  it("routes by region_order (a list, or nearest), unless a region is named in the options", () => {
    const env = { GATEHOUSE_CONFIG_DIR: dir };
    expect(resolveClientConfig({ env, profile: "demo" }).routing).toEqual({ kind: "home" });
    expect(resolveClientConfig({ env, profile: "routed" }).routing).toEqual({
      kind: "ordered",
      regions: ["eu-west-1", "us-east-1"],
    });
    // nearest: every region with endpoints, the configured one first (it wins ties).
    expect(resolveClientConfig({ env, profile: "near" }).routing).toEqual({
      kind: "nearest",
      regions: ["eu-west-1", "us-east-1"],
    });
    expect(resolveClientConfig({ env, profile: "routed", region: "us-east-1" }).routing).toEqual({ kind: "home" });
    expect(
      resolveClientConfig({ env: { ...env, GATEHOUSE_REGION_ORDER: "us-east-1,eu-west-1" }, profile: "demo" }).routing,
    ).toEqual({ kind: "ordered", regions: ["us-east-1", "eu-west-1"] });
    expect(() => resolveClientConfig({ env, profile: "badorder" })).toThrow(
      expect.objectContaining({
        message: expect.stringContaining("mars-1"),
        hint: expect.stringContaining("endpoint_mars-1"),
      }),
    );
  });

  it("works with no files at all", () => {
    const c = resolveClientConfig({ env: { GATEHOUSE_CONFIG_DIR: join(dir, "absent") } });
    expect(c.credentials).toBeUndefined();
    expect(c.region).toBeUndefined();
  });
});
