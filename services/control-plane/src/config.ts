import {
  accessKeyIdSetting,
  hostPortSetting,
  intSetting as int,
  kafkaBrokersSetting,
  logLevelSetting,
  parseSettings,
  previousSecretKeysSetting,
  rejectUnknownSettings,
  secretAccessKeySetting,
  secretKeySetting,
  topicSetting,
} from "@gatehouse/config";
import { TELEMETRY_ENV_NAMES, type TelemetryOptions, telemetryOptionsFromEnv } from "@gatehouse/telemetry";
import { z } from "zod";

const optionalInt = (min: number, max: number) => int(min, max).optional();

/**
 * Environment variables of the control plane. Unknown `GATEHOUSE_CP_*` and `GATEHOUSE_OUTBOX_*`
 * variables are rejected so typos fail at start-up; other variables are ignored.
 */
const EnvSchema = z
  .object({
    GATEHOUSE_CP_LISTEN: hostPortSetting().default("0.0.0.0:50051"),
    GATEHOUSE_PG_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
    GATEHOUSE_PG_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case identifier")
      .default("gatehouse"),
    GATEHOUSE_PG_POOL_SIZE: int(1, 500).default(20),
    GATEHOUSE_PG_WRITE_CONCURRENCY: int(1, 500).default(4),
    GATEHOUSE_KAFKA_BROKERS: kafkaBrokersSetting(),
    GATEHOUSE_CHANGES_TOPIC: topicSetting().default("gatehouse.changes.v1"),
    GATEHOUSE_CHANGES_PARTITIONS: int(1, 1000).default(12),
    /** Copies of each partition of the change topic (when it is created). Production: 3. */
    GATEHOUSE_CHANGES_REPLICATION_FACTOR: int(1, 32).default(1),
    /** Replicas that must have an event before the publisher's acks=all returns. Production: 2. */
    GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS: int(1, 32).default(1),
    /** Base64 of 32 random bytes: the AES-256-GCM key sealing access-key secrets at rest. */
    GATEHOUSE_SECRET_KEY: secretKeySetting(),
    /**
     * Comma-separated base64 keys (32 bytes each) rotated out of GATEHOUSE_SECRET_KEY, newest first:
     * they still open what they sealed; GATEHOUSE_SECRET_KEY seals everything new.
     */
    GATEHOUSE_SECRET_KEYS_PREVIOUS: previousSecretKeysSetting(),
    GATEHOUSE_OPERATOR_ACCESS_KEY_ID: accessKeyIdSetting(),
    GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: secretAccessKeySetting(),
    GATEHOUSE_REGION: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, "must be a region name like us-east-1")
      .default("us-east-1"),
    GATEHOUSE_PARTITION: z
      .string()
      .regex(/^[a-z-]+$/)
      .default("aws"),
    GATEHOUSE_LOG_LEVEL: logLevelSetting(),
    /** On SIGTERM/SIGINT: how long in-flight calls may run before the server force-closes (ms). */
    GATEHOUSE_CP_SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
    /** How often readiness (Postgres reachable, migrations applied) is checked for grpc.health.v1 (ms). */
    GATEHOUSE_CP_HEALTH_INTERVAL_MS: int(100, 60_000).default(1000),
    GATEHOUSE_CP_RELAY_BATCH: int(1, 10_000).default(500),
    GATEHOUSE_CP_RELAY_POLL_MS: int(100, 600_000).default(5000),
    /** Bytes of events per Kafka send: below the topic's max.message.bytes. */
    GATEHOUSE_CP_RELAY_MAX_BATCH_BYTES: int(1024, 1 << 30).default(900_000),
    /** An event larger than this is parked unsent. */
    GATEHOUSE_CP_RELAY_MAX_EVENT_BYTES: int(1024, 1 << 30).default(1_000_000),
    GATEHOUSE_CP_RELAY_LEASE_CHECK_MS: int(10, 600_000).default(1000),
    GATEHOUSE_CP_RELAY_LOCK_TIMEOUT_MS: int(100, 600_000).default(5000),
    GATEHOUSE_CP_RELAY_TAKEOVER_DELAY_MS: int(0, 600_000).default(1000),
    /** Interval of the leader's heartbeat watermarks to every partition of the change topic. */
    GATEHOUSE_CP_RELAY_WATERMARK_MS: int(10, 600_000).default(1000),
    /** Seconds a published outbox row is kept after it was superseded (exports reach this far back). */
    GATEHOUSE_OUTBOX_RETENTION: int(0, 10 * 366 * 86_400).default(7 * 86_400),
    GATEHOUSE_OUTBOX_COMPACTION_INTERVAL_MS: int(100, 86_400_000).default(60_000),
    GATEHOUSE_OUTBOX_COMPACTION_BATCH: int(1, 10_000).default(1000),
    /** Seconds a client request token replays its first answer (then it is pruned). */
    GATEHOUSE_CP_CLIENT_TOKEN_TTL: int(1, 366 * 86_400).default(86_400),
    /** Milliseconds an unknown access key id is remembered as unknown (0 disables). */
    GATEHOUSE_CP_AUTH_UNKNOWN_KEY_CACHE_MS: int(0, 3_600_000).default(5000),
    /** Failed authentications one access key id may cause per second, sustained, and in a burst. */
    GATEHOUSE_CP_AUTH_FAILURES_PER_SECOND: int(1, 100_000).default(1),
    GATEHOUSE_CP_AUTH_FAILURE_BURST: int(1, 100_000).default(10),
    /** Console sign-in (SignInService): the session length when the request asks for none (users; the root at most 1 h). */
    GATEHOUSE_CP_CONSOLE_SESSION_SECONDS: int(900, 129_600).default(43_200),
    /**
     * Failed console sign-ins one account + user name may cause, in a burst and then per minute;
     * and one source (the calling peer with the address it reports), likewise.
     */
    GATEHOUSE_CP_SIGN_IN_USER_FAILURE_BURST: int(1, 10_000).default(5),
    GATEHOUSE_CP_SIGN_IN_USER_FAILURES_PER_MINUTE: int(1, 60_000).default(5),
    GATEHOUSE_CP_SIGN_IN_SOURCE_FAILURE_BURST: int(1, 100_000).default(20),
    GATEHOUSE_CP_SIGN_IN_SOURCE_FAILURES_PER_MINUTE: int(1, 600_000).default(20),
    /** Milliseconds between writes of access keys' last use (each key at most once per interval). */
    GATEHOUSE_CP_ACCESS_KEY_LAST_USED_FLUSH_MS: int(100, 86_400_000).default(60_000),
    /** argon2 hashes (password writes, reuse checks, ChangePassword) running at once in the process. */
    GATEHOUSE_CP_PASSWORD_HASH_CONCURRENCY: int(1, 64).default(2),
    /** Password writes one account may have in progress at once; more are refused with Throttling. */
    GATEHOUSE_CP_PASSWORD_WRITES_PER_ACCOUNT: int(1, 1000).default(4),
    /**
     * Mean milliseconds between refreshes of the JWKS documents the control plane fetched from
     * OIDC issuers (each pause jittered ±20%); 0 turns the refresher off.
     */
    GATEHOUSE_CP_OIDC_JWKS_REFRESH_MS: int(0, 7 * 86_400_000).default(3_600_000),
    /** Time one issuer's discovery and JWKS fetch may take, redirects and bodies included (ms). */
    GATEHOUSE_CP_OIDC_FETCH_TIMEOUT_MS: int(100, 60_000).default(5000),
    /**
     * "true": read the keys of an issuer on a loopback address (127.0.0.0/8, ::1, localhost), over
     * plain http too. For tests and local stacks only; every other issuer is read over https, and
     * without it a loopback address is refused like a private one (oidc-keys.ts, SSRF).
     */
    GATEHOUSE_CP_OIDC_FETCH_HTTP_LOOPBACK: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    GATEHOUSE_QUOTA_USERS_PER_ACCOUNT: optionalInt(1, 1_000_000),
    GATEHOUSE_QUOTA_GROUPS_PER_ACCOUNT: optionalInt(1, 100_000),
    GATEHOUSE_QUOTA_ROLES_PER_ACCOUNT: optionalInt(1, 100_000),
    GATEHOUSE_QUOTA_MANAGED_POLICIES_PER_ACCOUNT: optionalInt(1, 100_000),
    GATEHOUSE_QUOTA_GROUPS_PER_USER: optionalInt(1, 1000),
    /** The audit trail's Kafka topic (Gatehouse's CloudTrail). */
    GATEHOUSE_CP_AUDIT_TOPIC: topicSetting().default("gatehouse.audit.v1"),
    /** Days an audit event is kept in Postgres; older ones are deleted by the housekeeping timer. */
    GATEHOUSE_CP_AUDIT_RETENTION_DAYS: int(1, 36_500).default(90),
    /** Audit events per Kafka send, and the pause of the audit relay when it is idle. */
    GATEHOUSE_CP_AUDIT_RELAY_BATCH: int(1, 10_000).default(500),
    GATEHOUSE_CP_AUDIT_RELAY_POLL_MS: int(10, 600_000).default(500),
    /**
     * The regional audit topic the regions publish STS issuance, access keys' last use and sampled
     * decisions to; the control plane consumes it into the audit trail and the access keys.
     * Empty: not consumed.
     */
    GATEHOUSE_CP_REGION_AUDIT_TOPIC: z
      .string()
      .regex(/^([A-Za-z0-9._-]{1,249})?$/, "must be a legal Kafka topic name, or empty")
      .default("gatehouse.region-audit.v1"),
    /** Its consumer group (shared by the replicas); default `gatehouse-control-plane-<schema>`. */
    GATEHOUSE_CP_REGION_AUDIT_GROUP: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,200}$/)
      .optional(),
    GATEHOUSE_QUOTA_ATTACHED_POLICIES_PER_ENTITY: optionalInt(1, 1000),
    GATEHOUSE_QUOTA_ACCESS_KEYS_PER_USER: optionalInt(1, 100),
    GATEHOUSE_QUOTA_INSTANCE_PROFILES_PER_ACCOUNT: optionalInt(1, 100_000),
    GATEHOUSE_QUOTA_OIDC_PROVIDERS_PER_ACCOUNT: optionalInt(1, 10_000),
    GATEHOUSE_QUOTA_CLIENT_IDS_PER_OIDC_PROVIDER: optionalInt(1, 10_000),
    GATEHOUSE_QUOTA_THUMBPRINTS_PER_OIDC_PROVIDER: optionalInt(1, 100),
    GATEHOUSE_QUOTA_TAGS_PER_ENTITY: optionalInt(1, 1000),
    GATEHOUSE_QUOTA_GUARDRAILS_PER_ACCOUNT: optionalInt(1, 100),
    GATEHOUSE_QUOTA_MFA_DEVICES_PER_USER: optionalInt(1, 100),
    GATEHOUSE_QUOTA_RESOURCE_POLICIES_PER_ACCOUNT: optionalInt(1, 1_000_000),
    // Characters (whitespace excluded) of all inline policies of one user / group / role together.
    // Every inline policy of an entity travels in its one state event: keep these well below the
    // relay's GATEHOUSE_CP_RELAY_MAX_EVENT_BYTES.
    GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_USER: optionalInt(1, 102_400),
    GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_GROUP: optionalInt(1, 102_400),
    GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_ROLE: optionalInt(1, 102_400),
  })
  .superRefine((e, ctx) => {
    if (e.GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS > e.GATEHOUSE_CHANGES_REPLICATION_FACTOR) {
      ctx.addIssue({
        code: "custom",
        path: ["GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS"],
        message: `must not exceed GATEHOUSE_CHANGES_REPLICATION_FACTOR (${e.GATEHOUSE_CHANGES_REPLICATION_FACTOR}): no write could ever be acknowledged`,
      });
    }
  });

