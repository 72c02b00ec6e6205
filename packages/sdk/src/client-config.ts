import type { Credentials } from "@gatehouse/auth";
import type { SharedFiles } from "./shared-config.ts";
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
  /**
   * Explicit credentials, or a function giving the current ones (called before each call; cache
   * and refresh inside it): they win over every other source.
   */
  readonly credentials?: Credentials | CredentialProvider;
  readonly endpoints?: EndpointOptions;
  /**
   * Where checks and STS calls go (else `GATEHOUSE_REGION_ORDER`, else the profile's
   * `region_order`, else only the configured region): regions in order of preference, each
   * failing over to the next when it cannot answer, or `"nearest"`: every region with endpoints,
   * ordered by the round-trip time measured to each (see {@link RegionRouting}).
   */
  readonly regionOrder?: readonly string[] | "nearest";
  /** The environment to read (default `process.env`); tests pass their own. */
  readonly env?: Env;
}

/** A function giving the credentials to sign the next call with. */
export type CredentialProvider = () => Promise<Credentials>;

/** Where the credentials came from, for messages such as "signed with profile demo". */
export type CredentialSource =
  | { readonly kind: "explicit" }
  | { readonly kind: "env" }
  | { readonly kind: "profile"; readonly profile: string; readonly configDir: string }
  | { readonly kind: "assume-role"; readonly profile: string; readonly roleArn: string; readonly configDir: string }
  /** A web identity: of a profile, or (no `profile`) of `GATEHOUSE_ROLE_ARN` / `GATEHOUSE_WEB_IDENTITY_TOKEN_FILE`. */
  | {
      readonly kind: "web-identity";
      readonly profile?: string;
      readonly roleArn: string;
      readonly tokenFile: string;
    };

/**
 * A web identity, resolved: AssumeRoleWithWebIdentity is called (unsigned: the token is the
 * credential) in the client's region with the token read from `tokenFile` at each fetch, since
 * its issuer (Kubernetes, for a projected service-account token) rewrites the file before the
 * token expires.
 */
export interface WebIdentitySpec {
  /** The profile with `web_identity_token_file`; absent when it came from the environment. */
  readonly profile?: string;
  readonly roleArn: string;
  readonly tokenFile: string;
  readonly roleSessionName: string;
  readonly durationSeconds?: number;
}

/**
 * An assumed-role profile, resolved: AssumeRole is called in the client's region with the
 * source's credentials (a source that is itself a role is assumed first: role chaining).
 */
export interface AssumeRoleSpec {
  /** The profile that has `role_arn`. */
  readonly profile: string;
  readonly roleArn: string;
  readonly roleSessionName: string;
  readonly externalId?: string;
  readonly mfaSerial?: string;
  readonly durationSeconds?: number;
  readonly source:
    | { readonly kind: "keys"; readonly profile: string; readonly credentials: Credentials }
    /** `credential_source = Environment`: `GATEHOUSE_ACCESS_KEY_ID` / `GATEHOUSE_SECRET_ACCESS_KEY` (/ `GATEHOUSE_SESSION_TOKEN`). */
    | { readonly kind: "environment"; readonly credentials: Credentials }
    | { readonly kind: "assume-role"; readonly spec: AssumeRoleSpec }
    /** The source profile has `role_arn` + `web_identity_token_file`: its web identity is assumed first. */
    | { readonly kind: "web-identity"; readonly spec: WebIdentitySpec };
}

/**
 * How checks and STS calls pick a region: `home` only the configured one (the default);
 * `ordered` the given regions in turn, failing over to the next when one cannot answer;
 * `nearest` the same, ordered by measured round-trip time (re-measured periodically).
 */
export type RegionRouting =
  | { readonly kind: "home" }
  | { readonly kind: "ordered"; readonly regions: readonly string[] }
  | { readonly kind: "nearest"; readonly regions: readonly string[] };

