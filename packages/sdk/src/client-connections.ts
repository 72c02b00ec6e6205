import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Clock } from "@gatehouse/core";
import {
  type AssumeRoleRequest,
  type AssumeRoleResponse,
  type AssumeRoleWithWebIdentityRequest,
  ControlServiceClient,
  StsServiceClient,
} from "@gatehouse/proto";
import {
  type AssumeRoleSpec,
  type ClientConfig,
  type CredentialProvider,
  GatehouseConfigError,
  type WebIdentitySpec,
} from "./client-config.ts";
import { errorClassOf, GatehouseError } from "./errors.ts";
import {
  DEFAULT_REFRESH_WINDOW_MS,
  type ExpiringCredentials,
  RefreshingCredentials,
} from "./refreshing-credentials.ts";
import { RegionRouter } from "./region-router.ts";
import { type RetryOptions, validateRetryOptions } from "./retry.ts";
import { type CallOptions, type ClientConstructor, Transport } from "./transport.ts";

/** How an assumed-role or web-identity profile's credentials are fetched and refreshed. */
export interface AssumeRoleOptions {
  /**
   * Gives the current code of the MFA device a profile's `mfa_serial` names; asked each time the
   * role's credentials are fetched (at first use and at each refresh). Without it, a profile with
   * `mfa_serial` fails with a {@link GatehouseConfigError} saying so.
   */
  readonly mfaCodeProvider?: (serialNumber: string) => Promise<string> | string;
  /** Refresh this long before the credentials expire (default 5 minutes, as the AWS SDKs). */
  readonly refreshWindowMs?: number;
  /** The clock expiry is judged by (default the system's; tests inject one). */
  readonly clock?: Clock;
  /**
   * Where fetched role credentials are kept between processes (the CLI keeps them in
   * `$GATEHOUSE_CONFIG_DIR/cli/cache`, as the AWS CLI does in `~/.aws/cli/cache`): read before the
   * first AssumeRole (used when not within the refresh window of expiry), written after each.
   */
  readonly cache?: CredentialCache;
}

/** A store of assumed-role credentials by a key naming the role and how it is assumed. */
export interface CredentialCache {
  get(key: string): Promise<ExpiringCredentials | undefined> | ExpiringCredentials | undefined;
  set(key: string, credentials: ExpiringCredentials): Promise<void> | void;
}

/**
 * The cache key of an assumed role or web identity: what decides which credentials STS gives
 * (the role, external id, MFA device, duration, token file, and the source chain), not the
 * default session name.
 */
function cacheKeyOf(spec: AssumeRoleSpec | WebIdentitySpec): string {
  const web = (s: WebIdentitySpec): unknown => ({
    profile: s.profile,
    roleArn: s.roleArn,
    tokenFile: s.tokenFile,
    durationSeconds: s.durationSeconds,
  });
  const chain = (s: AssumeRoleSpec): unknown => ({
    profile: s.profile,
    roleArn: s.roleArn,
    externalId: s.externalId,
    mfaSerial: s.mfaSerial,
    durationSeconds: s.durationSeconds,
    source:
      s.source.kind === "keys" || s.source.kind === "environment"
        ? s.source.credentials.accessKeyId
        : s.source.kind === "web-identity"
          ? web(s.source.spec)
          : chain(s.source.spec),
  });
  return createHash("sha256")
    .update(JSON.stringify("source" in spec ? chain(spec) : { webIdentity: web(spec) }))
    .digest("hex")
    .slice(0, 40);
}

/**
 * Whom a region's calls are signed as: a credential provider under a key naming it (one
 * transport per key), or nobody (AssumeRoleWithWebIdentity).
 */
interface Signer {
  readonly provider: CredentialProvider | undefined;
  readonly key: string;
  readonly unsigned?: boolean;
}

const UNSIGNED: Signer = { provider: undefined, key: "unsigned", unsigned: true };

/** The credentials STS answered with, as the SDK keeps them. */
function expiringOf(operation: string, response: AssumeRoleResponse): ExpiringCredentials {
  const c = response.credentials;
  if (c === undefined) throw new TypeError(`${operation} answered without credentials`);
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiresAtMs: c.expirationMs,
  };
}

/** `e` with `context` before its message (same class, code and fields), for errors of credential fetches. */
function explained(e: unknown, context: string): unknown {
  if (!(e instanceof GatehouseError)) return e;
  const Class = errorClassOf(e.awsName);
  return new Class({
    code: e.code,
    awsName: e.awsName,
    message: `${context}: ${e.message}`,
    field: e.field,
    retriable: e.retriable,
    method: e.method,
    region: e.region,
    endpoint: e.endpoint,
    cause: e,
  });
}

