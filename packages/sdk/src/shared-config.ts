import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse } from "ini";

/** The environment variables the SDK reads (passed in, never read from deep inside). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * One profile as the shared files describe it: `credentials` holds the keys, `config` the rest.
 * Unknown settings are kept in `other` (and ignored), as the AWS CLI ignores them.
 */
export interface Profile {
  readonly name: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly sessionToken?: string;
  readonly region?: string;
  /** `endpoint_control_plane`: `host:port` of the control plane. */
  readonly controlPlaneEndpoint?: string;
  /** `endpoint_<region>`: `host:port[,host:port…]` per region, tried in turn. */
  readonly regionEndpoints: Readonly<Record<string, readonly string[]>>;
  /** `role_arn`: the role this profile's credentials come from (with `source_profile` or `web_identity_token_file`). */
  readonly roleArn?: string;
  /** `source_profile`: the profile whose credentials call AssumeRole (keys, or a role: chained). */
  readonly sourceProfile?: string;
  /**
   * `web_identity_token_file`: a file holding an OpenID Connect token (a Kubernetes projected
   * service-account token), exchanged for `role_arn`'s credentials by AssumeRoleWithWebIdentity;
   * read again at each refresh, since its issuer rotates it.
   */
  readonly webIdentityTokenFile?: string;
  /**
   * `credential_source`: where `role_arn`'s source credentials come from instead of a
   * `source_profile` (AWS: `Environment`, `Ec2InstanceMetadata`, `EcsContainer`; Gatehouse takes
   * `Environment`).
   */
  readonly credentialSource?: string;
  /** `mfa_serial`: the MFA device AssumeRole is called with (a code is asked for). */
  readonly mfaSerial?: string;
  /** `external_id`: AssumeRole's ExternalId, as the role's trust policy may demand. */
  readonly externalId?: string;
  /** `role_session_name` (default `gatehouse-<epoch seconds>`). */
  readonly roleSessionName?: string;
  /** `duration_seconds`, as written (checked when the profile is used). */
  readonly durationSeconds?: string;
  /**
   * `region_order`: the regions checks and STS calls go to, in order of preference, failing over
   * to the next (`us-east-1, eu-west-1`), or `nearest` (ordered by measured round-trip time).
   */
  readonly regionOrder?: string;
}

/** The shared files, parsed. */
export interface SharedFiles {
  readonly configDir: string;
  /** Profiles by name: those of `credentials` and of `config`, merged. */
  readonly profiles: ReadonlyMap<string, Profile>;
}

/** `$GATEHOUSE_CONFIG_DIR`, else `~/.gatehouse`. */
export function configDirOf(env: Env): string {
  const dir = env.GATEHOUSE_CONFIG_DIR;
  return dir !== undefined && dir !== "" ? dir : join(homedir(), ".gatehouse");
}

function readIni(path: string): Record<string, Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw e;
  }
  return parse(text) as Record<string, Record<string, unknown>>;
}

function str(section: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = section?.[key];
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

/** Splits `host:port, host:port` into its endpoints. */
export function splitEndpoints(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * Reads `credentials` and `config` from the configuration directory. Missing files are empty.
 *
 * @example
 * const files = loadSharedFiles(process.env);
 * files.profiles.get("demo")?.regionEndpoints["us-east-1"]; // ["127.0.0.1:50061", "127.0.0.1:50062"]
 */
export function loadSharedFiles(env: Env): SharedFiles {
  const configDir = configDirOf(env);
  const credentials = readIni(join(configDir, "credentials"));
  const config = readIni(join(configDir, "config"));
  const names = new Set<string>(Object.keys(credentials));
  const configSections = new Map<string, Record<string, unknown>>();
  for (const [section, values] of Object.entries(config)) {
    // `[default]` and `[profile name]`, as the AWS CLI writes them.
    const name = section === "default" ? "default" : section.startsWith("profile ") ? section.slice(8).trim() : section;
    configSections.set(name, values);
    names.add(name);
  }
  const profiles = new Map<string, Profile>();
  for (const name of names) {
    const c = credentials[name];
    const s = configSections.get(name);
    const regionEndpoints: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(s ?? {})) {
      if (key.startsWith("endpoint_") && key !== "endpoint_control_plane" && typeof value === "string") {
        regionEndpoints[key.slice("endpoint_".length)] = splitEndpoints(value);
      }
    }
    const pick = (key: string) => str(c, key) ?? str(s, key);
    profiles.set(name, {
      name,
      ...opt("accessKeyId", pick("access_key_id")),
      ...opt("secretAccessKey", pick("secret_access_key")),
      ...opt("sessionToken", pick("session_token")),
      ...opt("region", str(s, "region")),
      ...opt("controlPlaneEndpoint", str(s, "endpoint_control_plane")),
      regionEndpoints,
      ...opt("roleArn", str(s, "role_arn")),
      ...opt("sourceProfile", str(s, "source_profile")),
      ...opt("webIdentityTokenFile", str(s, "web_identity_token_file")),
      ...opt("credentialSource", str(s, "credential_source")),
      ...opt("mfaSerial", str(s, "mfa_serial")),
      ...opt("externalId", str(s, "external_id")),
      ...opt("roleSessionName", str(s, "role_session_name")),
      ...opt("durationSeconds", str(s, "duration_seconds")),
      ...opt("regionOrder", str(s, "region_order")),
    });
  }
  return { configDir, profiles };
}

function opt<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
