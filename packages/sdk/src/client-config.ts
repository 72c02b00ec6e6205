import type { Credentials } from "@gatehouse/auth";
import { type Env, loadSharedFiles, type Profile, splitEndpoints } from "./shared-config.ts";

/** Where the SDK sends calls. */
export interface EndpointOptions {
  /** `host:port` of the control plane (IAM writes and reads). */
  readonly controlPlane?: string;
  /** Per region, its deciders' `host:port`s, tried in turn (checks, region status, STS). */
  readonly regions?: Readonly<Record<string, readonly string[]>>;
}

/** What a client is configured from; every field is optional and falls back along the chain. */
export interface ClientConfigOptions {
  /** The region checks go to (else `GATEHOUSE_REGION`, else the profile's `region`). */
  readonly region?: string;
  /** The profile of the shared files (else `GATEHOUSE_PROFILE`, else `default`). */
  readonly profile?: string;
  /** Explicit credentials: they win over every other source. */
  readonly credentials?: Credentials;
  readonly endpoints?: EndpointOptions;
  /** The environment to read (default `process.env`); tests pass their own. */
  readonly env?: Env;
}

/** Where the credentials came from, for messages such as "signed with profile demo". */
export type CredentialSource =
  | { readonly kind: "explicit" }
  | { readonly kind: "env" }
  | { readonly kind: "profile"; readonly profile: string; readonly configDir: string };

/** The resolved client configuration (frozen). */
export interface ClientConfig {
  readonly region: string | undefined;
  readonly profile: string;
  readonly credentials: Credentials | undefined;
  readonly credentialSource: CredentialSource | undefined;
  readonly controlPlane: string;
  readonly regions: Readonly<Record<string, readonly string[]>>;
  readonly configDir: string;
}

/** The local stack's control plane, used when nothing names another. */
export const DEFAULT_CONTROL_PLANE = "127.0.0.1:50051";

/**
 * A configuration problem found before any call (unknown profile, a profile that needs STS,
 * no credentials). `hint` says what to do about it.
 */
export class GatehouseConfigError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = "GatehouseConfigError";
    this.hint = hint;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/**
 * Resolves region, credentials and endpoints like the AWS SDK's default chain:
 * credentials from the options, else from the profile named in the options, else from
 * `GATEHOUSE_ACCESS_KEY_ID` / `GATEHOUSE_SECRET_ACCESS_KEY` (/ `GATEHOUSE_SESSION_TOKEN`), else
 * from the profile `GATEHOUSE_PROFILE` or `default` in `$GATEHOUSE_CONFIG_DIR` (`~/.gatehouse`).
 * A profile with `role_arn` needs STS, which no region serves yet: it is refused with that said.
 *
 * @example
 * const config = resolveClientConfig({ profile: "demo", env: process.env });
 * config.regions["us-east-1"]; // ["127.0.0.1:50061", "127.0.0.1:50062"]
 */
export function resolveClientConfig(options: ClientConfigOptions = {}): ClientConfig {
  const env = options.env ?? process.env;
  const files = loadSharedFiles(env);
  const explicitProfile = nonEmpty(options.profile);
  const profileName = explicitProfile ?? nonEmpty(env.GATEHOUSE_PROFILE) ?? "default";
  const profile: Profile | undefined = files.profiles.get(profileName);
  const profileNamed = explicitProfile !== undefined || nonEmpty(env.GATEHOUSE_PROFILE) !== undefined;
  if (profile === undefined && profileNamed) {
    const known = [...files.profiles.keys()].sort();
    throw new GatehouseConfigError(
      `the profile "${profileName}" is in neither ${files.configDir}/credentials nor ${files.configDir}/config`,
      known.length === 0
        ? `no profile is configured: run \`gatehouse configure --profile ${profileName}\``
        : `known profiles: ${known.join(", ")}; or run \`gatehouse configure --profile ${profileName}\``,
    );
  }

  const fromProfile = (): Pick<ClientConfig, "credentials" | "credentialSource"> => {
    if (profile === undefined) return { credentials: undefined, credentialSource: undefined };
    if (profile.roleArn !== undefined) {
      throw new GatehouseConfigError(
        `the profile "${profile.name}" assumes the role ${profile.roleArn}, and assuming roles needs STS, which no region serves yet`,
        "use a profile with access_key_id and secret_access_key (or a session_token) until STS is served",
      );
    }
    if (profile.accessKeyId === undefined || profile.secretAccessKey === undefined) {
      return { credentials: undefined, credentialSource: undefined };
    }
    return {
      credentials: {
        accessKeyId: profile.accessKeyId,
        secretAccessKey: profile.secretAccessKey,
        ...(profile.sessionToken === undefined ? {} : { sessionToken: profile.sessionToken }),
      },
      credentialSource: { kind: "profile", profile: profile.name, configDir: files.configDir },
    };
  };

  let creds: Pick<ClientConfig, "credentials" | "credentialSource">;
  const envKey = nonEmpty(env.GATEHOUSE_ACCESS_KEY_ID);
  const envSecret = nonEmpty(env.GATEHOUSE_SECRET_ACCESS_KEY);
  if (options.credentials !== undefined) {
    creds = { credentials: options.credentials, credentialSource: { kind: "explicit" } };
  } else if (explicitProfile !== undefined) {
    creds = fromProfile();
  } else if (envKey !== undefined && envSecret !== undefined) {
    const token = nonEmpty(env.GATEHOUSE_SESSION_TOKEN);
    creds = {
      credentials: {
        accessKeyId: envKey,
        secretAccessKey: envSecret,
        ...(token === undefined ? {} : { sessionToken: token }),
      },
      credentialSource: { kind: "env" },
    };
  } else {
    creds = fromProfile();
  }

  const regions: Record<string, readonly string[]> = { ...profile?.regionEndpoints };
  for (const [name, list] of Object.entries(options.endpoints?.regions ?? {})) regions[name] = [...list];
  for (const [name, list] of Object.entries(regions)) {
    if (list.length === 0) delete regions[name];
  }
  return Object.freeze({
    region: nonEmpty(options.region) ?? nonEmpty(env.GATEHOUSE_REGION) ?? profile?.region,
    profile: profileName,
    ...creds,
    controlPlane:
      nonEmpty(options.endpoints?.controlPlane) ??
      nonEmpty(env.GATEHOUSE_ENDPOINT_CONTROL_PLANE) ??
      profile?.controlPlaneEndpoint ??
      DEFAULT_CONTROL_PLANE,
    regions: Object.freeze(regions),
    configDir: files.configDir,
  });
}

export { splitEndpoints };
