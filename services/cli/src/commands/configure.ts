import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { parse, stringify } from "ini";
import type { CliIo, GlobalOptions } from "../client.ts";
import { FlagValueError } from "../iam/flag-values.ts";

function readIni(path: string): Record<string, Record<string, unknown>> {
  try {
    return parse(readFileSync(path, "utf8")) as Record<string, Record<string, unknown>>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw e;
  }
}

const ENDPOINT = /^[A-Za-z0-9.-]+:\d{1,5}$/;

function checkEndpoints(flag: string, value: string): string {
  const list = value.split(",").map((s) => s.trim());
  for (const e of list)
    if (!ENDPOINT.test(e))
      throw new FlagValueError(flag, `expected host:port[,host:port…], got ${JSON.stringify(value)}`);
  return list.join(",");
}

interface ConfigureOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  endpointControlPlane?: string;
  endpoint: string[];
  roleArn?: string;
  sourceProfile?: string;
  mfaSerial?: string;
  externalId?: string;
  roleSessionName?: string;
  durationSeconds?: string;
  regionOrder?: string;
  webIdentityTokenFile?: string;
  credentialSource?: string;
}

/** The settings a `configure` run changes: keys for `credentials`, the rest for `config`. */
interface Changes {
  readonly keys: Record<string, string>;
  readonly settings: Record<string, string>;
}

/** The changes the flags ask for (values checked, errors naming the flag). */
function changesFromFlags(opts: ConfigureOptions, region: string | undefined): Changes {
  const keys: Record<string, string> = {};
  const settings: Record<string, string> = {};
  if (opts.accessKeyId !== undefined) keys.access_key_id = opts.accessKeyId;
  if (opts.secretAccessKey !== undefined) keys.secret_access_key = opts.secretAccessKey;
  if (opts.sessionToken !== undefined) keys.session_token = opts.sessionToken;
  if (region !== undefined) settings.region = region;
  if (opts.endpointControlPlane !== undefined) {
    settings.endpoint_control_plane = checkEndpoints("--endpoint-control-plane", opts.endpointControlPlane);
  }
  for (const entry of opts.endpoint) {
    const eq = entry.indexOf("=");
    if (eq <= 0)
      throw new FlagValueError("--endpoint", `expected region=host:port[,host:port…], got ${JSON.stringify(entry)}`);
    settings[`endpoint_${entry.slice(0, eq)}`] = checkEndpoints("--endpoint", entry.slice(eq + 1));
  }
  const role: [keyof ConfigureOptions, string][] = [
    ["roleArn", "role_arn"],
    ["sourceProfile", "source_profile"],
    ["mfaSerial", "mfa_serial"],
    ["externalId", "external_id"],
    ["roleSessionName", "role_session_name"],
    ["regionOrder", "region_order"],
  ];
  for (const [flag, key] of role) {
    const value = opts[flag];
    if (typeof value === "string") settings[key] = value;
  }
  if (opts.webIdentityTokenFile !== undefined) {
    if (opts.sourceProfile !== undefined || opts.credentialSource !== undefined) {
      throw new FlagValueError(
        "--web-identity-token-file",
        "a role's credentials come from one of --web-identity-token-file, --source-profile and --credential-source",
      );
    }
    // Absolute, so the profile works from any directory.
    settings.web_identity_token_file = resolve(opts.webIdentityTokenFile);
  }
  if (opts.credentialSource !== undefined) {
    if (opts.credentialSource === "Ec2InstanceMetadata" || opts.credentialSource === "EcsContainer") {
      throw new FlagValueError(
        "--credential-source",
        `${opts.credentialSource} is not supported in Gatehouse (it has no instance metadata or container credential service): use Environment, --source-profile or --web-identity-token-file`,
      );
    }
    if (opts.credentialSource !== "Environment") {
      throw new FlagValueError("--credential-source", `expected Environment, got ${opts.credentialSource}`);
    }
    if (opts.sourceProfile !== undefined) {
      throw new FlagValueError("--credential-source", "give --credential-source or --source-profile, not both");
    }
    settings.credential_source = opts.credentialSource;
  }
  if (opts.durationSeconds !== undefined) {
    const n = Number(opts.durationSeconds);
    if (!/^\d+$/.test(opts.durationSeconds) || n < 900 || n > 43_200)
      throw new FlagValueError("--duration-seconds", `expected seconds in 900..43200, got ${opts.durationSeconds}`);
    settings.duration_seconds = opts.durationSeconds;
  }
  if (settings.role_arn !== undefined && !/^arn:aws:iam::\d{12}:role\/\S+$/.test(settings.role_arn)) {
    throw new FlagValueError("--role-arn", `expected arn:aws:iam::ACCOUNT:role/NAME, got ${settings.role_arn}`);
  }
  return { keys, settings };
}

/** `****ABCD`, as `aws configure` shows a key it already has. */
function masked(value: unknown): string {
  return typeof value === "string" && value !== "" ? `****${value.slice(-4)}` : "None";
}

/**
 * `aws configure`'s dialogue: each setting with its current value in brackets; an empty answer
 * keeps it. Asks for the keys, the region, the control plane and the region's endpoints.
 */
