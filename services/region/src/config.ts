import {
  accessKeyIdSetting,
  hostPortSetting,
  intSetting as int,
  kafkaBrokersSetting,
  logLevelSetting,
  parseSettings,
  previousSecretKeysSetting,
  rejectUnknownSettings,
  type ShowSetting,
  secretAccessKeySetting,
  secretKeySetting,
  showHidingSecrets,
  topicSetting,
} from "@gatehouse/config";
import { TELEMETRY_ENV_NAMES, type TelemetryOptions, telemetryOptionsFromEnv } from "@gatehouse/telemetry";
import { z } from "zod";

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
  GATEHOUSE_REGION_LISTEN: hostPortSetting().default("0.0.0.0:50061"),
  /** Consumer group of the applier; default `gatehouse-region-<region>`. */
  GATEHOUSE_REGION_CONSUMER_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/)
    .optional(),
  /** Bytes of compiled principals the decider keeps in memory (L1). `2 **`, not `1 <<`: shifts wrap at 32 bits. */
  GATEHOUSE_REGION_L1_MAX_BYTES: int(2 ** 16, 2 ** 34).default(64 * 1024 * 1024),
  GATEHOUSE_KAFKA_BROKERS: kafkaBrokersSetting(),
  GATEHOUSE_CHANGES_TOPIC: topicSetting().default("gatehouse.changes.v1"),
  /**
   * The control plane's secret key (base64 of 32 bytes), the same variable and value: it opens
   * the access-key secrets the change events carry sealed, for Authenticate, and the STS key set
   * and MFA seeds, for STS. Unset: the decider serves neither Authenticate (UNIMPLEMENTED) nor STS,
   * and refuses every session token.
   */
  GATEHOUSE_SECRET_KEY: secretKeySetting().optional(),
  /** Keys rotated out of GATEHOUSE_SECRET_KEY (comma-separated base64), as the control plane's. */
  GATEHOUSE_SECRET_KEYS_PREVIOUS: previousSecretKeysSetting(),
  /**
   * `host:port` of the control plane's gRPC API, where the applier heals gapped accounts and
   * bootstraps an empty view (ExportAccount with sealed secrets, ListAccounts: operator calls).
   */
  GATEHOUSE_REGION_CONTROL_PLANE: hostPortSetting().optional(),
  /** The operator credential the applier signs those calls with (required with the endpoint). */
  GATEHOUSE_REGION_OPERATOR_ACCESS_KEY_ID: accessKeyIdSetting().optional(),
  GATEHOUSE_REGION_OPERATOR_SECRET_ACCESS_KEY: secretAccessKeySetting().optional(),
  /**
   * Lifetime of the applier lease (one active applier per region, standbys wait): a standby takes
   * over at most this long after the active one dies.
   */
  GATEHOUSE_REGION_LEASE_MS: int(300, 600_000).default(5000),
  /** Longest pause between two attempts to heal an account while the control plane fails (ms). */
  GATEHOUSE_REGION_HEAL_BACKOFF_MAX_MS: int(200, 3_600_000).default(30_000),
  /** How an empty view is filled: auto (topic while it holds its start, else exports), topic, export. */
  GATEHOUSE_REGION_BOOTSTRAP: z.enum(["auto", "topic", "export"]).default("auto"),
  /** On SIGTERM/SIGINT: how long in-flight calls may run before the server force-closes (ms). */
  GATEHOUSE_REGION_SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
  /** How often readiness is checked for grpc.health.v1 (ms). */
  GATEHOUSE_REGION_HEALTH_INTERVAL_MS: int(100, 60_000).default(1000),
  /**
   * `host:port` where an applier-only process (`--role applier`, which serves no other gRPC)
   * serves grpc.health.v1 and reflection; unset: it serves none. Decider roles serve them on
   * GATEHOUSE_REGION_LISTEN.
   */
  GATEHOUSE_REGION_HEALTH_LISTEN: hostPortSetting().optional(),
  /**
   * The regional audit topic: the deciders publish STS issuance (allowed or denied), access keys'
   * last use and sampled Authorize decisions to it, and the control plane consumes it into its
   * audit trail. Empty: nothing is recorded.
   */
  GATEHOUSE_REGION_AUDIT_TOPIC: z
    .string()
    .regex(/^([A-Za-z0-9._-]{1,249})?$/, "must be a legal Kafka topic name, or empty")
    .default("gatehouse.region-audit.v1"),
  /** Audit records a decider holds while Kafka is slow or down; beyond it new ones are dropped (counted). */
  GATEHOUSE_REGION_AUDIT_BUFFER: int(100, 10_000_000).default(10_000),
  /** Pause between sends of buffered audit records (ms). */
  GATEHOUSE_REGION_AUDIT_FLUSH_MS: int(10, 60_000).default(200),
  /** An access key's use is reported at most once per this interval (ms): its latest use in it. */
  GATEHOUSE_REGION_KEY_USE_INTERVAL_MS: int(100, 3_600_000).default(60_000),
  /**
   * The share of Authorize decisions recorded on the regional audit topic (0..1, e.g. 0.001):
   * the principal, action, resource, context keys (not their values) and the decision. 0: none,
   * and the Authorize path is the unsampled one.
   */
  GATEHOUSE_REGION_AUTHORIZE_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0),
  GATEHOUSE_LOG_LEVEL: logLevelSetting(),
});

