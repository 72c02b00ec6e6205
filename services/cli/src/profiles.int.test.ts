// `gatehouse configure` (flags and the interactive dialogue) and role profiles (MFA by flag or by
// a prompt on a terminal, credentials kept between commands), running the executable against a
// live control plane and region.
// Terminals come from util-linux `script`, which runs the command on a pseudo-terminal.
import { spawn } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLiveAccount, type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, GATEHOUSE_BIN as bin, runGatehouse } from "./run-gatehouse.int-helper.ts";

const run = runGatehouse;

/** An ES256 key of an OpenID Connect issuer, and a signed token (JWT) of it. */
function oidcIssuer(host: string, audience: string) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return {
    jwks: JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "ES256", use: "sig" }] }),
    token(sub: string): string {
      const now = Math.floor(Date.now() / 1000);
      const head = b64({ alg: "ES256", kid: "k1", typ: "JWT" });
      const body = b64({ iss: `https://${host}`, aud: audience, sub, iat: now - 60, exp: now + 600 });
      const signature = sign("sha256", Buffer.from(`${head}.${body}`), { key: privateKey, dsaEncoding: "ieee-p1363" });
      return `${head}.${body}.${signature.toString("base64url")}`;
    },
  };
}

/**
 * Runs the command on a terminal and answers each prompt as it appears (`[prompt, answer]` in
 * order). Resolves with everything the terminal showed and the exit status.
 */
function onTerminal(
  args: string[],
  env: Record<string, string>,
  answers: [string, string][],
): Promise<{ code: number | null; screen: string }> {
  const quoted = [bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", quoted, "/dev/null"], { env: { ...baseEnv(), TERM: "dumb", ...env } });
    let screen = "";
    let next = 0;
    let seen = 0;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      screen += d;
      const pending = answers[next];
      if (pending !== undefined && screen.indexOf(pending[0], seen) >= 0) {
        seen = screen.indexOf(pending[0], seen) + pending[0].length;
        next++;
        child.stdin.write(`${pending[1]}\r`);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, screen }));
  });
}

