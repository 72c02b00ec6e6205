import { z } from "zod";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The roles a region process can play. */
export type RegionRole = "applier" | "decider" | "all";

/**
 * Environment variables of a region process. Unknown `GATEHOUSE_REGION_*` variables are
 * rejected so typos fail at start-up; other variables are ignored.
 */
const EnvSchema = z.object({
  GATEHOUSE_REGION: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, "must be a region name like us-east-1")
    .default("us-east-1"),
  GATEHOUSE_REGION_REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// URL"),
  /** Prefix of every key of the view; default `gatehouse:<region>:`. */
  GATEHOUSE_REGION_KEY_PREFIX: z
    .string()
    .regex(/^[\w.:-]{1,100}$/, "must be 1-100 of [A-Za-z0-9_.:-]")
    .optional(),
  GATEHOUSE_REGION_LISTEN: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, "must be host:port")
    .default("0.0.0.0:50061"),
  /** Consumer group of the applier; default `gatehouse-region-<region>`. */
  GATEHOUSE_REGION_CONSUMER_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/)
    .optional(),
  /** Bytes of compiled principals the decider keeps in memory (L1). */
  GATEHOUSE_REGION_L1_MAX_BYTES: int(1 << 16, 1 << 34).default(64 * 1024 * 1024),
  GATEHOUSE_KAFKA_BROKERS: z
    .string()
    .transform((s) => s.split(",").map((b) => b.trim()))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, "each broker must be host:port")).min(1)),
  GATEHOUSE_CHANGES_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, "must be a legal Kafka topic name")
    .default("gatehouse.changes.v1"),
  /**
   * The control plane's secret key (base64 of 32 bytes), the same variable and value: it opens
   * the access-key secrets the change events carry sealed, for Authenticate, and the STS key set
   * and MFA seeds, for STS. Unset: the decider serves neither Authenticate (UNIMPLEMENTED) nor STS,
   * and refuses every session token.
   */
  GATEHOUSE_SECRET_KEY: z
    .string()
    .transform((s) => Buffer.from(s, "base64"))
    .refine((b) => b.length === 32, "must be base64 of exactly 32 bytes")
    .optional(),
  /** Keys rotated out of GATEHOUSE_SECRET_KEY (comma-separated base64), as the control plane's. */
  GATEHOUSE_SECRET_KEYS_PREVIOUS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k !== "")
        .map((k) => Buffer.from(k, "base64")),
    )
    .refine((keys) => keys.every((b) => b.length === 32), "each key must be base64 of exactly 32 bytes")
    .default([]),
  GATEHOUSE_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** A region process's validated, frozen configuration. */
export interface RegionConfig {
  readonly role: RegionRole;
  readonly region: string;
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly kafka: { readonly brokers: readonly string[]; readonly topic: string; readonly groupId: string };
  readonly l1MaxBytes: number;
  readonly logLevel: string;
  /** The secret-box keys opening access-key secrets (Authenticate); absent when not configured. */
  readonly secretKeys?: { readonly key: Uint8Array; readonly previous: readonly Uint8Array[] };
}

/**
 * Reads the region's configuration from `env` and the role from `argv` (`--role
 * applier|decider|all`, default `all`); nothing else reads them. Throws one error listing every
 * bad setting with its value.
 * @example
 * const config = loadRegionConfig(process.env, process.argv.slice(2));
 */
export function loadRegionConfig(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[],
): RegionConfig {
  const known = new Set(Object.keys(EnvSchema.shape));
  const unknown = Object.keys(env).filter((k) => k.startsWith("GATEHOUSE_REGION_") && !known.has(k));
  if (unknown.length > 0) throw new Error(`unknown region settings: ${unknown.join(", ")}`);
  const roleAt = argv.indexOf("--role");
  const roleArg = roleAt === -1 ? "all" : argv[roleAt + 1];
  if (roleArg !== "applier" && roleArg !== "decider" && roleArg !== "all") {
    throw new Error(
      `invalid region configuration:\n  --role=${JSON.stringify(roleArg)}: must be applier, decider or all`,
    );
  }
  const picked = Object.fromEntries([...known].filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));
  const parsed = EnvSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? "");
      // Keys are never echoed, even malformed ones.
      const value = /SECRET/.test(key) ? "(hidden)" : JSON.stringify(env[key]);
      return `${key}=${value}: ${i.message}`;
    });
    throw new Error(`invalid region configuration:\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.data;
  if (e.GATEHOUSE_SECRET_KEY === undefined && e.GATEHOUSE_SECRET_KEYS_PREVIOUS.length > 0) {
    throw new Error(
      "invalid region configuration:\n  GATEHOUSE_SECRET_KEYS_PREVIOUS is set without GATEHOUSE_SECRET_KEY",
    );
  }
  const [host = "0.0.0.0", port = "0"] = e.GATEHOUSE_REGION_LISTEN.split(/:(?=\d+$)/);
  return Object.freeze({
    role: roleArg,
    region: e.GATEHOUSE_REGION,
    redisUrl: e.GATEHOUSE_REGION_REDIS_URL,
    keyPrefix: e.GATEHOUSE_REGION_KEY_PREFIX ?? `gatehouse:${e.GATEHOUSE_REGION}:`,
    listen: Object.freeze({ host, port: Number(port) }),
    kafka: Object.freeze({
      brokers: Object.freeze([...e.GATEHOUSE_KAFKA_BROKERS]),
      topic: e.GATEHOUSE_CHANGES_TOPIC,
      groupId: e.GATEHOUSE_REGION_CONSUMER_GROUP ?? `gatehouse-region-${e.GATEHOUSE_REGION}`,
    }),
    l1MaxBytes: e.GATEHOUSE_REGION_L1_MAX_BYTES,
    logLevel: e.GATEHOUSE_LOG_LEVEL,
    ...(e.GATEHOUSE_SECRET_KEY === undefined
      ? {}
      : {
          secretKeys: Object.freeze({
            key: e.GATEHOUSE_SECRET_KEY,
            previous: Object.freeze([...e.GATEHOUSE_SECRET_KEYS_PREVIOUS]),
          }),
        }),
  });
}
