import { describe, expect, it } from "vitest";
import { loadControlPlaneConfig } from "./config.ts";

const base = {
  GATEHOUSE_PG_URL: "postgres://postgres@127.0.0.1:5432/gatehouse",
  GATEHOUSE_KAFKA_BROKERS: "127.0.0.1:9092, 127.0.0.1:9093",
  GATEHOUSE_SECRET_KEY: Buffer.alloc(32, 1).toString("base64"),
  GATEHOUSE_OPERATOR_ACCESS_KEY_ID: "AKIAOPERATOR0000",
  GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: "s".repeat(40),
};

describe("control-plane config", () => {
  it("OIDC keys: hourly refresh, https only by default; http to loopback issuers only when asked", () => {
    expect(loadControlPlaneConfig(base).oidc).toEqual({
      refreshIntervalMs: 3_600_000,
      fetch: { timeoutMs: 5000, allowHttpLoopback: false },
    });
    const c = loadControlPlaneConfig({
      ...base,
      GATEHOUSE_CP_OIDC_JWKS_REFRESH_MS: "0",
      GATEHOUSE_CP_OIDC_FETCH_HTTP_LOOPBACK: "true",
    });
    expect(c.oidc).toEqual({ refreshIntervalMs: 0, fetch: { timeoutMs: 5000, allowHttpLoopback: true } });
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_CP_OIDC_FETCH_HTTP_LOOPBACK: "yes" })).toThrow(
      /GATEHOUSE_CP_OIDC_FETCH_HTTP_LOOPBACK="yes"/,
    );
  });

  it("fills defaults and freezes", () => {
    const c = loadControlPlaneConfig({ ...base, PATH: "/bin", GATEHOUSE_QUOTA_GROUPS_PER_USER: "3" });
    expect(c.listen).toEqual({ host: "0.0.0.0", port: 50051 });
    expect(c.kafka.brokers).toEqual(["127.0.0.1:9092", "127.0.0.1:9093"]);
    expect(c.kafka.topic).toBe("gatehouse.changes.v1");
    expect(c.quotas).toEqual({ groupsPerUser: 3 });
    const q = loadControlPlaneConfig({
      ...base,
      GATEHOUSE_QUOTA_TAGS_PER_ENTITY: "60",
      GATEHOUSE_QUOTA_GUARDRAILS_PER_ACCOUNT: "2",
      GATEHOUSE_QUOTA_MFA_DEVICES_PER_USER: "1",
      GATEHOUSE_QUOTA_INSTANCE_PROFILES_PER_ACCOUNT: "10",
      GATEHOUSE_QUOTA_OIDC_PROVIDERS_PER_ACCOUNT: "3",
      GATEHOUSE_QUOTA_CLIENT_IDS_PER_OIDC_PROVIDER: "250",
      GATEHOUSE_QUOTA_THUMBPRINTS_PER_OIDC_PROVIDER: "8",
    }).quotas;
    expect(q).toEqual({
      tagsPerEntity: 60,
      guardrailsPerAccount: 2,
      mfaDevicesPerUser: 1,
      instanceProfilesPerAccount: 10,
      oidcProvidersPerAccount: 3,
      clientIdsPerOidcProvider: 250,
      thumbprintsPerOidcProvider: 8,
    });
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_QUOTA_MFA_DEVICES_PER_USER: "0" })).toThrow(
      /GATEHOUSE_QUOTA_MFA_DEVICES_PER_USER="0"/,
    );
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_QUOTA_THUMBPRINTS_PER_OIDC_PROVIDER: "101" })).toThrow(
      /GATEHOUSE_QUOTA_THUMBPRINTS_PER_OIDC_PROVIDER="101"/,
    );
    expect(c.secretKey).toHaveLength(32);
    expect(Object.isFrozen(c) && Object.isFrozen(c.postgres)).toBe(true);
  });
  it("outbox compaction: a week's retention by default, bounds checked, typos rejected", () => {
    expect(loadControlPlaneConfig(base).outbox).toEqual({
      retentionSeconds: 7 * 86_400,
      compactionIntervalMs: 60_000,
      compactionBatchSize: 1000,
    });
    const tuned = loadControlPlaneConfig({
      ...base,
      GATEHOUSE_OUTBOX_RETENTION: "0",
      GATEHOUSE_OUTBOX_COMPACTION_INTERVAL_MS: "250",
      GATEHOUSE_OUTBOX_COMPACTION_BATCH: "50",
    });
    expect(tuned.outbox).toEqual({ retentionSeconds: 0, compactionIntervalMs: 250, compactionBatchSize: 50 });
    expect(Object.isFrozen(tuned.outbox)).toBe(true);
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_OUTBOX_RETENTION: "-1" })).toThrow(
      /GATEHOUSE_OUTBOX_RETENTION="-1"/,
    );
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_OUTBOX_RETENTION: "1.5" })).toThrow(
      /GATEHOUSE_OUTBOX_RETENTION="1.5"/,
    );
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_OUTBOX_COMPACTION_BATCH: "0" })).toThrow(
      /GATEHOUSE_OUTBOX_COMPACTION_BATCH="0"/,
    );
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_OUTBOX_RETENTON: "60" })).toThrow(
      /unknown control-plane settings: GATEHOUSE_OUTBOX_RETENTON/,
    );
  });
  it("tokens, authentication failures, password hashing and previous secret keys: defaults and bounds", () => {
    const c = loadControlPlaneConfig(base);
    expect(c.clientTokenTtlSeconds).toBe(86_400);
    expect(c.auth).toEqual({
      unknownKeyCacheMs: 5000,
      failuresPerSecond: 1,
      failureBurst: 10,
      lastUsedFlushMs: 60_000,
    });
    expect(c.passwordHashing).toEqual({ concurrency: 2, writesPerAccount: 4 });
    expect(c.previousSecretKeys).toEqual([]);
    const old = [Buffer.alloc(32, 2), Buffer.alloc(32, 3)];
    const tuned = loadControlPlaneConfig({
      ...base,
      GATEHOUSE_CP_CLIENT_TOKEN_TTL: "600",
      GATEHOUSE_CP_AUTH_UNKNOWN_KEY_CACHE_MS: "0",
      GATEHOUSE_CP_AUTH_FAILURES_PER_SECOND: "5",
      GATEHOUSE_CP_AUTH_FAILURE_BURST: "20",
      GATEHOUSE_CP_ACCESS_KEY_LAST_USED_FLUSH_MS: "1000",
      GATEHOUSE_CP_PASSWORD_HASH_CONCURRENCY: "4",
      GATEHOUSE_CP_PASSWORD_WRITES_PER_ACCOUNT: "1",
      GATEHOUSE_SECRET_KEYS_PREVIOUS: old.map((k) => k.toString("base64")).join(", "),
    });
    expect([tuned.clientTokenTtlSeconds, tuned.auth, tuned.passwordHashing]).toEqual([
      600,
      { unknownKeyCacheMs: 0, failuresPerSecond: 5, failureBurst: 20, lastUsedFlushMs: 1000 },
      { concurrency: 4, writesPerAccount: 1 },
    ]);
    expect(tuned.previousSecretKeys.map((k) => Buffer.from(k).toString("hex"))).toEqual(
      old.map((k) => k.toString("hex")),
    );
    expect(Object.isFrozen(tuned.auth) && Object.isFrozen(tuned.passwordHashing)).toBe(true);
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_CP_CLIENT_TOKEN_TTL: "0" })).toThrow(
      /GATEHOUSE_CP_CLIENT_TOKEN_TTL="0"/,
    );
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_CP_ACCESS_KEY_LAST_USED_FLUSH_MS: "99" })).toThrow(
      /GATEHOUSE_CP_ACCESS_KEY_LAST_USED_FLUSH_MS="99"/,
    );
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_CP_PASSWORD_HASH_CONCURRENCY: "65" })).toThrow(
      /GATEHOUSE_CP_PASSWORD_HASH_CONCURRENCY="65"/,
    );
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_SECRET_KEYS_PREVIOUS: "c2hvcnQ=" })).toThrow(
      /GATEHOUSE_SECRET_KEYS_PREVIOUS=\(hidden\): each key must be base64 of exactly 32 bytes/,
    );
  });
  it("change topic: replication factor and min.insync.replicas default to one broker, are checked together", () => {
    expect(loadControlPlaneConfig(base).kafka).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
    const production = loadControlPlaneConfig({
      ...base,
      GATEHOUSE_CHANGES_REPLICATION_FACTOR: "3",
      GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS: "2",
    });
    expect(production.kafka).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(Object.isFrozen(production.kafka)).toBe(true);
    // Equal is allowed (every replica must have it); more in-sync replicas than replicas never acks.
    expect(
      loadControlPlaneConfig({
        ...base,
        GATEHOUSE_CHANGES_REPLICATION_FACTOR: "2",
        GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS: "2",
      }).kafka.minInsyncReplicas,
    ).toBe(2);
    expect(() =>
      loadControlPlaneConfig({
        ...base,
        GATEHOUSE_CHANGES_REPLICATION_FACTOR: "2",
        GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS: "3",
      }),
    ).toThrow(/GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS="3": must not exceed GATEHOUSE_CHANGES_REPLICATION_FACTOR \(2\)/);
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS: "2" })).toThrow(
      /GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS="2"/,
    );
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_CHANGES_REPLICATION_FACTOR: "0" })).toThrow(
      /GATEHOUSE_CHANGES_REPLICATION_FACTOR="0"/,
    );
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_CHANGES_REPLICATION_FACTOR: "33" })).toThrow(
      /GATEHOUSE_CHANGES_REPLICATION_FACTOR="33"/,
    );
  });
  it("relay: byte limits, leadership timings and inline-policy size quotas, with bounds", () => {
    expect(loadControlPlaneConfig(base).relay).toEqual({
      batchSize: 500,
      fallbackPollMs: 5000,
      maxBatchBytes: 900_000,
      maxEventBytes: 1_000_000,
      leaseCheckMs: 1000,
      lockQueryTimeoutMs: 5000,
      takeoverDelayMs: 1000,
      watermarkMs: 1000,
    });
    const tuned = loadControlPlaneConfig({
      ...base,
      GATEHOUSE_CP_RELAY_MAX_BATCH_BYTES: "4000",
      GATEHOUSE_CP_RELAY_MAX_EVENT_BYTES: "8000",
      GATEHOUSE_CP_RELAY_TAKEOVER_DELAY_MS: "0",
      GATEHOUSE_CP_RELAY_WATERMARK_MS: "250",
      GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_USER: "4096",
      GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_GROUP: "1",
      GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_ROLE: "102400",
    });
    expect(tuned.relay).toMatchObject({
      maxBatchBytes: 4000,
      maxEventBytes: 8000,
      takeoverDelayMs: 0,
      watermarkMs: 250,
    });
    expect(tuned.quotas).toEqual({
      inlinePolicyCharsPerUser: 4096,
      inlinePolicyCharsPerGroup: 1,
      inlinePolicyCharsPerRole: 102_400,
    });
    for (const [key, value] of [
      ["GATEHOUSE_CP_RELAY_MAX_BATCH_BYTES", "1023"],
      ["GATEHOUSE_CP_RELAY_MAX_EVENT_BYTES", "abc"],
      ["GATEHOUSE_CP_RELAY_LEASE_CHECK_MS", "9"],
      ["GATEHOUSE_CP_RELAY_WATERMARK_MS", "9"],
      ["GATEHOUSE_CP_RELAY_WATERMARK_MS", "1.5"],
      ["GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_ROLE", "102401"],
      ["GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_USER", "0"],
    ] as const) {
      expect(() => loadControlPlaneConfig({ ...base, [key]: value })).toThrow(`${key}=${JSON.stringify(value)}`);
    }
  });
  it("names every bad value and hides secrets", () => {
    expect(() =>
      loadControlPlaneConfig({ ...base, GATEHOUSE_PG_POOL_SIZE: "0", GATEHOUSE_SECRET_KEY: "c2hvcnQ=" }),
    ).toThrow(/GATEHOUSE_PG_POOL_SIZE="0".*\n.*GATEHOUSE_SECRET_KEY=\(hidden\)/s);
    expect(() => loadControlPlaneConfig({ ...base, GATEHOUSE_CP_LISTN: "x" })).toThrow(/GATEHOUSE_CP_LISTN/);
    expect(() => loadControlPlaneConfig({ GATEHOUSE_PG_URL: "mysql://x" })).toThrow(/GATEHOUSE_PG_URL="mysql:\/\/x"/);
  });
});
