import { isIP } from "node:net";
import { resolve } from "node:path";
import {
  hostPortSetting,
  intSetting,
  logLevelSetting,
  parseSettings,
  previousSecretKeysSetting,
  rejectUnknownSettings,
  secretKeySetting,
} from "@gatehouse/config";
import { z } from "zod";

const int = intSetting;
const hostPort = hostPortSetting();

/** An IPv4/IPv6 address or CIDR block (`10.0.0.0/8`, `fd00::/8`). */
function isAddressOrCidr(s: string): boolean {
  const [address = "", bits, extra] = s.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** Where the built web app is when nothing says otherwise: `services/console/web/dist`. */
export const DEFAULT_WEB_DIR = resolve(import.meta.dirname, "../web/dist");

/**
 * Environment variables of the console gateway. Unknown `GATEHOUSE_CONSOLE_*` variables are
 * rejected so typos fail at start-up; other variables are ignored.
 */
const EnvSchema = z.object({
  /** `host:port` the gateway serves HTTP(S) on (port 0 picks a free one). */
  GATEHOUSE_CONSOLE_LISTEN: hostPort.default("127.0.0.1:50080"),
  /** The control plane (ControlService and SignInService). */
  GATEHOUSE_CONSOLE_CONTROL_PLANE: hostPort.default("127.0.0.1:50051"),
  /**
   * The regions, `name=host:port[,host:port…]` separated by `;` (deciders tried in turn), e.g.
   * `us-east-1=127.0.0.1:50061,127.0.0.1:50062;eu-west-1=127.0.0.1:50063`.
   */
  GATEHOUSE_CONSOLE_REGIONS: z
    .string()
    .default("us-east-1=127.0.0.1:50061")
    .transform((s, ctx) => {
      const regions: [string, string[]][] = [];
      for (const part of s
        .split(";")
        .map((p) => p.trim())
        .filter((p) => p !== "")) {
        const m = /^([a-z0-9][a-z0-9-]*)=(.+)$/.exec(part);
        const endpoints = (m?.[2] ?? "").split(",").map((e) => e.trim());
        if (m === null || endpoints.some((e) => !hostPort.safeParse(e).success)) {
          ctx.addIssue({ code: "custom", message: `"${part}" is not region=host:port[,host:port…]` });
          return z.NEVER;
        }
        regions.push([m[1] as string, endpoints]);
      }
      if (regions.length === 0) {
        ctx.addIssue({ code: "custom", message: "must name at least one region" });
        return z.NEVER;
      }
      return regions;
    }),
  /** The region a session's checks and simulations go to by default (default: the first listed). */
  GATEHOUSE_CONSOLE_HOME_REGION: z.string().optional(),
  /** A session ends after this long without a request (default 15 min). */
  GATEHOUSE_CONSOLE_IDLE_TIMEOUT_MS: int(10_000, 86_400_000).default(900_000),
  /** Length of the credentials a sign-in asks for; 0: the control plane's default (12 h). */
  GATEHOUSE_CONSOLE_SESSION_SECONDS: z.union([z.literal(0), int(900, 129_600)]).default(0),
  /**
   * In-memory store: sessions held at once, a sign-in beyond ends the least recently used. With
   * Redis: the sessions this replica keeps a connection for (the store itself expires by TTL only).
   */
  GATEHOUSE_CONSOLE_MAX_SESSIONS: int(1, 1_000_000).default(10_000),
  /** The built web app (`index.html` and its assets). */
  GATEHOUSE_CONSOLE_WEB_DIR: z.string().min(1).optional(),
  /** PEM certificate and key files: serve HTTPS instead of HTTP (both or neither). */
  GATEHOUSE_CONSOLE_TLS_CERT: z.string().min(1).optional(),
  GATEHOUSE_CONSOLE_TLS_KEY: z.string().min(1).optional(),
  /**
   * Origins besides the gateway's own that may sign in (comma-separated, e.g. the web app's Vite
   * dev server `http://localhost:5173`, which proxies `/api` here). Default none.
   */
  GATEHOUSE_CONSOLE_ALLOWED_ORIGINS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((o) => o.trim())
        .filter((o) => o !== ""),
    )
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, "each origin must be scheme://host[:port]")))
    .default([]),
  /** Per-call budget of the gRPC calls the gateway makes, retries included. */
  GATEHOUSE_CONSOLE_CALL_TIMEOUT_MS: int(100, 600_000).default(10_000),
  GATEHOUSE_CONSOLE_LOG_LEVEL: logLevelSetting(),
  /**
   * A Redis (`redis://` or `rediss://`) shared by every replica: sessions and the failed sign-in
   * throttle live there, so any replica serves any session and a restart signs no one out.
   * Unset: sessions live in this process (one replica; `./gw run console`).
   */
  GATEHOUSE_CONSOLE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
    .optional(),
  /** Prefix of every key the gateway writes in that Redis (several consoles may share one). */
  GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,64}$/, "must be 1-64 of A-Z a-z 0-9 : . _ -")
    .default("gatehouse:console:"),
  /** Budget of one Redis command (a session read or write); beyond it the request answers 503. */
  GATEHOUSE_CONSOLE_REDIS_TIMEOUT_MS: int(50, 60_000).default(2000),
  /**
   * Base64 of the 32-byte AES-256-GCM key sealing session records in Redis (they hold temporary
   * credentials); required with GATEHOUSE_CONSOLE_REDIS_URL, the same in every replica.
   */
  GATEHOUSE_CONSOLE_SESSION_SECRET_KEY: secretKeySetting().optional(),
  /** Keys rotated out of GATEHOUSE_CONSOLE_SESSION_SECRET_KEY (comma-separated base64, newest first). */
  GATEHOUSE_CONSOLE_SESSION_SECRET_KEYS_PREVIOUS: previousSecretKeysSetting(),
  /**
   * Addresses or CIDR blocks of the proxies in front of the gateway (comma-separated). Only a
   * request from one of them has its client address taken from X-Forwarded-For (the rightmost
   * address not in this list), and its scheme and host from X-Forwarded-Proto/-Host. Default none:
   * the socket's peer is the client and X-Forwarded-* headers are ignored.
   */
  GATEHOUSE_CONSOLE_TRUSTED_PROXIES: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p !== ""),
    )
    .pipe(z.array(z.string().refine(isAddressOrCidr, "each entry must be an IP address or CIDR block")))
    .default([]),
  /**
   * The gateway's own failed sign-in throttle, shared by the replicas through Redis (with
   * GATEHOUSE_CONSOLE_REDIS_URL only; the control plane throttles too, per process): per account +
   * user name and per client address, a burst then so many a minute.
   */
  GATEHOUSE_CONSOLE_SIGN_IN_USER_FAILURE_BURST: int(1, 10_000).default(5),
  GATEHOUSE_CONSOLE_SIGN_IN_USER_FAILURES_PER_MINUTE: int(1, 60_000).default(5),
  GATEHOUSE_CONSOLE_SIGN_IN_SOURCE_FAILURE_BURST: int(1, 100_000).default(20),
  GATEHOUSE_CONSOLE_SIGN_IN_SOURCE_FAILURES_PER_MINUTE: int(1, 600_000).default(20),
});