describe("gatehouse configure and role profiles against a live stack", () => {
  let stack: LiveStack;
  let dir: string;
  let env: Record<string, string>;
  let accountId: string;
  let key: { id: string; secret: string };
  let seed: string;
  let serial: string;
  const issuer = oidcIssuer("oidc.cli.example.test", "gatehouse");

  beforeAll(async () => {
    stack = await startLiveStack("cliprof");
    const account = await createLiveAccount(stack);
    accountId = account.accountId;
    const root = account.root;
    await root.iam.createUser({ userName: "dev" });
    const made = await root.iam.createAccessKey({ userName: "dev" });
    key = { id: made.accessKey?.accessKeyId ?? "", secret: made.secretAccessKey };
    const trust = (condition?: object) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${accountId}:user/dev` },
            Action: "sts:AssumeRole",
            ...(condition === undefined ? {} : { Condition: condition }),
          },
        ],
      });
    await root.iam.createRole({ roleName: "deployer", assumeRolePolicyDocument: trust() });
    await root.iam.createRole({
      roleName: "admin",
      assumeRolePolicyDocument: trust({ Bool: { "aws:MultiFactorAuthPresent": "true" } }),
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
    const provider = await root.iam.createOpenIdConnectProvider({
      url: "https://oidc.cli.example.test",
      clientIdList: ["gatehouse"],
      thumbprintList: [],
      jwksJson: issuer.jwks,
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
          },
        ],
      }),
    });
    await root.authz.authorize({ principalArn: `arn:aws:iam::${accountId}:user/dev`, action: "x:Y", resource: "*" });
    root.close();
    dir = await mkdtemp(join(tmpdir(), "gatehouse-cli-profiles-"));
    env = { GATEHOUSE_CONFIG_DIR: dir };
  });
  afterAll(async () => {
    await stack?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("asks for the settings on a terminal, as `aws configure` does, and keeps what is left empty", async () => {
    const first = await onTerminal(["--profile", "dev", "configure"], env, [
      ["Gatehouse Access Key ID [None]: ", key.id],
      ["Gatehouse Secret Access Key [None]: ", key.secret],
      ["Default region name [None]: ", stack.region],
      ["Control plane endpoint (host:port) [None]: ", stack.controlPlane],
      [`Endpoints of ${stack.region} (host:port,…) [None]: `, stack.decider],
    ]);
    expect(first.code, first.screen).toBe(0);
    const credentials = await readFile(join(dir, "credentials"), "utf8");
    expect(credentials).toContain(`[dev]\naccess_key_id=${key.id}\nsecret_access_key=${key.secret}\n`);
    const config = await readFile(join(dir, "config"), "utf8");
    expect(config).toContain(`[profile dev]\nregion=${stack.region}\nendpoint_control_plane=${stack.controlPlane}`);
    expect(config).toContain(`endpoint_${stack.region}=${stack.decider}`);
    // A second run shows the current values (keys masked) and keeps each one left empty.
    const second = await onTerminal(["--profile", "dev", "configure"], env, [
      [`Gatehouse Access Key ID [****${key.id.slice(-4)}]: `, ""],
      [`Gatehouse Secret Access Key [****${key.secret.slice(-4)}]: `, ""],
      [`Default region name [${stack.region}]: `, ""],
      [`Control plane endpoint (host:port) [${stack.controlPlane}]: `, ""],
      [`Endpoints of ${stack.region} (host:port,…) [${stack.decider}]: `, ""],
    ]);
    expect(second.code, second.screen).toBe(0);
    expect(await readFile(join(dir, "credentials"), "utf8")).toBe(credentials);
    const me = await run(["--profile", "dev", "sts", "get-caller-identity"], env);
    expect(me.code, me.stderr).toBe(0);
    expect(me.json.Arn).toBe(`arn:aws:iam::${accountId}:user/dev`);
    // Not on a terminal and no flags: nothing to ask with, said so.
    const piped = await run(["--profile", "dev", "configure"], env);
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain("nothing to write");
  });

  it("writes web-identity and credential_source profiles, and assumes their roles", async () => {
    const tokenFile = join(dir, "pod-token");
    await writeFile(tokenFile, issuer.token("system:serviceaccount:apps:api"));
    const configure = (profile: string, ...flags: string[]) =>
      run(
        [
          "--profile",
          profile,
          "--region",
          stack.region,
          "configure",
          "--endpoint",
          `${stack.region}=${stack.decider}`,
          ...flags,
        ],
        env,
      );
    const pod = await configure(
      "pod",
      "--role-arn",
      `arn:aws:iam::${accountId}:role/pod`,
      "--web-identity-token-file",
      tokenFile,
      "--role-session-name",
      "cli-pod",
      "--duration-seconds",
      "900",
    );
    expect(pod.code, pod.stderr).toBe(0);
    const config = await readFile(join(dir, "config"), "utf8");
    expect(config.slice(config.indexOf("[profile pod]"))).toContain(
      `role_arn=arn:aws:iam::${accountId}:role/pod\nrole_session_name=cli-pod\nweb_identity_token_file=${tokenFile}\nduration_seconds=900`,
    );
    const me = await run(["--profile", "pod", "sts", "get-caller-identity"], env);
    expect(me.code, me.stderr).toBe(0);
    expect(me.json.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/pod/cli-pod`);
    // Both sources of a role's credentials at once, or a token file without a role: refused by flag.
    const both = await configure(
      "x",
      "--role-arn",
      `arn:aws:iam::${accountId}:role/pod`,
      "--web-identity-token-file",
      tokenFile,
      "--source-profile",
      "dev",
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--web-identity-token-file");

    // credential_source = Environment: the role is assumed with the env keys.
    const ci = await configure(
      "ci",
      "--role-arn",
      `arn:aws:iam::${accountId}:role/deployer`,
      "--credential-source",
      "Environment",
      "--role-session-name",
      "cli-ci",
    );
    expect(ci.code, ci.stderr).toBe(0);
    const keys = { GATEHOUSE_ACCESS_KEY_ID: key.id, GATEHOUSE_SECRET_ACCESS_KEY: key.secret };
    const asCi = await run(["--profile", "ci", "sts", "get-caller-identity"], { ...env, ...keys });
    expect(asCi.code, asCi.stderr).toBe(0);
    expect(asCi.json.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/deployer/cli-ci`);
    const ec2 = await configure(
      "ec2",
      "--role-arn",
      `arn:aws:iam::${accountId}:role/deployer`,
      "--credential-source",
      "Ec2InstanceMetadata",
    );
    expect(ec2.code).toBe(2);
    expect(ec2.stderr).toContain("--credential-source");
    expect(ec2.stderr).toContain("not supported in Gatehouse");
  });

  it("writes role profiles and assumes their roles; MFA by --mfa-code or a prompt on a terminal", async () => {
    const where = ["--region", stack.region];
    const endpoint = ["--endpoint", `${stack.region}=${stack.decider}`];
    const role = (name: string, ...extra: string[]) =>
      run(
        [
          "--profile",
          name,
          ...where,
          "configure",
          "--role-arn",
          `arn:aws:iam::${accountId}:role/${name}`,
          "--source-profile",
          "dev",
          "--role-session-name",
          `cli-${name}`,
          ...endpoint,
          ...extra,
        ],
        env,
      );
    expect((await role("deployer", "--duration-seconds", "900")).code).toBe(0);
    expect((await role("admin", "--mfa-serial", serial)).code).toBe(0);
    const config = await readFile(join(dir, "config"), "utf8");
    const admin = config.slice(config.indexOf("[profile admin]"));
    expect(admin).toContain(`role_arn=arn:aws:iam::${accountId}:role/admin\nsource_profile=dev\nmfa_serial=${serial}`);
    const badDuration = await role("deployer", "--duration-seconds", "60");
    expect(badDuration.code).toBe(2);
    expect(badDuration.stderr).toContain("--duration-seconds");

    const deployer = await run(["--profile", "deployer", "sts", "get-caller-identity"], env);
    expect(deployer.code, deployer.stderr).toBe(0);
    expect(deployer.json.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/deployer/cli-deployer`);

    // MFA, not on a terminal: the code must come by flag.
    const noCode = await run(["--profile", "admin", "sts", "get-caller-identity"], env);
    expect(noCode.code).toBe(253);
    expect(noCode.stderr).toContain(`needs a code from the MFA device ${serial}`);
    expect(noCode.stderr).toContain("hint: pass --mfa-code");
    const now = Math.floor(Date.now() / 1000);
    // On a terminal the code is asked for; the credentials are then kept (0600) for later commands.
    const prompted = await onTerminal(["--profile", "admin", "sts", "get-caller-identity"], env, [
      [`Enter MFA code for ${serial}: `, await generate({ secret: seed, epoch: now })],
    ]);
    expect(prompted.code, prompted.screen).toBe(0);
    expect(prompted.screen).toContain(`"Arn": "arn:aws:sts::${accountId}:assumed-role/admin/cli-admin"`);
    const cacheDir = join(dir, "cli", "cache");
    const [cached] = await readdir(cacheDir);
    expect((await stat(join(cacheDir, cached ?? ""))).mode & 0o777).toBe(0o600);
    const again = await run(["--profile", "admin", "sts", "get-caller-identity"], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/admin/cli-admin`);
    // Without the cache, the code comes by flag (a code is good once: the device's next step).
    await rm(cacheDir, { recursive: true });
    const byFlag = await run(
      [
        "--profile",
        "admin",
        "--mfa-code",
        await generate({ secret: seed, epoch: now + 30 }),
        "sts",
        "get-caller-identity",
      ],
      env,
    );
    expect(byFlag.code, byFlag.stderr).toBe(0);
    expect(byFlag.json.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/admin/cli-admin`);
    await rm(cacheDir, { recursive: true });
    // A wrong code: the region refuses AssumeRole, and the error names the role and profile.
    const wrong = await run(["--profile", "admin", "--mfa-code", "000000", "sts", "get-caller-identity"], env);
    expect(wrong.code).toBe(254);
    expect(wrong.stderr).toContain("(AccessDenied)");
    expect(wrong.stderr).toContain(`assuming arn:aws:iam::${accountId}:role/admin for the profile "admin"`);
  });
});