/** How calls pick among regions (see {@link RegionRouter}). */
export interface RoutingOptions {
  /** `nearest`: how often round-trip times are measured again (default 30,000 ms; 0: only at start). */
  readonly probeIntervalMs?: number;
  /** A region that failed to answer is tried last for this long (default 10,000 ms). */
  readonly cooldownMs?: number;
}

/** The options the connections are made with (part of {@link GatehouseOptions}). */
export interface ConnectionOptions {
  /** Each call's budget in milliseconds, retries and fail-over included (default 10,000). */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
  /**
   * The region IAM calls are signed for (default `us-east-1`): the control plane's
   * `GATEHOUSE_REGION`, which it verifies signatures against.
   */
  readonly iamSigningRegion?: string;
  /** The clock requests are signed with (tests). */
  readonly clock?: Clock;
  /** Assumed-role profiles: MFA codes, refresh window, clock. */
  readonly assumeRole?: AssumeRoleOptions;
  readonly routing?: RoutingOptions;
}

/** The region IAM (control-plane) calls are signed for, as AWS signs its global IAM endpoint's. */
export const IAM_SIGNING_REGION = "us-east-1";

/** An answer, with the region and endpoint (`host:port`) that gave it. */
export interface Answered<T> {
  readonly value: T;
  readonly region: string;
  readonly endpoint: string;
}

/** Calls to a service routed across regions (see {@link ClientConnections.routed}). */
export interface RoutedService {
  call<T>(method: string, request: unknown, idempotent: boolean, options?: CallOptions): Promise<T>;
  /** {@link call}, with the region and endpoint that answered. */
  answer<T>(method: string, request: unknown, idempotent: boolean, options?: CallOptions): Promise<Answered<T>>;
}

/**
 * The connections, credentials and region routing a client and its sessions share: one
 * transport per (region, service, credentials), the control plane's, the region router, and the
 * credential provider (static keys, a function given, or an assumed role refreshed before expiry).
 */
export class ClientConnections {
  readonly config: ClientConfig;
  readonly #options: ConnectionOptions;
  #control: Transport | undefined;
  /** Per service constructor (their `name`s are all alike), per region and credentials. */
  readonly #transports = new Map<ClientConstructor, Map<string, Transport>>();
  readonly #routed = new Map<ClientConstructor, Map<string, RoutedService>>();
  readonly #router: RegionRouter;
  readonly #provider: CredentialProvider | undefined;