/** A failure throttle: a burst, then so many a minute. */
export interface FailureRate {
  readonly burst: number;
  readonly perMinute: number;
}

/** Where sessions live: this process, or a Redis every replica shares (records sealed). */
export type SessionStoreConfig =
  | { readonly kind: "memory" }
  | {
      readonly kind: "redis";
      readonly url: string;
      readonly keyPrefix: string;
      readonly timeoutMs: number;
      readonly secretKey: Uint8Array;
      readonly previousSecretKeys: readonly Uint8Array[];
      /** The shared failed sign-in throttle. */
      readonly signInFailures: { readonly perUser: FailureRate; readonly perSource: FailureRate };
    };

/** The gateway's configuration, validated and frozen. */
export interface ConsoleConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly controlPlane: string;
  /** Region name → its deciders, in the order given (the first is the default home region). */
  readonly regions: Readonly<Record<string, readonly string[]>>;
  readonly homeRegion: string;
  readonly idleTimeoutMs: number;
  /** 0: the control plane's default. */
  readonly sessionSeconds: number;
  readonly maxSessions: number;
  readonly webDir: string;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Origins besides the gateway's own allowed to sign in. */
  readonly allowedOrigins: readonly string[];
  readonly callTimeoutMs: number;
  readonly logLevel: string;
  readonly sessionStore: SessionStoreConfig;
  /** Proxies whose X-Forwarded-For/-Proto/-Host are believed (addresses, CIDR blocks); empty: none. */
  readonly trustedProxies: readonly string[];
}

/** Every variable the gateway reads (the deployment test checks manifests against it). */
export const CONSOLE_ENV_NAMES: readonly string[] = Object.freeze(Object.keys(EnvSchema.shape));

