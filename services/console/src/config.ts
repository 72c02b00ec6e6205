import { resolve } from "node:path";
import { z } from "zod";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, "must be host:port");

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
  /** Sessions held at once; a sign-in beyond ends the least recently used. */
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
  GATEHOUSE_CONSOLE_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

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
  const known = new Set(CONSOLE_ENV_NAMES);
  const unknown = Object.keys(env).filter((k) => k.startsWith("GATEHOUSE_CONSOLE_") && !known.has(k));
  if (unknown.length > 0) throw new Error(`unknown console settings: ${unknown.join(", ")}`);
  const picked = Object.fromEntries([...known].filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));
  const parsed = EnvSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? "");
      return `${key}=${JSON.stringify(env[key])}: ${i.message}`;
    });
    throw new Error(`invalid console settings:\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.data;
  const regions = Object.fromEntries(e.GATEHOUSE_CONSOLE_REGIONS);
  const homeRegion = e.GATEHOUSE_CONSOLE_HOME_REGION ?? (e.GATEHOUSE_CONSOLE_REGIONS[0]?.[0] as string);
  if (regions[homeRegion] === undefined) {
    throw new Error(
      `invalid console settings:\n  GATEHOUSE_CONSOLE_HOME_REGION=${JSON.stringify(homeRegion)}: not one of GATEHOUSE_CONSOLE_REGIONS`,
    );
  }
  const cert = e.GATEHOUSE_CONSOLE_TLS_CERT;
  const key = e.GATEHOUSE_CONSOLE_TLS_KEY;
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error(
      "invalid console settings:\n  GATEHOUSE_CONSOLE_TLS_CERT and GATEHOUSE_CONSOLE_TLS_KEY: set both or neither",
    );
  }
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
  });
}
