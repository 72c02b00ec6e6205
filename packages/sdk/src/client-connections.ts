import { createHash } from "node:crypto";
import type { Credentials } from "@gatehouse/auth";
import type { Clock } from "@gatehouse/core";
import {
  type AssumeRoleRequest,
  type AssumeRoleResponse,
  ControlServiceClient,
  StsServiceClient,
} from "@gatehouse/proto";
import {
  type AssumeRoleSpec,
  type ClientConfig,
  type CredentialProvider,
  GatehouseConfigError,
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

/** How an assumed-role profile's credentials are fetched and refreshed. */
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
 * The cache key of an assumed role: what decides which credentials AssumeRole gives (the role,
 * external id, MFA device, duration, and the source chain), not the default session name.
 */
function cacheKeyOf(spec: AssumeRoleSpec): string {
  const chain = (s: AssumeRoleSpec): unknown => ({
    profile: s.profile,
    roleArn: s.roleArn,
    externalId: s.externalId,
    mfaSerial: s.mfaSerial,
    durationSeconds: s.durationSeconds,
    source: s.source.kind === "keys" ? s.source.credentials.accessKeyId : chain(s.source.spec),
  });
  return createHash("sha256")
    .update(JSON.stringify(chain(spec)))
    .digest("hex")
    .slice(0, 40);
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

/** Calls to a service routed across regions (see {@link ClientConnections.routed}). */
export interface RoutedService {
  call<T>(method: string, request: unknown, idempotent: boolean, options?: CallOptions): Promise<T>;
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
    return undefined;
  }

  /** An assumed role's credentials, refreshed before expiry; a chained source is assumed first. */
  #roleProvider(spec: AssumeRoleSpec): CredentialProvider {
    const source: CredentialProvider =
      spec.source.kind === "keys"
        ? (
            (keys: Credentials) => () =>
              Promise.resolve(keys)
          )(spec.source.credentials)
        : this.#roleProvider(spec.source.spec);
    const sourceKey = spec.source.kind === "keys" ? `keys:${spec.source.profile}` : `role:${spec.source.spec.profile}`;
    const sts = this.routed(StsServiceClient as unknown as ClientConstructor, { provider: source, key: sourceKey });
    const options = this.#options.assumeRole ?? {};
    const cache = options.cache;
    const key = cacheKeyOf(spec);
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
      const fresh = await assume();
      await cache?.set(key, fresh);
      return fresh;
    };
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
      };
      let response: AssumeRoleResponse;
      try {
        // An MFA code is good once: a retry (or another region) would be refused, so none is made.
        response = await sts.call<AssumeRoleResponse>("assumeRole", request, tokenCode === "");
      } catch (e) {
        if (!(e instanceof GatehouseError)) throw e;
        const Class = errorClassOf(e.awsName);
        throw new Class({
          code: e.code,
          awsName: e.awsName,
          message: `assuming ${spec.roleArn} for the profile "${spec.profile}" (AssumeRole): ${e.message}`,
          field: e.field,
          retriable: e.retriable,
          method: e.method,
          cause: e,
        });
      }
      const c = response.credentials;
      if (c === undefined) throw new TypeError("AssumeRole answered without credentials");
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken,
        expiresAtMs: c.expirationMs,
      };
    };
    const refreshing = new RefreshingCredentials({
      fetch,
      ...(options.refreshWindowMs === undefined ? {} : { refreshWindowMs: options.refreshWindowMs }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    return () => refreshing.get();
  }

  #transport(
    service: ClientConstructor,
    endpoints: readonly string[],
    signingRegion: string,
    credentials: CredentialProvider | undefined,
  ): Transport {
    return new Transport({
      service,
      endpoints,
      credentials,
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
      this.#provider,
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
    credentials: { provider: CredentialProvider | undefined; key: string } = { provider: this.#provider, key: "" },
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
      t = this.#transport(service, endpoints, region, credentials.provider);
      byKey.set(key, t);
    }
    return t;
  }

  /**
   * `service` on whichever region the router picks, failing over to the next region when one
   * cannot answer. Each region's calls are signed for that region.
   */
  routed(
    service: ClientConstructor,
    credentials: { provider: CredentialProvider | undefined; key: string } = { provider: this.#provider, key: "" },
  ): RoutedService {
    let byKey = this.#routed.get(service);
    if (byKey === undefined) {
      byKey = new Map();
      this.#routed.set(service, byKey);
    }
    let routed = byKey.get(credentials.key);
    if (routed === undefined) {
      routed = {
        call: <T>(method: string, request: unknown, idempotent: boolean, options: CallOptions = {}) =>
          this.#router.route(options.timeoutMs ?? this.#options.timeoutMs ?? 10_000, idempotent, (region, remaining) =>
            this.region(service, region, credentials).call<T>(method, request, idempotent, {
              ...options,
              timeoutMs: remaining,
            }),
          ),
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