  constructor(config: ClientConfig, options: ConnectionOptions) {
    this.config = config;
    this.#options = options;
    this.#router = new RegionRouter({
      routing: config.routing,
      home: config.region,
      endpoints: config.regions,
      ...options.routing,
    });
    this.#provider = this.#providerOf(config);
  }

  /** The credentials the client's calls are signed with (fetched or refreshed when due). */
  get credentials(): CredentialProvider | undefined {
    return this.#provider;
  }

  /** The router checks and STS calls go through. */
  get router(): RegionRouter {
    return this.#router;
  }

  #providerOf(config: ClientConfig): CredentialProvider | undefined {
    if (config.credentialProvider !== undefined) return config.credentialProvider;
    const keys = config.credentials;
    if (keys !== undefined) return () => Promise.resolve(keys);
    if (config.assumeRole !== undefined) return this.#roleProvider(config.assumeRole);
    if (config.webIdentity !== undefined) return this.#webIdentityProvider(config.webIdentity);
    return undefined;
  }

  /**
   * Credentials fetched by `fetchFresh` (an STS call), refreshed before expiry, one fetch for
   * concurrent callers; the cache, when given, is read before the first fetch and written after each.
   */
  #refreshing(key: string, fetchFresh: () => Promise<ExpiringCredentials>): CredentialProvider {
    const options = this.#options.assumeRole ?? {};
    const cache = options.cache;
    const now = () => (options.clock ?? { now: Date.now }).now();
    let cacheRead = false;
    const fetch = async (): Promise<ExpiringCredentials> => {
      if (cache !== undefined && !cacheRead) {
        cacheRead = true;
        const cached = await cache.get(key);
        if (
          cached !== undefined &&
          now() < cached.expiresAtMs - (options.refreshWindowMs ?? DEFAULT_REFRESH_WINDOW_MS)
        ) {
          return cached;
        }
      }
      const fresh = await fetchFresh();
      await cache?.set(key, fresh);
      return fresh;
    };
    const refreshing = new RefreshingCredentials({
      fetch,
      ...(options.refreshWindowMs === undefined ? {} : { refreshWindowMs: options.refreshWindowMs }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    return () => refreshing.get();
  }

  /** An assumed role's credentials, refreshed before expiry; a chained source is assumed first. */
  #roleProvider(spec: AssumeRoleSpec): CredentialProvider {
    let source: Signer;
    switch (spec.source.kind) {
      case "keys": {
        const keys = spec.source.credentials;
        source = { provider: () => Promise.resolve(keys), key: `keys:${spec.source.profile}` };
        break;
      }
      case "environment": {
        const keys = spec.source.credentials;
        source = { provider: () => Promise.resolve(keys), key: `env:${keys.accessKeyId}` };
        break;
      }
      case "assume-role":
        source = { provider: this.#roleProvider(spec.source.spec), key: `role:${spec.source.spec.profile}` };
        break;
      case "web-identity":
        source = {
          provider: this.#webIdentityProvider(spec.source.spec),
          key: `web-identity:${spec.source.spec.profile}`,
        };
        break;
    }
    const sts = this.routed(StsServiceClient as unknown as ClientConstructor, source);
    const options = this.#options.assumeRole ?? {};
    const assume = async (): Promise<ExpiringCredentials> => {
      let tokenCode = "";
      if (spec.mfaSerial !== undefined) {
        if (options.mfaCodeProvider === undefined) {
          throw new GatehouseConfigError(
            `the profile "${spec.profile}" assumes ${spec.roleArn} with the MFA device ${spec.mfaSerial}, and no MFA code was given`,
            "pass assumeRole.mfaCodeProvider to the SDK; the CLI asks on a terminal or takes --mfa-token-code",
          );
        }
        tokenCode = (await options.mfaCodeProvider(spec.mfaSerial)).trim();
      }
      const request: AssumeRoleRequest = {
        roleArn: spec.roleArn,
        roleSessionName: spec.roleSessionName,
        durationSeconds: spec.durationSeconds ?? 0,
        externalId: spec.externalId ?? "",
        serialNumber: spec.mfaSerial ?? "",
        tokenCode,
        policy: "",
        policyArns: [],
        tags: [],
        minRevision: undefined,
        transitiveTagKeys: [],
        sourceIdentity: "",
      };
      try {
        // An MFA code is good once: a retry (or another region) would be refused, so none is made.
        return expiringOf("AssumeRole", await sts.call<AssumeRoleResponse>("assumeRole", request, tokenCode === ""));
      } catch (e) {
        throw explained(e, `assuming ${spec.roleArn} for the profile "${spec.profile}" (AssumeRole)`);
      }
    };
    return this.#refreshing(cacheKeyOf(spec), assume);
  }

  /**
   * A web identity's credentials: AssumeRoleWithWebIdentity, unsigned (the token is the
   * credential), with the token read from its file at each fetch (its issuer rewrites the file
   * before the token expires), refreshed before expiry like an assumed role's.
   */
  #webIdentityProvider(spec: WebIdentitySpec): CredentialProvider {
    const sts = this.routed(StsServiceClient as unknown as ClientConstructor, UNSIGNED);
    const whose = spec.profile === undefined ? "GATEHOUSE_WEB_IDENTITY_TOKEN_FILE" : `the profile "${spec.profile}"`;
    const assume = async (): Promise<ExpiringCredentials> => {
      let webIdentityToken: string;
      try {
        webIdentityToken = (await readFile(spec.tokenFile, "utf8")).trim();
      } catch (e) {
        throw new GatehouseConfigError(
          `cannot read the web identity token file ${spec.tokenFile} (${whose}): ${(e as Error).message}`,
          "the file is written by the token's issuer (a Kubernetes projected service-account token); check the path and that this process may read it",
        );
      }
      if (webIdentityToken === "") {
        throw new GatehouseConfigError(
          `the web identity token file ${spec.tokenFile} (${whose}) is empty`,
          "the file should hold the OpenID Connect token (a JWT) its issuer wrote",
        );
      }
      const request: AssumeRoleWithWebIdentityRequest = {
        roleArn: spec.roleArn,
        roleSessionName: spec.roleSessionName,
        webIdentityToken,
        durationSeconds: spec.durationSeconds ?? 0,
        policy: "",
        policyArns: [],
      };
      try {
        return expiringOf(
          "AssumeRoleWithWebIdentity",
          await sts.call<AssumeRoleResponse>("assumeRoleWithWebIdentity", request, true),
        );
      } catch (e) {
        throw explained(
          e,
          `assuming ${spec.roleArn} with the web identity token in ${spec.tokenFile} for ${whose} (AssumeRoleWithWebIdentity)`,
        );
      }
    };
    return this.#refreshing(cacheKeyOf(spec), assume);
  }

  #transport(
    service: ClientConstructor,
    endpoints: readonly string[],
    signingRegion: string,
    signer: Signer,
    region?: string,
  ): Transport {
    return new Transport({
      service,
      endpoints,
      credentials: signer.provider,
      ...(signer.unsigned === true ? { unsigned: true } : {}),
      ...(region === undefined ? {} : { region }),
      signingRegion,
      // The region verifies STS calls as AWS STS does: scoped to the signing name `sts`.
      ...((service as unknown) === StsServiceClient ? { signingService: "sts" } : {}),
      retry: validateRetryOptions(this.#options.retry),
      timeoutMs: this.#options.timeoutMs ?? 10_000,
      ...(this.#options.clock === undefined ? {} : { clock: this.#options.clock }),
    });
  }

  /** The control plane (IAM). */
  control(): Transport {
    // IAM is global: like AWS's, its calls are signed for us-east-1 whatever the client's region.
    this.#control ??= this.#transport(
      ControlServiceClient as unknown as ClientConstructor,
      [this.config.controlPlane],
      this.#options.iamSigningRegion ?? IAM_SIGNING_REGION,
      { provider: this.#provider, key: "" },
    );
    return this.#control;
  }

  /**
   * One region's endpoints for `service` (default: the configured region), signed with the
   * client's credentials or those given.
   */
  region(
    service: ClientConstructor,
    region = this.config.region,
    credentials: Signer = { provider: this.#provider, key: "" },
  ): Transport {
    if (region === undefined) {
      throw new GatehouseConfigError(
        "no region: checks, region status and STS go to a region, and none is configured",
        "pass { region }, set GATEHOUSE_REGION, or set region in the profile (`gatehouse configure --region us-east-1`)",
      );
    }
    const endpoints = this.config.regions[region];
    if (endpoints === undefined || endpoints.length === 0) {
      const known = Object.keys(this.config.regions);
      throw new GatehouseConfigError(
        `no endpoint is configured for the region ${region}`,
        `set endpoint_${region} = host:port[,host:port…] in the profile, or pass endpoints.regions["${region}"]${known.length > 0 ? `; configured regions: ${known.join(", ")}` : ""}`,
      );
    }
    let byKey = this.#transports.get(service);
    if (byKey === undefined) {
      byKey = new Map();
      this.#transports.set(service, byKey);
    }
    const key = `${region} ${credentials.key}`;
    let t = byKey.get(key);
    if (t === undefined) {
      t = this.#transport(service, endpoints, region, credentials, region);
      byKey.set(key, t);
    }
    return t;
  }

  /**
   * `service` on whichever region the router picks, failing over to the next region when one
   * cannot answer. Each region's calls are signed for that region.
   */
  routed(service: ClientConstructor, credentials: Signer = { provider: this.#provider, key: "" }): RoutedService {
    let byKey = this.#routed.get(service);
    if (byKey === undefined) {
      byKey = new Map();
      this.#routed.set(service, byKey);
    }
    let routed = byKey.get(credentials.key);
    if (routed === undefined) {
      const answer = <T>(method: string, request: unknown, idempotent: boolean, options: CallOptions = {}) =>
        this.#router.route(
          options.timeoutMs ?? this.#options.timeoutMs ?? 10_000,
          idempotent,
          async (region, remaining): Promise<Answered<T>> => {
            const { value, endpoint } = await this.region(service, region, credentials).answer<T>(
              method,
              request,
              idempotent,
              { ...options, timeoutMs: remaining },
            );
            return { value, region, endpoint };
          },
        );
      routed = {
        answer,
        call: async <T>(method: string, request: unknown, idempotent: boolean, options?: CallOptions) =>
          (await answer<T>(method, request, idempotent, options)).value,
      };
      byKey.set(credentials.key, routed);
    }
    return routed;
  }

  /** Closes every connection and stops probing. */
  close(): void {
    this.#control?.close();
    for (const byKey of this.#transports.values()) for (const t of byKey.values()) t.close();
    this.#transports.clear();
    this.#router.close();
  }
}