async function changesFromPrompts(
  prompt: (question: string) => Promise<string>,
  keys: Record<string, unknown>,
  settings: Record<string, unknown>,
  regionFlag: string | undefined,
): Promise<Changes> {
  const out: Changes = { keys: {}, settings: {} };
  const ask = async (question: string, shown: string) => (await prompt(`${question} [${shown}]: `)).trim();
  const id = await ask("Gatehouse Access Key ID", masked(keys.access_key_id));
  if (id !== "") out.keys.access_key_id = id;
  const secret = await ask("Gatehouse Secret Access Key", masked(keys.secret_access_key));
  if (secret !== "") out.keys.secret_access_key = secret;
  const current = (key: string) => (typeof settings[key] === "string" ? (settings[key] as string) : "None");
  const region = regionFlag ?? ((await ask("Default region name", current("region"))) || undefined);
  if (region !== undefined) out.settings.region = region;
  const cp = await ask("Control plane endpoint (host:port)", current("endpoint_control_plane"));
  if (cp !== "") out.settings.endpoint_control_plane = checkEndpoints("endpoint_control_plane", cp);
  const regionName = region ?? (typeof settings.region === "string" ? settings.region : undefined);
  if (regionName !== undefined) {
    const key = `endpoint_${regionName}`;
    const eps = await ask(`Endpoints of ${regionName} (host:port,…)`, current(key));
    if (eps !== "") out.settings[key] = checkEndpoints(key, eps);
  }
  return out;
}

/**
 * `gatehouse configure`: writes a profile into `$GATEHOUSE_CONFIG_DIR` (`~/.gatehouse`), keys into
 * `credentials` (mode 0600) and the rest into `config`, keeping every other profile and setting.
 * With no flags on a terminal it asks, as `aws configure` does (an empty answer keeps the value).
 * Role profiles: `--role-arn` with `--source-profile` (and `--mfa-serial`, `--external-id`,
 * `--role-session-name`, `--duration-seconds`), with `--credential-source Environment` (the
 * `GATEHOUSE_*` env keys assume the role), or with `--web-identity-token-file` (an OpenID Connect
 * token file exchanged by AssumeRoleWithWebIdentity; `--role-session-name`, `--duration-seconds`).
 *
 * @example
 * gatehouse configure --profile demo --access-key-id AKIA… --secret-access-key … \
 *   --region us-east-1 --endpoint-control-plane 127.0.0.1:50051 --endpoint us-east-1=127.0.0.1:50061,127.0.0.1:50062
 * gatehouse configure --profile deployer --role-arn arn:aws:iam::111122223333:role/deployer --source-profile demo
 * gatehouse configure --profile pod --role-arn arn:aws:iam::111122223333:role/api \
 *   --web-identity-token-file /var/run/secrets/gatehouse/token
 */
export function registerConfigure(program: Command, io: CliIo): void {
  program
    .command("configure")
    .description("Write a profile (keys to credentials, the rest to config); asks on a terminal when given no flags")
    .option("--access-key-id <id>")
    .option("--secret-access-key <secret>")
    .option("--session-token <token>")
    .option("--endpoint-control-plane <host:port>", "the control plane")
    .option(
      "--endpoint <region=host:port,…>",
      "a region's deciders, tried in turn (repeat per region)",
      (v: string, prev: string[] = []) => [...prev, v],
      [],
    )
    .option("--region-order <regions|nearest>", "regions checks go to, in turn (us-east-1,eu-west-1), or nearest")
    .option("--role-arn <arn>", "a role profile: the role to assume")
    .option("--source-profile <profile>", "the profile whose credentials assume --role-arn")
    .option("--mfa-serial <arn>", "the MFA device AssumeRole is called with (a code is asked for)")
    .option("--external-id <id>", "AssumeRole's external id")
    .option("--role-session-name <name>", "the session name (default gatehouse-<time>)")
    .option("--duration-seconds <n>", "the session's duration (900..43200)")
    .option(
      "--web-identity-token-file <path>",
      "a web-identity profile: the OpenID Connect token file exchanged for --role-arn's credentials",
    )
    .option("--credential-source <Environment>", "assume --role-arn with the GATEHOUSE_* env keys")
    .action(async (opts: ConfigureOptions, command: Command) => {
      const global = command.optsWithGlobals() as GlobalOptions;
      const profile = global.profile ?? io.env.GATEHOUSE_PROFILE ?? "default";
      if (!/^[\w.-]+$/.test(profile))
        throw new FlagValueError("--profile", `not a usable profile name: ${JSON.stringify(profile)}`);
      // Imported here: the SDK's index loads gRPC and the generated proto code, which writing a
      // profile does not need, and `configure` is registered at every start.
      const { configDirOf } = await import("@gatehouse/sdk");
      const dir = configDirOf(io.env);
      const credentialsPath = join(dir, "credentials");
      const configPath = join(dir, "config");
      const credentials = readIni(credentialsPath);
      const config = readIni(configPath);
      const section = profile === "default" ? "default" : `profile ${profile}`;
      const keys: Record<string, unknown> = { ...credentials[profile] };
      const settings: Record<string, unknown> = { ...config[section] };

      let changes = changesFromFlags(opts, global.region);
      const given = Object.keys(changes.keys).length + Object.keys(changes.settings).length;
      const onlyRegion = given === 1 && changes.settings.region !== undefined;
      if ((given === 0 || onlyRegion) && io.prompt !== undefined) {
        changes = await changesFromPrompts(io.prompt, keys, settings, global.region);
      } else if (given === 0) {
        throw new FlagValueError(
          "--access-key-id",
          "nothing to write: give keys, --region, endpoints or a role (or run it on a terminal to be asked)",
        );
      }

      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const written: string[] = [];
      if (Object.keys(changes.keys).length > 0) {
        credentials[profile] = { ...keys, ...changes.keys };
        writeFileSync(credentialsPath, stringify(credentials), { mode: 0o600 });
        written.push(credentialsPath);
      }
      if (Object.keys(changes.settings).length > 0) {
        config[section] = { ...settings, ...changes.settings };
        writeFileSync(configPath, stringify(config), { mode: 0o600 });
        written.push(configPath);
      }
      io.write(`${JSON.stringify({ Profile: profile, Wrote: written }, null, 4)}\n`);
    });
}