/** The resolved client configuration (frozen). */
export interface ClientConfig {
  readonly region: string | undefined;
  readonly profile: string;
  /** Static credentials (explicit, env, a profile's keys). */
  readonly credentials: Credentials | undefined;
  /** A credential function given as `credentials`. */
  readonly credentialProvider?: CredentialProvider;
  /** An assumed-role profile's role, fetched and refreshed by the client. */
  readonly assumeRole?: AssumeRoleSpec;
  /** A web identity's role (profile or environment), fetched and refreshed by the client. */
  readonly webIdentity?: WebIdentitySpec;
  readonly credentialSource: CredentialSource | undefined;
  readonly routing: RegionRouting;
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
 * from a web identity in `GATEHOUSE_ROLE_ARN` / `GATEHOUSE_WEB_IDENTITY_TOKEN_FILE` (/
 * `GATEHOUSE_ROLE_SESSION_NAME`), as AWS's `AWS_ROLE_ARN` / `AWS_WEB_IDENTITY_TOKEN_FILE`, else
 * from the profile `GATEHOUSE_PROFILE` or `default` in `$GATEHOUSE_CONFIG_DIR` (`~/.gatehouse`).
 * A profile with `role_arn` + `source_profile` (+ `mfa_serial`, `external_id`,
 * `role_session_name`, `duration_seconds`) is resolved into an {@link AssumeRoleSpec}: the client
 * calls AssumeRole with the source profile's credentials and refreshes the result before it expires.
 * A profile with `role_arn` + `web_identity_token_file` (+ `role_session_name`,
 * `duration_seconds`) is resolved into a {@link WebIdentitySpec}: AssumeRoleWithWebIdentity with
 * the file's token, read again at each refresh.
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

  type Creds = Pick<
    ClientConfig,
    "credentials" | "credentialSource" | "assumeRole" | "webIdentity" | "credentialProvider"
  >;
  const fromWebIdentity = (spec: WebIdentitySpec): Creds => ({
    credentials: undefined,
    webIdentity: spec,
    credentialSource: {
      kind: "web-identity",
      ...(spec.profile === undefined ? {} : { profile: spec.profile }),
      roleArn: spec.roleArn,
      tokenFile: spec.tokenFile,
    },
  });
  const fromProfile = (): Creds => {
    if (profile === undefined) return { credentials: undefined, credentialSource: undefined };
    if (profile.roleArn !== undefined && profile.webIdentityTokenFile !== undefined) {
      return fromWebIdentity(webIdentitySpecOf(files, profile));
    }
    if (profile.roleArn !== undefined) {
      return {
        credentials: undefined,
        assumeRole: roleSpecOf(files, env, profile, []),
        credentialSource: {
          kind: "assume-role",
          profile: profile.name,
          roleArn: profile.roleArn,
          configDir: files.configDir,
        },
      };
    }
    const keys = keysOf(profile);
    if (keys === undefined) return { credentials: undefined, credentialSource: undefined };
    return {
      credentials: keys,
      credentialSource: { kind: "profile", profile: profile.name, configDir: files.configDir },
    };
  };

  let creds: Creds;
  const envWebIdentity = webIdentityOfEnv(env);
  const envKey = nonEmpty(env.GATEHOUSE_ACCESS_KEY_ID);
  const envSecret = nonEmpty(env.GATEHOUSE_SECRET_ACCESS_KEY);
  if (typeof options.credentials === "function") {
    creds = { credentials: undefined, credentialProvider: options.credentials, credentialSource: { kind: "explicit" } };
  } else if (options.credentials !== undefined) {
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
  } else if (envWebIdentity !== undefined) {
    creds = fromWebIdentity(envWebIdentity);
  } else {
    creds = fromProfile();
  }

