import { describe, expect, it } from "vitest";
import { loadRegionConfig } from "./config.ts";

const env = { GATEHOUSE_REGION_REDIS_URL: "redis://127.0.0.1:6380", GATEHOUSE_KAFKA_BROKERS: "127.0.0.1:9092" };

describe("loadRegionConfig", () => {
  it("fills defaults from the region name and takes the role from argv", () => {
    const c = loadRegionConfig({ ...env, GATEHOUSE_REGION: "eu-west-1" }, ["--role", "decider"]);
    expect(c).toMatchObject({
      role: "decider",
      keyPrefix: "gatehouse:eu-west-1:",
      listen: { host: "0.0.0.0", port: 50061 },
      kafka: { brokers: ["127.0.0.1:9092"], topic: "gatehouse.changes.v1", groupId: "gatehouse-region-eu-west-1" },
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(loadRegionConfig(env, []).role).toBe("all");
  });

  it("takes the shutdown grace, the health interval and an applier's health address, within bounds", () => {
    expect(loadRegionConfig(env, [])).toMatchObject({ shutdownGraceMs: 10_000, healthIntervalMs: 1000 });
    expect(loadRegionConfig(env, []).healthListen).toBeUndefined();
    const c = loadRegionConfig(
      {
        ...env,
        GATEHOUSE_REGION_SHUTDOWN_GRACE_MS: "2500",
        GATEHOUSE_REGION_HEALTH_INTERVAL_MS: "200",
        GATEHOUSE_REGION_HEALTH_LISTEN: "127.0.0.1:50071",
      },
      ["--role", "applier"],
    );
    expect(c).toMatchObject({
      shutdownGraceMs: 2500,
      healthIntervalMs: 200,
      healthListen: { host: "127.0.0.1", port: 50071 },
    });
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_HEALTH_LISTEN: "50071" }, [])).toThrow(
      /GATEHOUSE_REGION_HEALTH_LISTEN="50071": must be host:port/,
    );
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_SHUTDOWN_GRACE_MS: "-1" }, [])).toThrow(
      /GATEHOUSE_REGION_SHUTDOWN_GRACE_MS="-1"/,
    );
  });

  it("takes the L1 size in bytes between 64 KiB and 16 GiB", () => {
    expect(loadRegionConfig(env, []).l1MaxBytes).toBe(64 * 1024 * 1024);
    expect(loadRegionConfig({ ...env, GATEHOUSE_REGION_L1_MAX_BYTES: "536870912" }, []).l1MaxBytes).toBe(536_870_912);
    expect(loadRegionConfig({ ...env, GATEHOUSE_REGION_L1_MAX_BYTES: String(2 ** 34) }, []).l1MaxBytes).toBe(2 ** 34);
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_L1_MAX_BYTES: String(2 ** 34 + 1) }, [])).toThrow(
      /GATEHOUSE_REGION_L1_MAX_BYTES/,
    );
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_L1_MAX_BYTES: "1024" }, [])).toThrow(
      /GATEHOUSE_REGION_L1_MAX_BYTES="1024"/,
    );
  });

  it("names every bad setting with its value, refuses unknown region settings and roles", () => {
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_REDIS_URL: "http://x" }, [])).toThrow(
      /GATEHOUSE_REGION_REDIS_URL="http:\/\/x": must be a redis:\/\/ URL/,
    );
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_L1_MAX_BYTE: "1" }, [])).toThrow(
      /unknown region settings: GATEHOUSE_REGION_L1_MAX_BYTE/,
    );
    expect(() => loadRegionConfig(env, ["--role", "both"])).toThrow(/--role="both": must be applier, decider or all/);
  });

  it("takes the control plane's secret keys (validated, never echoed), or none", () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    const old = Buffer.alloc(32, 9).toString("base64");
    const c = loadRegionConfig({ ...env, GATEHOUSE_SECRET_KEY: key, GATEHOUSE_SECRET_KEYS_PREVIOUS: old }, []);
    expect(Buffer.from(c.secretKeys?.key ?? []).toString("base64")).toBe(key);
    expect(c.secretKeys?.previous.map((k) => Buffer.from(k).toString("base64"))).toEqual([old]);
    expect(loadRegionConfig(env, []).secretKeys).toBeUndefined();
    const short = Buffer.alloc(16, 1).toString("base64");
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_SECRET_KEY: short }, [])).toThrow(
      /GATEHOUSE_SECRET_KEY=\(hidden\): must be base64 of exactly 32 bytes/,
    );
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_SECRET_KEY: short }, [])).not.toThrow(short);
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_SECRET_KEYS_PREVIOUS: old }, [])).toThrow(
      /GATEHOUSE_SECRET_KEYS_PREVIOUS is set without GATEHOUSE_SECRET_KEY/,
    );
  });

  it("takes the control plane with its operator credential, all or none, and never echoes the secret", () => {
    const cp = {
      GATEHOUSE_REGION_CONTROL_PLANE: "cp.internal:50051",
      GATEHOUSE_REGION_OPERATOR_ACCESS_KEY_ID: "AKIAOPERATOR00000000",
      GATEHOUSE_REGION_OPERATOR_SECRET_ACCESS_KEY: "s".repeat(40),
    };
    expect(loadRegionConfig({ ...env, ...cp }, []).controlPlane).toEqual({
      address: "cp.internal:50051",
      credentials: { accessKeyId: "AKIAOPERATOR00000000", secretAccessKey: "s".repeat(40) },
    });
    expect(loadRegionConfig(env, []).controlPlane).toBeUndefined();
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_CONTROL_PLANE: "cp:1" }, [])).toThrow(
      /GATEHOUSE_REGION_OPERATOR_ACCESS_KEY_ID, GATEHOUSE_REGION_OPERATOR_SECRET_ACCESS_KEY: required with GATEHOUSE_REGION_CONTROL_PLANE/,
    );
    expect(() => loadRegionConfig({ ...env, ...cp, GATEHOUSE_REGION_CONTROL_PLANE: "cp" }, [])).toThrow(
      /GATEHOUSE_REGION_CONTROL_PLANE="cp": must be host:port/,
    );
    let message = "";
    try {
      loadRegionConfig({ ...env, ...cp, GATEHOUSE_REGION_OPERATOR_SECRET_ACCESS_KEY: "short-secret" }, []);
    } catch (e) {
      message = String(e);
    }
    expect(message).toMatch(/GATEHOUSE_REGION_OPERATOR_SECRET_ACCESS_KEY: must be at least 32 characters/);
    expect(message).not.toContain("short-secret");
  });

  it("takes the regional audit topic (default, or empty: off), its buffer and the Authorize sample rate", () => {
    expect(loadRegionConfig(env, []).audit).toEqual({
      topic: "gatehouse.region-audit.v1",
      maxBuffered: 10_000,
      flushMs: 200,
      keyUseIntervalMs: 60_000,
      authorizeSampleRate: 0,
    });
    expect(loadRegionConfig({ ...env, GATEHOUSE_REGION_AUDIT_TOPIC: "" }, []).audit).toBeUndefined();
    expect(
      loadRegionConfig({ ...env, GATEHOUSE_REGION_AUTHORIZE_SAMPLE_RATE: "0.001" }, []).audit?.authorizeSampleRate,
    ).toBe(0.001);
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_AUTHORIZE_SAMPLE_RATE: "2" }, [])).toThrow(
      /GATEHOUSE_REGION_AUTHORIZE_SAMPLE_RATE="2"/,
    );
    expect(() =>
      loadRegionConfig({ ...env, GATEHOUSE_REGION_AUDIT_TOPIC: "", GATEHOUSE_REGION_AUTHORIZE_SAMPLE_RATE: "0.5" }, []),
    ).toThrow(/GATEHOUSE_REGION_AUDIT_TOPIC is empty/);
  });

  it("takes the bootstrap mode; export needs a control plane", () => {
    expect(loadRegionConfig(env, []).bootstrap).toBe("auto");
    expect(loadRegionConfig({ ...env, GATEHOUSE_REGION_BOOTSTRAP: "topic" }, []).bootstrap).toBe("topic");
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_BOOTSTRAP: "snapshot" }, [])).toThrow(
      /GATEHOUSE_REGION_BOOTSTRAP="snapshot"/,
    );
    expect(() => loadRegionConfig({ ...env, GATEHOUSE_REGION_BOOTSTRAP: "export" }, [])).toThrow(
      /GATEHOUSE_REGION_BOOTSTRAP="export": needs GATEHOUSE_REGION_CONTROL_PLANE/,
    );
  });
});