const OWN_PREFIXES = ["GATEHOUSE_CP_", "GATEHOUSE_OUTBOX_"];

/**
 * Every environment variable the control plane reads, from its schema: deployment manifests are
 * checked against this list (deploy/deployment.test.ts), so a renamed setting fails there too.
 */
export const CONTROL_PLANE_ENV_NAMES: readonly string[] = Object.freeze([
  ...Object.keys(EnvSchema.shape),
  ...TELEMETRY_ENV_NAMES,
]);

/** The control plane's validated, frozen configuration. */
export interface ControlPlaneConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly postgres: {
    readonly url: string;
    readonly schema: string;
    readonly poolSize: number;
    /** Statements of single-call writes at once (group commit beyond that). */
    readonly writeConcurrency: number;
  };
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly topic: string;
    readonly partitions: number;
    readonly replicationFactor: number;
    readonly minInsyncReplicas: number;
  };
  readonly secretKey: Uint8Array;
  /** Keys rotated out: they open what they sealed, never seal. */
  readonly previousSecretKeys: readonly Uint8Array[];
  /** Seconds a client request token replays its first answer. */
  readonly clientTokenTtlSeconds: number;
  /** Failed-authentication defences: unknown key ids cached, failures rate-limited per key id. */
  readonly auth: {
    readonly unknownKeyCacheMs: number;
    readonly failuresPerSecond: number;
    readonly failureBurst: number;
    /** Pause between batched writes of access keys' last use. */
    readonly lastUsedFlushMs: number;
  };
  /** Console sign-in: session length and failure throttling (per account + user name, per source). */
  readonly signIn: {
    readonly sessionSeconds: number;
    readonly userFailureBurst: number;
    readonly userFailuresPerMinute: number;
    readonly sourceFailureBurst: number;
    readonly sourceFailuresPerMinute: number;
  };
  /** Bounds on argon2 work: at once in the process, and password writes in progress per account. */
  readonly passwordHashing: { readonly concurrency: number; readonly writesPerAccount: number };
  readonly operator: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly region: string;
  readonly partition: string;
  readonly logLevel: string;
  /** Grace period of a graceful shutdown: in-flight calls may run this long (ms). */
  readonly shutdownGraceMs: number;
  /** How often the readiness probes run (ms). */
  readonly healthIntervalMs: number;
  readonly relay: {
    readonly batchSize: number;
    readonly fallbackPollMs: number;
    readonly maxBatchBytes: number;
    readonly maxEventBytes: number;
    readonly leaseCheckMs: number;
    readonly lockQueryTimeoutMs: number;
    readonly takeoverDelayMs: number;
    readonly watermarkMs: number;
  };
  /** Outbox compaction: what is kept, how often a pass runs, rows per statement. */
  readonly outbox: {
    readonly retentionSeconds: number;
    readonly compactionIntervalMs: number;
    readonly compactionBatchSize: number;
  };
  /** The audit trail: its topic, how long Postgres keeps it, and its relay's batch and idle pause. */
  readonly audit: {
    readonly topic: string;
    readonly retentionDays: number;
    readonly relayBatchSize: number;
    readonly relayPollMs: number;
    /** The regional audit topic and its consumer group; absent: not consumed. */
    readonly regions?: { readonly topic: string; readonly groupId: string };
  };
  /** OIDC issuers' keys: how they are fetched, and how often fetched ones are refreshed (0: never). */
  readonly oidc: {
    readonly refreshIntervalMs: number;
    readonly fetch: { readonly timeoutMs: number; readonly allowHttpLoopback: boolean };
  };
  readonly quotas: Readonly<Record<string, number>>;
  /**
   * OpenTelemetry (`GATEHOUSE_TELEMETRY`, `GATEHOUSE_METRICS_LISTEN`, the standard `OTEL_*`
   * variables; see `@gatehouse/telemetry`). Off by default; when on, every write is traced unless
   * `OTEL_TRACES_SAMPLER_ARG` lowers the ratio.
   */
  readonly telemetry: TelemetryOptions;
}