  const regions: Record<string, readonly string[]> = { ...profile?.regionEndpoints };
  for (const [name, list] of Object.entries(options.endpoints?.regions ?? {})) regions[name] = [...list];
  for (const [name, list] of Object.entries(regions)) {
    if (list.length === 0) delete regions[name];
  }
  // A region named in the options (the CLI's --region) means that region, unless an order is too.
  const order =
    options.regionOrder ??
    (nonEmpty(options.region) === undefined
      ? (nonEmpty(env.GATEHOUSE_REGION_ORDER) ?? profile?.regionOrder)
      : undefined);
  const routing = routingOf(order, regions);
  const region =
    nonEmpty(options.region) ??
    nonEmpty(env.GATEHOUSE_REGION) ??
    profile?.region ??
    (routing.kind === "ordered" ? routing.regions[0] : undefined);
  return Object.freeze({
    region,
    profile: profileName,
    ...creds,
    routing: routing.kind === "nearest" ? nearestFirst(routing, region) : routing,
    controlPlane:
      nonEmpty(options.endpoints?.controlPlane) ??
      nonEmpty(env.GATEHOUSE_ENDPOINT_CONTROL_PLANE) ??
      profile?.controlPlaneEndpoint ??
      DEFAULT_CONTROL_PLANE,
    regions: Object.freeze(regions),
    configDir: files.configDir,
  });
}

/** A profile's static keys, when it has both. */
function keysOf(profile: Profile): Credentials | undefined {
  if (profile.accessKeyId === undefined || profile.secretAccessKey === undefined) return undefined;
  return {
    accessKeyId: profile.accessKeyId,
    secretAccessKey: profile.secretAccessKey,
    ...(profile.sessionToken === undefined ? {} : { sessionToken: profile.sessionToken }),
  };
}

/** The role of a `role_arn` profile, its source resolved (chains followed, cycles refused). */
function roleSpecOf(files: SharedFiles, env: Env, profile: Profile, chain: readonly string[]): AssumeRoleSpec {
  const roleArn = profile.roleArn as string;
  const where = `${files.configDir}/config`;
  if (chain.includes(profile.name)) {
    throw new GatehouseConfigError(
      `the profiles ${[...chain, profile.name].join(" → ")} assume each other's roles in a circle`,
      `make one source_profile in ${where} a profile with access_key_id and secret_access_key`,
    );
  }
  if (profile.credentialSource !== undefined) {
    if (profile.sourceProfile !== undefined) {
      throw new GatehouseConfigError(
        `the profile "${profile.name}" has both source_profile and credential_source: its role's source credentials come from one of them`,
        `remove one of them from [profile ${profile.name}] in ${where}`,
      );
    }
    return finishRoleSpec(files, profile, {
      kind: "environment",
      credentials: credentialSourceOf(files, env, profile),
    });
  }
  if (profile.sourceProfile === undefined) {
    throw new GatehouseConfigError(
      `the profile "${profile.name}" has role_arn but no source_profile: there are no credentials to assume ${roleArn} with`,
      `add source_profile = <a profile with keys> (or credential_source = Environment) to [profile ${profile.name}] in ${where}`,
    );
  }
  const sourceName = profile.sourceProfile;
  const source = sourceName === profile.name ? profile : files.profiles.get(sourceName);
  if (source === undefined) {
    const known = [...files.profiles.keys()].sort();
    throw new GatehouseConfigError(
      `the profile "${profile.name}" names source_profile "${sourceName}", which is in neither ${files.configDir}/credentials nor ${where}`,
      `known profiles: ${known.join(", ")}`,
    );
  }
  let from: AssumeRoleSpec["source"];
  // A profile that is its own source uses its own keys (as the AWS CLI does).
  const keys = keysOf(source);
  if (source.roleArn !== undefined && source.webIdentityTokenFile !== undefined && source.name !== profile.name) {
    from = { kind: "web-identity", spec: webIdentitySpecOf(files, source) };
  } else if (source.roleArn !== undefined && source.name !== profile.name) {
    from = { kind: "assume-role", spec: roleSpecOf(files, env, source, [...chain, profile.name]) };
  } else if (keys !== undefined) {
    from = { kind: "keys", profile: source.name, credentials: keys };
  } else {
    throw new GatehouseConfigError(
      `the source_profile "${sourceName}" of the profile "${profile.name}" has neither keys nor a role_arn`,
      `run \`gatehouse configure --profile ${sourceName}\` to give it access_key_id and secret_access_key`,
    );
  }
  return finishRoleSpec(files, profile, from);
}

