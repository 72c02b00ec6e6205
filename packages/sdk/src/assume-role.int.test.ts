// Assumed-role profiles against a live control plane and region: AssumeRole with the source
// profile's keys, external id and session name from the profile, refresh before expiry (an
// injected clock), one AssumeRole for a burst of calls, role chaining, and MFA codes.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createManualClock } from "@gatehouse/core";
import { createLiveAccount, type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessDeniedError, type ExpiringCredentials, Gatehouse, type GatehouseOptions } from "./index.ts";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });

describe("assumed-role profiles against a live region", () => {
  let stack: LiveStack;
  let dir: string;
  let accountId: string;
  let seed: string;
  let serial: string;
  let devKeys: { GATEHOUSE_ACCESS_KEY_ID: string; GATEHOUSE_SECRET_ACCESS_KEY: string };
  const clients: Gatehouse[] = [];
  const client = (options: GatehouseOptions, env: Record<string, string> = {}) => {
    const gh = new Gatehouse({ ...options, env: { GATEHOUSE_CONFIG_DIR: dir, ...env } });
    clients.push(gh);
    return gh;
  };

  beforeAll(async () => {
    stack = await startLiveStack("sdkrole");
    const account = await createLiveAccount(stack);
    accountId = account.accountId;
    const root = account.root;
    clients.push(root);
    const arn = (kind: string, name: string) => `arn:aws:iam::${accountId}:${kind}/${name}`;
    await root.iam.createUser({ userName: "dev" });
    // No identity policy for dev: the trust policies alone (they name dev) let it assume the roles.
    const key = await root.iam.createAccessKey({ userName: "dev" });
    const trust = (principal: string, condition?: object) =>
      doc({
        Effect: "Allow",
        Principal: { AWS: principal },
        Action: "sts:AssumeRole",
        ...(condition === undefined ? {} : { Condition: condition }),
      });
    await root.iam.createRole({
      roleName: "deployer",
      assumeRolePolicyDocument: trust(arn("user", "dev"), { StringEquals: { "sts:ExternalId": "ext-1" } }),
    });
    await root.iam.putRolePolicy({
      roleName: "deployer",
      policyName: "chain",
      policyDocument: doc({ Effect: "Allow", Action: "sts:AssumeRole", Resource: arn("role", "auditor") }),
    });
    await root.iam.createRole({ roleName: "auditor", assumeRolePolicyDocument: trust(arn("role", "deployer")) });
    await root.iam.createRole({
      roleName: "admin",
      assumeRolePolicyDocument: trust(arn("user", "dev"), { Bool: { "aws:MultiFactorAuthPresent": "true" } }),
    });
    const device = await root.iam.createVirtualMfaDevice({ virtualMfaDeviceName: "dev-phone", path: "/" });
    seed = device.base32StringSeed;
    serial = device.serialNumber;
    const t = Math.floor(Date.now() / 1000);
    await root.iam.enableMfaDevice({
      userName: "dev",
      serialNumber: serial,
      authenticationCode1: await generate({ secret: seed, epoch: t - 30 }),
      authenticationCode2: await generate({ secret: seed, epoch: t }),
    });
    // Read-your-writes: this check waits until the region has applied everything above.
    await root.authz.authorize({ principalArn: arn("user", "dev"), action: "sts:AssumeRole", resource: "*" });

    devKeys = {
      GATEHOUSE_ACCESS_KEY_ID: key.accessKey?.accessKeyId ?? "",
      GATEHOUSE_SECRET_ACCESS_KEY: key.secretAccessKey,
    };
    dir = await mkdtemp(join(tmpdir(), "gatehouse-sdk-role-"));
    await writeFile(
      join(dir, "credentials"),
      `[dev]\naccess_key_id = ${key.accessKey?.accessKeyId}\nsecret_access_key = ${key.secretAccessKey}\n`,
    );
    const where = [`region = ${stack.region}`, `endpoint_${stack.region} = ${stack.decider}`];
    await writeFile(
      join(dir, "config"),
      [
        "[profile dev]",
        ...where,
        "[profile deployer]",
        `role_arn = ${arn("role", "deployer")}`,
        "source_profile = dev",
        "external_id = ext-1",
        "role_session_name = deploy-session",
        "duration_seconds = 900",
        ...where,
        "[profile no-external-id]",
        `role_arn = ${arn("role", "deployer")}`,
        "source_profile = dev",
        ...where,
        "[profile from-env]",
        `role_arn = ${arn("role", "deployer")}`,
        "credential_source = Environment",
        "external_id = ext-1",
        "role_session_name = from-env",
        ...where,
        "[profile from-ec2]",
        `role_arn = ${arn("role", "deployer")}`,
        "credential_source = Ec2InstanceMetadata",
        ...where,
        "[profile auditor]",
        `role_arn = ${arn("role", "auditor")}`,
        "source_profile = deployer",
        "role_session_name = audit",
        ...where,
        "[profile admin]",
        `role_arn = ${arn("role", "admin")}`,
        "source_profile = dev",
        `mfa_serial = ${serial}`,
        "role_session_name = admin",
        ...where,
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await stack?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("assumes the role with the source profile's keys, the profile's external id and session name", async () => {
    const gh = client({ profile: "deployer" });
    expect(gh.config.credentialSource).toMatchObject({ kind: "assume-role", profile: "deployer" });
    const me = await gh.sts.getCallerIdentity();
    // STS answers name the region that gave them (the answer's own field) and the endpoint.
    expect(me).toMatchObject({
      account: accountId,
      arn: `arn:aws:sts::${accountId}:assumed-role/deployer/deploy-session`,
      region: stack.region,
      endpoint: stack.decider,
    });
    const chained = await gh.sts.assumeRole({
      roleArn: `arn:aws:iam::${accountId}:role/auditor`,
      roleSessionName: "chained",
    });
    expect(chained).toMatchObject({ region: stack.region, endpoint: stack.decider, sourceIdentity: "" });
    const creds = await gh.credentials();
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    // The role's trust policy wants the external id: without it, AssumeRole is refused, and the
    // error says which role and profile.
    const refused = await client({ profile: "no-external-id" })
      .sts.getCallerIdentity()
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AccessDeniedError);
    expect((refused as Error).message).toContain(
      `assuming arn:aws:iam::${accountId}:role/deployer for the profile "no-external-id"`,
    );
  });

  it("refreshes before expiry (injected clock), once for a burst of concurrent calls", async () => {
    const clock = createManualClock(Date.now());
    const gh = client({ profile: "deployer", assumeRole: { clock, refreshWindowMs: 5 * 60_000 } });
    const first = (await gh.credentials()) as { accessKeyId: string; expiresAtMs?: number };
    expect(first.expiresAtMs).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(first.expiresAtMs).toBeLessThanOrEqual(Date.now() + 15 * 60_000 + 5_000);
    const expiresAtMs = first.expiresAtMs as number;
    clock.set(expiresAtMs - 5 * 60_000 - 1);
    expect((await gh.credentials()).accessKeyId).toBe(first.accessKeyId);
    // Five minutes before expiry: due. Twenty callers at once make one AssumeRole.
    clock.set(expiresAtMs - 5 * 60_000);
    const burst = await Promise.all(Array.from({ length: 20 }, () => gh.credentials()));
    const keys = new Set(burst.map((c) => c.accessKeyId));
    expect(keys.size).toBe(1);
    expect(keys.has(first.accessKeyId)).toBe(false);
    expect((await gh.sts.getCallerIdentity()).arn).toBe(
      `arn:aws:sts::${accountId}:assumed-role/deployer/deploy-session`,
    );
  });

  it("reads and writes a credential cache: a second client reuses unexpired credentials", async () => {
    const store = new Map<string, ExpiringCredentials>();
    const cache = {
      get: (k: string) => store.get(k),
      set: (k: string, c: ExpiringCredentials) => void store.set(k, c),
    };
    const first = await client({ profile: "deployer", assumeRole: { cache } }).credentials();
    expect(store.size).toBe(1);
    const second = await client({ profile: "deployer", assumeRole: { cache } }).credentials();
    expect(second.accessKeyId).toBe(first.accessKeyId);
    // Within the refresh window of expiry, the cached ones are not used: AssumeRole again.
    const [key, cached] = [...store.entries()][0] as [string, ExpiringCredentials];
    store.set(key, { ...cached, expiresAtMs: Date.now() + 60_000 });
    const third = await client({ profile: "deployer", assumeRole: { cache } }).credentials();
    expect(third.accessKeyId).not.toBe(first.accessKeyId);
    expect(store.get(key)?.accessKeyId).toBe(third.accessKeyId);
  });

  it("credential_source = Environment assumes the role with the env keys; the other sources are refused", async () => {
    const gh = client({ profile: "from-env" }, devKeys);
    expect((await gh.sts.getCallerIdentity()).arn).toBe(`arn:aws:sts::${accountId}:assumed-role/deployer/from-env`);
    expect((await gh.credentials()).accessKeyId).toMatch(/^ASIA/);
    expect(() => client({ profile: "from-ec2" }, devKeys)).toThrow(
      expect.objectContaining({
        name: "GatehouseConfigError",
        message: expect.stringContaining("credential_source = Ec2InstanceMetadata, which Gatehouse does not support"),
      }),
    );
  });

  it("chains roles: a source profile that is itself a role is assumed first", async () => {
    const gh = client({ profile: "auditor" });
    expect((await gh.sts.getCallerIdentity()).arn).toBe(`arn:aws:sts::${accountId}:assumed-role/auditor/audit`);
  });

  it("asks the MFA code provider for mfa_serial, and says so when there is none", async () => {
    await expect(client({ profile: "admin" }).sts.getCallerIdentity()).rejects.toMatchObject({
      name: "GatehouseConfigError",
      hint: expect.stringContaining("mfaCodeProvider"),
    });
    const asked: string[] = [];
    const gh = client({
      profile: "admin",
      assumeRole: {
        mfaCodeProvider: async (serialNumber) => {
          asked.push(serialNumber);
          return generate({ secret: seed, epoch: Math.floor(Date.now() / 1000) });
        },
      },
    });
    expect((await gh.sts.getCallerIdentity()).arn).toBe(`arn:aws:sts::${accountId}:assumed-role/admin/admin`);
    expect(asked).toEqual([serial]);
  });
});
