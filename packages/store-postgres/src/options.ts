import { type Clock, systemClock } from "@gatehouse/core";
import { assertSchemaName } from "./migrate.ts";

/** Per-account and per-entity quotas, AWS's defaults unless configured. */
export interface StoreQuotas {
  readonly usersPerAccount: number;
  readonly groupsPerAccount: number;
  readonly rolesPerAccount: number;
  readonly managedPoliciesPerAccount: number;
  readonly groupsPerUser: number;
  readonly attachedPoliciesPerEntity: number;
  readonly accessKeysPerUser: number;
  readonly inlinePoliciesPerEntity: number;
  /** Characters (whitespace excluded) of all of a user's inline policies together. AWS: 2,048. */
  readonly inlinePolicyCharsPerUser: number;
  /** Characters (whitespace excluded) of all of a group's inline policies together. AWS: 5,120. */
  readonly inlinePolicyCharsPerGroup: number;
  /** Characters (whitespace excluded) of all of a role's inline policies together. AWS: 10,240. */
  readonly inlinePolicyCharsPerRole: number;
  readonly tagsPerEntity: number;
  readonly instanceProfilesPerAccount: number;
  readonly oidcProvidersPerAccount: number;
  readonly clientIdsPerOidcProvider: number;
  readonly thumbprintsPerOidcProvider: number;
  /** Resource policies (one per resource ARN) an account may keep. Gatehouse only; default 1,000. */
  readonly resourcePoliciesPerAccount: number;
  readonly guardrailsPerAccount: number;
  readonly mfaDevicesPerUser: number;
}