/** The {@link AssumeRoleSpec} of a role profile whose source is resolved. */
function finishRoleSpec(files: SharedFiles, profile: Profile, from: AssumeRoleSpec["source"]): AssumeRoleSpec {
  const durationSeconds = durationOf(files, profile);
  return Object.freeze({
    profile: profile.name,
    roleArn: profile.roleArn as string,
    roleSessionName: profile.roleSessionName ?? defaultSessionName(),
    ...(profile.externalId === undefined ? {} : { externalId: profile.externalId }),
    ...(profile.mfaSerial === undefined ? {} : { mfaSerial: profile.mfaSerial }),
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    source: from,
  });
}

/** The `credential_source` values of AWS's shared config. */
const CREDENTIAL_SOURCES = ["Environment", "Ec2InstanceMetadata", "EcsContainer"] as const;

/**
 * The source credentials of `credential_source`: `Environment` reads `GATEHOUSE_ACCESS_KEY_ID` /
 * `GATEHOUSE_SECRET_ACCESS_KEY` (/ `GATEHOUSE_SESSION_TOKEN`). AWS's instance-metadata and
 * container sources have no Gatehouse counterpart, and are refused by name.
 */
function credentialSourceOf(files: SharedFiles, env: Env, profile: Profile): Credentials {
  const value = profile.credentialSource as string;
  const where = `[profile ${profile.name}] of ${files.configDir}/config`;
  if (!(CREDENTIAL_SOURCES as readonly string[]).includes(value)) {
    throw new GatehouseConfigError(
      `the profile "${profile.name}" has credential_source = ${value}, not one of ${CREDENTIAL_SOURCES.join(", ")}`,
      `set credential_source = Environment (or source_profile = <a profile with keys>) in ${where}`,
    );
  }
  if (value !== "Environment") {
    throw new GatehouseConfigError(
      `the profile "${profile.name}" has credential_source = ${value}, which Gatehouse does not support (only Environment): Gatehouse has no instance metadata or container credential service`,
      `use credential_source = Environment with GATEHOUSE_ACCESS_KEY_ID / GATEHOUSE_SECRET_ACCESS_KEY, source_profile, or web_identity_token_file in ${where}`,
    );
  }
  const accessKeyId = nonEmpty(env.GATEHOUSE_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.GATEHOUSE_SECRET_ACCESS_KEY);
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new GatehouseConfigError(
      `the profile "${profile.name}" has credential_source = Environment, and GATEHOUSE_ACCESS_KEY_ID / GATEHOUSE_SECRET_ACCESS_KEY are not set`,
      `set both (and GATEHOUSE_SESSION_TOKEN for temporary keys) in the environment of this process`,
    );
  }
  const sessionToken = nonEmpty(env.GATEHOUSE_SESSION_TOKEN);
  return { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
}

/** A profile's `duration_seconds`, checked (900..43200, as STS takes it). */
function durationOf(files: SharedFiles, profile: Profile): number | undefined {
  if (profile.durationSeconds === undefined) return undefined;
  const durationSeconds = Number(profile.durationSeconds);
  if (!/^\d+$/.test(profile.durationSeconds) || durationSeconds < 900 || durationSeconds > 43_200) {
    throw new GatehouseConfigError(
      `the profile "${profile.name}" has duration_seconds = ${profile.durationSeconds}, not a whole number of seconds in 900..43200`,
      `fix duration_seconds in [profile ${profile.name}] of ${files.configDir}/config (the role's maximum session duration bounds it too)`,
    );
  }
  return durationSeconds;
}