/**
 * The gateway's configuration from `env` (passed in, never read here from `process.env`).
 * Throws one error listing every bad variable with its value.
 *
 * @example
 * const config = loadConsoleConfig({ GATEHOUSE_CONSOLE_LISTEN: "127.0.0.1:0" });
 */
export function loadConsoleConfig(env: Readonly<Record<string, string | undefined>>): ConsoleConfig {
  rejectUnknownSettings(EnvSchema, env, ["GATEHOUSE_CONSOLE_"], "console");
  const e = parseSettings(EnvSchema, env, "console");
  const regions = Object.fromEntries(e.GATEHOUSE_CONSOLE_REGIONS);
  const homeRegion = e.GATEHOUSE_CONSOLE_HOME_REGION ?? (e.GATEHOUSE_CONSOLE_REGIONS[0]?.[0] as string);
  if (regions[homeRegion] === undefined) {
    throw new Error(
      `invalid console configuration:\n  GATEHOUSE_CONSOLE_HOME_REGION=${JSON.stringify(homeRegion)}: not one of GATEHOUSE_CONSOLE_REGIONS`,
    );
  }
  const cert = e.GATEHOUSE_CONSOLE_TLS_CERT;
  const key = e.GATEHOUSE_CONSOLE_TLS_KEY;
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error(
      "invalid console configuration:\n  GATEHOUSE_CONSOLE_TLS_CERT and GATEHOUSE_CONSOLE_TLS_KEY: set both or neither",
    );
  }
  const redisUrl = e.GATEHOUSE_CONSOLE_REDIS_URL;
  const sessionKey = e.GATEHOUSE_CONSOLE_SESSION_SECRET_KEY;
  if (redisUrl !== undefined && sessionKey === undefined) {
    throw new Error(
      "invalid console configuration:\n  GATEHOUSE_CONSOLE_SESSION_SECRET_KEY: required with GATEHOUSE_CONSOLE_REDIS_URL (session records hold credentials and rest sealed)",
    );
  }
  const sessionStore: SessionStoreConfig =
    redisUrl === undefined || sessionKey === undefined
      ? { kind: "memory" }
      : {
          kind: "redis",
          url: redisUrl,
          keyPrefix: e.GATEHOUSE_CONSOLE_REDIS_KEY_PREFIX,
          timeoutMs: e.GATEHOUSE_CONSOLE_REDIS_TIMEOUT_MS,
          secretKey: sessionKey,
          previousSecretKeys: Object.freeze([...e.GATEHOUSE_CONSOLE_SESSION_SECRET_KEYS_PREVIOUS]),
          signInFailures: {
            perUser: {
              burst: e.GATEHOUSE_CONSOLE_SIGN_IN_USER_FAILURE_BURST,
              perMinute: e.GATEHOUSE_CONSOLE_SIGN_IN_USER_FAILURES_PER_MINUTE,
            },
            perSource: {
              burst: e.GATEHOUSE_CONSOLE_SIGN_IN_SOURCE_FAILURE_BURST,
              perMinute: e.GATEHOUSE_CONSOLE_SIGN_IN_SOURCE_FAILURES_PER_MINUTE,
            },
          },
        };
  const [host, port] = e.GATEHOUSE_CONSOLE_LISTEN.split(":") as [string, string];
  return Object.freeze({
    listen: Object.freeze({ host, port: Number(port) }),
    controlPlane: e.GATEHOUSE_CONSOLE_CONTROL_PLANE,
    regions: Object.freeze(regions),
    homeRegion,
    idleTimeoutMs: e.GATEHOUSE_CONSOLE_IDLE_TIMEOUT_MS,
    sessionSeconds: e.GATEHOUSE_CONSOLE_SESSION_SECONDS,
    maxSessions: e.GATEHOUSE_CONSOLE_MAX_SESSIONS,
    webDir: e.GATEHOUSE_CONSOLE_WEB_DIR ?? DEFAULT_WEB_DIR,
    tls: cert === undefined || key === undefined ? undefined : Object.freeze({ certFile: cert, keyFile: key }),
    allowedOrigins: Object.freeze([...e.GATEHOUSE_CONSOLE_ALLOWED_ORIGINS]),
    callTimeoutMs: e.GATEHOUSE_CONSOLE_CALL_TIMEOUT_MS,
    logLevel: e.GATEHOUSE_CONSOLE_LOG_LEVEL,
    sessionStore: Object.freeze(sessionStore),
    trustedProxies: Object.freeze([...e.GATEHOUSE_CONSOLE_TRUSTED_PROXIES]),
  });
}