/**
 * Every environment variable a region process reads, from its schema: deployment manifests are
 * checked against this list (deploy/deployment.test.ts), so a renamed setting fails there too.
 */
export const REGION_ENV_NAMES: readonly string[] = Object.freeze([
  ...Object.keys(EnvSchema.shape),
  ...TELEMETRY_ENV_NAMES,
]);

/** A region process's validated, frozen configuration. */
export interface RegionConfig {
  readonly role: RegionRole;
  readonly region: string;
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly kafka: { readonly brokers: readonly string[]; readonly topic: string; readonly groupId: string };
  readonly l1MaxBytes: number;
  /** The control plane the applier heals and bootstraps from; absent: gaps are only reported. */
  readonly controlPlane?: {
    readonly address: string;
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  };
  readonly bootstrap: "auto" | "topic" | "export";
  /** Applier lease TTL in ms. */
  readonly leaseMs: number;
  /** Heal retry backoff: doubles from 200 ms up to this. */
  readonly healBackoffMaxMs: number;
  readonly logLevel: string;
  /** Grace period of a graceful shutdown: in-flight calls may run this long (ms). */
  readonly shutdownGraceMs: number;
  /** How often the readiness probes run (ms). */
  readonly healthIntervalMs: number;
  /** Where an applier-only process serves health (absent: nowhere). */
  readonly healthListen?: { readonly host: string; readonly port: number };
  /** The regional audit topic and its buffer; absent: nothing is recorded. */
  readonly audit?: {
    readonly topic: string;
    readonly maxBuffered: number;
    readonly flushMs: number;
    readonly keyUseIntervalMs: number;
    /** The share of Authorize decisions recorded (0: none). */
    readonly authorizeSampleRate: number;
  };
  /** The secret-box keys opening access-key secrets (Authenticate); absent when not configured. */
  readonly secretKeys?: { readonly key: Uint8Array; readonly previous: readonly Uint8Array[] };
  /**
   * OpenTelemetry (`GATEHOUSE_TELEMETRY`, `GATEHOUSE_METRICS_LISTEN`, the standard `OTEL_*`
   * variables; see `@gatehouse/telemetry`). Off by default. When on, applies continue the write's
   * trace (parent-based sampling) and 1% of Authorize calls without a traced caller start a trace
   * (`OTEL_TRACES_SAMPLER_ARG`).
   */
  readonly telemetry: TelemetryOptions;
}