/**
 * Reads the control plane's configuration from `env` (pass `process.env`; nothing else reads it).
 * Throws one error listing every bad variable with its value (secrets are not echoed).
 *
 * @example
 * const config = loadControlPlaneConfig(process.env);
 */
export function loadControlPlaneConfig(env: Readonly<Record<string, string | undefined>>): ControlPlaneConfig {
  rejectUnknownSettings(EnvSchema, env, OWN_PREFIXES, "control-plane");
  const e = parseSettings(EnvSchema, env, "control-plane");
  const [host = "0.0.0.0", port = "0"] = e.GATEHOUSE_CP_LISTEN.split(/:(?=\d+$)/);
  const quotas: Record<string, number> = {};
  const q = (name: string, value: number | undefined) => {
    if (value !== undefined) quotas[name] = value;
  };
  q("usersPerAccount", e.GATEHOUSE_QUOTA_USERS_PER_ACCOUNT);
  q("groupsPerAccount", e.GATEHOUSE_QUOTA_GROUPS_PER_ACCOUNT);
  q("rolesPerAccount", e.GATEHOUSE_QUOTA_ROLES_PER_ACCOUNT);
  q("managedPoliciesPerAccount", e.GATEHOUSE_QUOTA_MANAGED_POLICIES_PER_ACCOUNT);
  q("groupsPerUser", e.GATEHOUSE_QUOTA_GROUPS_PER_USER);
  q("attachedPoliciesPerEntity", e.GATEHOUSE_QUOTA_ATTACHED_POLICIES_PER_ENTITY);
  q("accessKeysPerUser", e.GATEHOUSE_QUOTA_ACCESS_KEYS_PER_USER);
  q("instanceProfilesPerAccount", e.GATEHOUSE_QUOTA_INSTANCE_PROFILES_PER_ACCOUNT);
  q("oidcProvidersPerAccount", e.GATEHOUSE_QUOTA_OIDC_PROVIDERS_PER_ACCOUNT);
  q("clientIdsPerOidcProvider", e.GATEHOUSE_QUOTA_CLIENT_IDS_PER_OIDC_PROVIDER);
  q("thumbprintsPerOidcProvider", e.GATEHOUSE_QUOTA_THUMBPRINTS_PER_OIDC_PROVIDER);
  q("tagsPerEntity", e.GATEHOUSE_QUOTA_TAGS_PER_ENTITY);
  q("guardrailsPerAccount", e.GATEHOUSE_QUOTA_GUARDRAILS_PER_ACCOUNT);
  q("mfaDevicesPerUser", e.GATEHOUSE_QUOTA_MFA_DEVICES_PER_USER);
  q("resourcePoliciesPerAccount", e.GATEHOUSE_QUOTA_RESOURCE_POLICIES_PER_ACCOUNT);
  q("inlinePolicyCharsPerUser", e.GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_USER);
  q("inlinePolicyCharsPerGroup", e.GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_GROUP);
  q("inlinePolicyCharsPerRole", e.GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_ROLE);
  const config: ControlPlaneConfig = {
    listen: Object.freeze({ host, port: Number(port) }),
    postgres: Object.freeze({
      url: e.GATEHOUSE_PG_URL,
      schema: e.GATEHOUSE_PG_SCHEMA,
      poolSize: e.GATEHOUSE_PG_POOL_SIZE,
      writeConcurrency: Math.min(e.GATEHOUSE_PG_WRITE_CONCURRENCY, e.GATEHOUSE_PG_POOL_SIZE),
    }),
    kafka: Object.freeze({
      brokers: Object.freeze([...e.GATEHOUSE_KAFKA_BROKERS]),
      topic: e.GATEHOUSE_CHANGES_TOPIC,
      partitions: e.GATEHOUSE_CHANGES_PARTITIONS,
      replicationFactor: e.GATEHOUSE_CHANGES_REPLICATION_FACTOR,
      minInsyncReplicas: e.GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS,
    }),
    secretKey: e.GATEHOUSE_SECRET_KEY,
    previousSecretKeys: Object.freeze([...e.GATEHOUSE_SECRET_KEYS_PREVIOUS]),
    clientTokenTtlSeconds: e.GATEHOUSE_CP_CLIENT_TOKEN_TTL,
    auth: Object.freeze({
      unknownKeyCacheMs: e.GATEHOUSE_CP_AUTH_UNKNOWN_KEY_CACHE_MS,
      failuresPerSecond: e.GATEHOUSE_CP_AUTH_FAILURES_PER_SECOND,
      failureBurst: e.GATEHOUSE_CP_AUTH_FAILURE_BURST,
      lastUsedFlushMs: e.GATEHOUSE_CP_ACCESS_KEY_LAST_USED_FLUSH_MS,
    }),
    signIn: Object.freeze({
      sessionSeconds: e.GATEHOUSE_CP_CONSOLE_SESSION_SECONDS,
      userFailureBurst: e.GATEHOUSE_CP_SIGN_IN_USER_FAILURE_BURST,
      userFailuresPerMinute: e.GATEHOUSE_CP_SIGN_IN_USER_FAILURES_PER_MINUTE,
      sourceFailureBurst: e.GATEHOUSE_CP_SIGN_IN_SOURCE_FAILURE_BURST,
      sourceFailuresPerMinute: e.GATEHOUSE_CP_SIGN_IN_SOURCE_FAILURES_PER_MINUTE,
    }),
    passwordHashing: Object.freeze({
      concurrency: e.GATEHOUSE_CP_PASSWORD_HASH_CONCURRENCY,
      writesPerAccount: e.GATEHOUSE_CP_PASSWORD_WRITES_PER_ACCOUNT,
    }),
    operator: Object.freeze({
      accessKeyId: e.GATEHOUSE_OPERATOR_ACCESS_KEY_ID,
      secretAccessKey: e.GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY,
    }),
    region: e.GATEHOUSE_REGION,
    partition: e.GATEHOUSE_PARTITION,
    logLevel: e.GATEHOUSE_LOG_LEVEL,
    shutdownGraceMs: e.GATEHOUSE_CP_SHUTDOWN_GRACE_MS,
    healthIntervalMs: e.GATEHOUSE_CP_HEALTH_INTERVAL_MS,
    relay: Object.freeze({
      batchSize: e.GATEHOUSE_CP_RELAY_BATCH,
      fallbackPollMs: e.GATEHOUSE_CP_RELAY_POLL_MS,
      maxBatchBytes: e.GATEHOUSE_CP_RELAY_MAX_BATCH_BYTES,
      maxEventBytes: e.GATEHOUSE_CP_RELAY_MAX_EVENT_BYTES,
      leaseCheckMs: e.GATEHOUSE_CP_RELAY_LEASE_CHECK_MS,
      lockQueryTimeoutMs: e.GATEHOUSE_CP_RELAY_LOCK_TIMEOUT_MS,
      takeoverDelayMs: e.GATEHOUSE_CP_RELAY_TAKEOVER_DELAY_MS,
      watermarkMs: e.GATEHOUSE_CP_RELAY_WATERMARK_MS,
    }),
    outbox: Object.freeze({
      retentionSeconds: e.GATEHOUSE_OUTBOX_RETENTION,
      compactionIntervalMs: e.GATEHOUSE_OUTBOX_COMPACTION_INTERVAL_MS,
      compactionBatchSize: e.GATEHOUSE_OUTBOX_COMPACTION_BATCH,
    }),
    audit: Object.freeze({
      topic: e.GATEHOUSE_CP_AUDIT_TOPIC,
      retentionDays: e.GATEHOUSE_CP_AUDIT_RETENTION_DAYS,
      relayBatchSize: e.GATEHOUSE_CP_AUDIT_RELAY_BATCH,
      relayPollMs: e.GATEHOUSE_CP_AUDIT_RELAY_POLL_MS,
      ...(e.GATEHOUSE_CP_REGION_AUDIT_TOPIC === ""
        ? {}
        : {
            regions: Object.freeze({
              topic: e.GATEHOUSE_CP_REGION_AUDIT_TOPIC,
              groupId: e.GATEHOUSE_CP_REGION_AUDIT_GROUP ?? `gatehouse-control-plane-${e.GATEHOUSE_PG_SCHEMA}`,
            }),
          }),
    }),
    oidc: Object.freeze({
      refreshIntervalMs: e.GATEHOUSE_CP_OIDC_JWKS_REFRESH_MS,
      fetch: Object.freeze({
        timeoutMs: e.GATEHOUSE_CP_OIDC_FETCH_TIMEOUT_MS,
        allowHttpLoopback: e.GATEHOUSE_CP_OIDC_FETCH_HTTP_LOOPBACK,
      }),
    }),
    quotas: Object.freeze(quotas),
    telemetry: telemetryOptionsFromEnv(env, {
      serviceName: "gatehouse-control-plane",
      resourceAttributes: { "cloud.region": e.GATEHOUSE_REGION },
      sampleRatio: 1,
    }),
  };
  return Object.freeze(config);
}