/** AWS IAM's default quotas. */
export const DEFAULT_QUOTAS: StoreQuotas = Object.freeze({
  usersPerAccount: 5000,
  groupsPerAccount: 300,
  rolesPerAccount: 1000,
  managedPoliciesPerAccount: 1500,
  groupsPerUser: 10,
  attachedPoliciesPerEntity: 10,
  accessKeysPerUser: 2,
  inlinePoliciesPerEntity: 100,
  inlinePolicyCharsPerUser: 2048,
  inlinePolicyCharsPerGroup: 5120,
  inlinePolicyCharsPerRole: 10_240,
  tagsPerEntity: 50,
  instanceProfilesPerAccount: 1000,
  oidcProvidersPerAccount: 100,
  clientIdsPerOidcProvider: 100,
  thumbprintsPerOidcProvider: 5,
  resourcePoliciesPerAccount: 1000,
  guardrailsPerAccount: 5,
  mfaDevicesPerUser: 8,
});

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db`. */
  connectionString: string;
  /** Schema holding the tables; tests use a random one. Default `gatehouse`. */
  schema?: string;
  /** Pool size. Default 10. */
  poolSize?: number;
  /**
   * How many statements of single-call writes (CreateUser, AttachPolicy, PutInlinePolicy) run at
   * once; writes arriving meanwhile share the next statement (group commit, write-batcher.ts).
   * About the database server's cores. Default min(4, poolSize).
   */
  writeConcurrency?: number;
  /**
   * The W3C `traceparent` of the write in progress, stored with its outbox rows so the relay
   * continues its trace (the service passes its telemetry's; unset: rows carry none, and writes
   * pay nothing for it).
   */
  traceContext?: () => string | undefined;
  /** 32-byte AES-256-GCM key that seals access-key secrets and MFA seeds at rest (the newest key). */
  secretKey: Uint8Array;
  /**
   * Keys that sealed earlier values and still open them after a rotation (newest first). New
   * values are always sealed with `secretKey`. Default none.
   */
  previousSecretKeys?: readonly Uint8Array[];
  /** How long a client request token replays its first call's answer, in seconds. Default 86400 (24 h). */
  clientTokenTtlSeconds?: number;
  /**
   * Bounds on argon2 work, which is slow on purpose (a password write verifies up to 24 earlier
   * hashes): `concurrency` hashes at once in the process (others queue), and `writesPerAccount`
   * password writes in progress per account (more are refused with Throttling), so one tenant
   * cannot take every core or the whole queue. Defaults 2 and 4.
   */
  passwordHashing?: { concurrency?: number; writesPerAccount?: number };
  /** ARN partition. Default `aws`. */
  partition?: string;
  quotas?: Partial<StoreQuotas>;
  /** Time for what the store decides itself (TOTP windows); defaults to the wall clock. */
  clock?: Clock;
}

/** {@link PostgresStoreOptions} with defaults filled in, checked and frozen. */
export interface ValidPostgresStoreOptions {
  readonly connectionString: string;
  readonly schema: string;
  readonly poolSize: number;
  readonly writeConcurrency: number;
  readonly secretKey: Uint8Array;
  readonly previousSecretKeys: readonly Uint8Array[];
  readonly clientTokenTtlSeconds: number;
  readonly passwordHashing: { readonly concurrency: number; readonly writesPerAccount: number };
  readonly partition: string;
  readonly quotas: StoreQuotas;
  readonly clock: Clock;
  readonly traceContext: (() => string | undefined) | undefined;
}

const KNOWN = new Set([
  "connectionString",
  "schema",
  "poolSize",
  "writeConcurrency",
  "secretKey",
  "previousSecretKeys",
  "clientTokenTtlSeconds",
  "passwordHashing",
  "partition",
  "quotas",
  "clock",
  "traceContext",
]);

/** Fills defaults and checks bounds; messages carry the bad value; unknown keys are rejected. */
export function validatePostgresStoreOptions(options: PostgresStoreOptions): ValidPostgresStoreOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new Error(`unknown store option ${JSON.stringify(key)}`);
  }
  const schema = options.schema ?? "gatehouse";
  assertSchemaName(schema);
  const poolSize = options.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 500) {
    throw new Error(`poolSize must be an integer in 1..500, got ${poolSize}`);
  }
  const writeConcurrency = options.writeConcurrency ?? Math.min(4, poolSize);
  if (!Number.isInteger(writeConcurrency) || writeConcurrency < 1 || writeConcurrency > poolSize) {
    throw new Error(`writeConcurrency must be an integer in 1..poolSize (${poolSize}), got ${writeConcurrency}`);
  }
  if (!/^postgres(ql)?:\/\//.test(options.connectionString)) {
    throw new Error(`connectionString must be a postgres:// URL, got ${JSON.stringify(options.connectionString)}`);
  }
  if (options.secretKey.length !== 32) {
    throw new Error(`secretKey must be 32 bytes, got ${options.secretKey.length}`);
  }
  const previousSecretKeys = options.previousSecretKeys ?? [];
  previousSecretKeys.forEach((k, i) => {
    if (k.length !== 32) throw new Error(`previousSecretKeys[${i}] must be 32 bytes, got ${k.length}`);
  });
  const clientTokenTtlSeconds = options.clientTokenTtlSeconds ?? 86_400;
  if (!Number.isInteger(clientTokenTtlSeconds) || clientTokenTtlSeconds < 1 || clientTokenTtlSeconds > 366 * 86_400) {
    throw new Error(`clientTokenTtlSeconds must be an integer in 1..${366 * 86_400}, got ${clientTokenTtlSeconds}`);
  }
  const hashConcurrency = options.passwordHashing?.concurrency ?? 2;
  if (!Number.isInteger(hashConcurrency) || hashConcurrency < 1 || hashConcurrency > 64) {
    throw new Error(`passwordHashing.concurrency must be an integer in 1..64, got ${hashConcurrency}`);
  }
  const writesPerAccount = options.passwordHashing?.writesPerAccount ?? 4;
  if (!Number.isInteger(writesPerAccount) || writesPerAccount < 1 || writesPerAccount > 1000) {
    throw new Error(`passwordHashing.writesPerAccount must be an integer in 1..1000, got ${writesPerAccount}`);
  }
  const clock = options.clock ?? systemClock;
  if (typeof clock.now !== "function") throw new Error("clock must have a now() function");
  if (options.traceContext !== undefined && typeof options.traceContext !== "function") {
    throw new Error("traceContext must be a function returning a traceparent");
  }
  const quotas = { ...DEFAULT_QUOTAS, ...options.quotas };
  for (const [name, value] of Object.entries(quotas)) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`quota ${name} must be a positive integer, got ${value}`);
    if (!(name in DEFAULT_QUOTAS)) throw new Error(`unknown quota ${JSON.stringify(name)}`);
  }
  return Object.freeze({
    connectionString: options.connectionString,
    schema,
    poolSize,
    writeConcurrency,
    secretKey: options.secretKey,
    previousSecretKeys: Object.freeze([...previousSecretKeys]),
    clientTokenTtlSeconds,
    passwordHashing: Object.freeze({ concurrency: hashConcurrency, writesPerAccount }),
    partition: options.partition ?? "aws",
    quotas: Object.freeze(quotas),
    clock,
    traceContext: options.traceContext,
  });
}