/** A secret access key is named, never echoed, even malformed; other secrets show as hidden. */
const showSetting: ShowSetting = (key, value) =>
  key.endsWith("_SECRET_ACCESS_KEY") ? key : showHidingSecrets(key, value);

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
  rejectUnknownSettings(EnvSchema, env, ["GATEHOUSE_REGION_"], "region");
  const roleAt = argv.indexOf("--role");
  const roleArg = roleAt === -1 ? "all" : argv[roleAt + 1];
  if (roleArg !== "applier" && roleArg !== "decider" && roleArg !== "all") {
    throw new Error(
      `invalid region configuration:\n  --role=${JSON.stringify(roleArg)}: must be applier, decider or all`,
    );
  }
  const e = parseSettings(EnvSchema, env, "region", showSetting);
  if (e.GATEHOUSE_SECRET_KEY === undefined && e.GATEHOUSE_SECRET_KEYS_PREVIOUS.length > 0) {
    throw new Error(
      "invalid region configuration:\n  GATEHOUSE_SECRET_KEYS_PREVIOUS is set without GATEHOUSE_SECRET_KEY",
    );
  }
  if (e.GATEHOUSE_REGION_AUDIT_TOPIC === "" && e.GATEHOUSE_REGION_AUTHORIZE_SAMPLE_RATE > 0) {
    throw new Error(
      "invalid region configuration:\n  GATEHOUSE_REGION_AUTHORIZE_SAMPLE_RATE is above 0 while GATEHOUSE_REGION_AUDIT_TOPIC is empty (sampled decisions go to that topic)",
    );
  }
  if (e.GATEHOUSE_REGION_BOOTSTRAP === "export" && e.GATEHOUSE_REGION_CONTROL_PLANE === undefined) {
    throw new Error(
      'invalid region configuration:\n  GATEHOUSE_REGION_BOOTSTRAP="export": needs GATEHOUSE_REGION_CONTROL_PLANE to export from',
    );
  }
  const cpKeys = [
    "GATEHOUSE_REGION_CONTROL_PLANE",
    "GATEHOUSE_REGION_OPERATOR_ACCESS_KEY_ID",
    "GATEHOUSE_REGION_OPERATOR_SECRET_ACCESS_KEY",
  ] as const;
  const cpSet = cpKeys.filter((k) => e[k] !== undefined);
  if (cpSet.length > 0 && cpSet.length < cpKeys.length) {
    const missing = cpKeys.filter((k) => e[k] === undefined);
    throw new Error(
      `invalid region configuration:\n  ${missing.join(", ")}: required with ${cpSet.join(", ")} (the control plane and its operator credential go together)`,
    );
  }
  const hostPort = (s: string) => {
    const [host = "0.0.0.0", port = "0"] = s.split(/:(?=\d+$)/);
    return Object.freeze({ host, port: Number(port) });
  };
  return Object.freeze({
    role: roleArg,
    region: e.GATEHOUSE_REGION,
    redisUrl: e.GATEHOUSE_REGION_REDIS_URL,
    keyPrefix: e.GATEHOUSE_REGION_KEY_PREFIX ?? `gatehouse:${e.GATEHOUSE_REGION}:`,
    listen: hostPort(e.GATEHOUSE_REGION_LISTEN),
    kafka: Object.freeze({
      brokers: Object.freeze([...e.GATEHOUSE_KAFKA_BROKERS]),
      topic: e.GATEHOUSE_CHANGES_TOPIC,
      groupId: e.GATEHOUSE_REGION_CONSUMER_GROUP ?? `gatehouse-region-${e.GATEHOUSE_REGION}`,
    }),
    l1MaxBytes: e.GATEHOUSE_REGION_L1_MAX_BYTES,
    ...(e.GATEHOUSE_REGION_CONTROL_PLANE === undefined
      ? {}
      : {
          controlPlane: Object.freeze({
            address: e.GATEHOUSE_REGION_CONTROL_PLANE,
            credentials: Object.freeze({
              accessKeyId: e.GATEHOUSE_REGION_OPERATOR_ACCESS_KEY_ID as string,
              secretAccessKey: e.GATEHOUSE_REGION_OPERATOR_SECRET_ACCESS_KEY as string,
            }),
          }),
        }),
    bootstrap: e.GATEHOUSE_REGION_BOOTSTRAP,
    leaseMs: e.GATEHOUSE_REGION_LEASE_MS,
    healBackoffMaxMs: e.GATEHOUSE_REGION_HEAL_BACKOFF_MAX_MS,
    logLevel: e.GATEHOUSE_LOG_LEVEL,
    shutdownGraceMs: e.GATEHOUSE_REGION_SHUTDOWN_GRACE_MS,
    healthIntervalMs: e.GATEHOUSE_REGION_HEALTH_INTERVAL_MS,
    ...(e.GATEHOUSE_REGION_HEALTH_LISTEN === undefined
      ? {}
      : { healthListen: hostPort(e.GATEHOUSE_REGION_HEALTH_LISTEN) }),
    ...(e.GATEHOUSE_REGION_AUDIT_TOPIC === ""
      ? {}
      : {
          audit: Object.freeze({
            topic: e.GATEHOUSE_REGION_AUDIT_TOPIC,
            maxBuffered: e.GATEHOUSE_REGION_AUDIT_BUFFER,
            flushMs: e.GATEHOUSE_REGION_AUDIT_FLUSH_MS,
            keyUseIntervalMs: e.GATEHOUSE_REGION_KEY_USE_INTERVAL_MS,
            authorizeSampleRate: e.GATEHOUSE_REGION_AUTHORIZE_SAMPLE_RATE,
          }),
        }),
    ...(e.GATEHOUSE_SECRET_KEY === undefined
      ? {}
      : {
          secretKeys: Object.freeze({
            key: e.GATEHOUSE_SECRET_KEY,
            previous: Object.freeze([...e.GATEHOUSE_SECRET_KEYS_PREVIOUS]),
          }),
        }),
    telemetry: telemetryOptionsFromEnv(env, {
      serviceName: `gatehouse-region-${roleArg}`,
      resourceAttributes: { "cloud.region": e.GATEHOUSE_REGION, "gatehouse.role": roleArg },
      sampleRatio: 0.01,
    }),
  });
}