function defaultSessionName(): string {
  return `gatehouse-${Math.floor(Date.now() / 1000)}`;
}

/** The web identity of a profile with `role_arn` + `web_identity_token_file`. */
function webIdentitySpecOf(files: SharedFiles, profile: Profile): WebIdentitySpec {
  if (profile.sourceProfile !== undefined) {
    throw new GatehouseConfigError(
      `the profile "${profile.name}" has both web_identity_token_file and source_profile: its role's credentials come from one of them`,
      `remove one of them from [profile ${profile.name}] in ${files.configDir}/config`,
    );
  }
  const durationSeconds = durationOf(files, profile);
  return Object.freeze({
    profile: profile.name,
    roleArn: profile.roleArn as string,
    tokenFile: profile.webIdentityTokenFile as string,
    roleSessionName: profile.roleSessionName ?? defaultSessionName(),
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
  });
}

/**
 * The web identity of `GATEHOUSE_ROLE_ARN` + `GATEHOUSE_WEB_IDENTITY_TOKEN_FILE` (+
 * `GATEHOUSE_ROLE_SESSION_NAME`), as AWS SDKs read `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`
 * (what EKS injects into a pod). One without the other is refused by name.
 */
function webIdentityOfEnv(env: Env): WebIdentitySpec | undefined {
  const roleArn = nonEmpty(env.GATEHOUSE_ROLE_ARN);
  const tokenFile = nonEmpty(env.GATEHOUSE_WEB_IDENTITY_TOKEN_FILE);
  if (roleArn === undefined && tokenFile === undefined) return undefined;
  if (roleArn === undefined || tokenFile === undefined) {
    const [set, unset] =
      roleArn === undefined
        ? ["GATEHOUSE_WEB_IDENTITY_TOKEN_FILE", "GATEHOUSE_ROLE_ARN"]
        : ["GATEHOUSE_ROLE_ARN", "GATEHOUSE_WEB_IDENTITY_TOKEN_FILE"];
    throw new GatehouseConfigError(
      `${set} is set but ${unset} is not: a web identity needs the role to assume and the file holding the token`,
      `set ${unset} too, or unset ${set}`,
    );
  }
  return Object.freeze({
    roleArn,
    tokenFile,
    roleSessionName: nonEmpty(env.GATEHOUSE_ROLE_SESSION_NAME) ?? defaultSessionName(),
  });
}

/** `region_order` (a list, or `nearest`) → the routing; unknown regions are refused by name. */
function routingOf(
  order: readonly string[] | string | undefined,
  regions: Readonly<Record<string, readonly string[]>>,
): RegionRouting {
  if (order === undefined) return { kind: "home" };
  if (order === "nearest") return { kind: "nearest", regions: Object.keys(regions) };
  const list = typeof order === "string" ? splitEndpoints(order) : [...order];
  if (list.length === 0) return { kind: "home" };
  const missing = list.filter((r) => regions[r] === undefined);
  if (missing.length > 0) {
    throw new GatehouseConfigError(
      `region_order names ${missing.join(", ")}, for which no endpoint is configured`,
      `set endpoint_${missing[0]} = host:port[,host:port…] in the profile, or pass endpoints.regions`,
    );
  }
  return { kind: "ordered", regions: Object.freeze([...new Set(list)]) };
}

/** `nearest` with the configured region first, so it wins ties before anything is measured. */
function nearestFirst(
  routing: { kind: "nearest"; regions: readonly string[] },
  region: string | undefined,
): RegionRouting {
  const rest = routing.regions.filter((r) => r !== region);
  return {
    kind: "nearest",
    regions: Object.freeze(region !== undefined && routing.regions.includes(region) ? [region, ...rest] : rest),
  };
}

export { splitEndpoints };
