import { describe, expect, it } from "vitest";
import { DEFAULT_WEB_DIR, loadConsoleConfig } from "./config.ts";

describe("loadConsoleConfig", () => {
  it("has the local stack's defaults", () => {
    expect(loadConsoleConfig({})).toMatchObject({
      listen: { host: "127.0.0.1", port: 50080 },
      controlPlane: "127.0.0.1:50051",
      regions: { "us-east-1": ["127.0.0.1:50061"] },
      homeRegion: "us-east-1",
      idleTimeoutMs: 900_000,
      sessionSeconds: 0,
      webDir: DEFAULT_WEB_DIR,
      tls: undefined,
    });
  });

  it("reads regions with several deciders and a home region", () => {
    const c = loadConsoleConfig({
      GATEHOUSE_CONSOLE_REGIONS: "us-east-1=127.0.0.1:50061,127.0.0.1:50062; eu-west-1=10.0.0.2:50063",
      GATEHOUSE_CONSOLE_HOME_REGION: "eu-west-1",
    });
    expect(c.regions).toEqual({ "us-east-1": ["127.0.0.1:50061", "127.0.0.1:50062"], "eu-west-1": ["10.0.0.2:50063"] });
    expect(c.homeRegion).toBe("eu-west-1");
  });

  it("reads the extra origins allowed to sign in", () => {
    expect(loadConsoleConfig({}).allowedOrigins).toEqual([]);
    expect(
      loadConsoleConfig({ GATEHOUSE_CONSOLE_ALLOWED_ORIGINS: "http://localhost:5173, https://console.example" })
        .allowedOrigins,
    ).toEqual(["http://localhost:5173", "https://console.example"]);
    expect(() => loadConsoleConfig({ GATEHOUSE_CONSOLE_ALLOWED_ORIGINS: "localhost:5173" })).toThrow(
      /GATEHOUSE_CONSOLE_ALLOWED_ORIGINS/,
    );
  });

  it("names each bad setting with its value, and refuses unknown ones", () => {
    expect(() => loadConsoleConfig({ GATEHOUSE_CONSOLE_REGIONS: "us-east-1" })).toThrow(
      /GATEHOUSE_CONSOLE_REGIONS="us-east-1": "us-east-1" is not region=host:port/,
    );
    expect(() => loadConsoleConfig({ GATEHOUSE_CONSOLE_IDLE_TIMEOUT_MS: "5" })).toThrow(
      /GATEHOUSE_CONSOLE_IDLE_TIMEOUT_MS="5"/,
    );
    expect(() => loadConsoleConfig({ GATEHOUSE_CONSOLE_HOME_REGION: "mars-1" })).toThrow(/not one of/);
    expect(() => loadConsoleConfig({ GATEHOUSE_CONSOLE_TLS_CERT: "/c.pem" })).toThrow(/set both or neither/);
    expect(() => loadConsoleConfig({ GATEHOUSE_CONSOLE_LISTN: "x" })).toThrow(
      /unknown console settings: GATEHOUSE_CONSOLE_LISTN/,
    );
  });

  it("keeps sessions in the process unless a Redis is named, which needs the sealing key", () => {
    expect(loadConsoleConfig({}).sessionStore).toEqual({ kind: "memory" });
    expect(() => loadConsoleConfig({ GATEHOUSE_CONSOLE_REDIS_URL: "redis://127.0.0.1:6379" })).toThrow(
      /GATEHOUSE_CONSOLE_SESSION_SECRET_KEY: required with GATEHOUSE_CONSOLE_REDIS_URL/,
    );
    const key = Buffer.alloc(32, 7).toString("base64");
    const c = loadConsoleConfig({
      GATEHOUSE_CONSOLE_REDIS_URL: "redis://127.0.0.1:6379",
      GATEHOUSE_CONSOLE_SESSION_SECRET_KEY: key,
      GATEHOUSE_CONSOLE_SIGN_IN_SOURCE_FAILURE_BURST: "50",
    });
    expect(c.sessionStore).toMatchObject({
      kind: "redis",
      url: "redis://127.0.0.1:6379",
      keyPrefix: "gatehouse:console:",
      timeoutMs: 2000,
      signInFailures: { perUser: { burst: 5, perMinute: 5 }, perSource: { burst: 50, perMinute: 20 } },
    });
    // A bad key is named, its value never shown.
    let message = "";
    try {
      loadConsoleConfig({ GATEHOUSE_CONSOLE_SESSION_SECRET_KEY: "c2hvcnQ=" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("GATEHOUSE_CONSOLE_SESSION_SECRET_KEY=(hidden)");
    expect(message).not.toContain("c2hvcnQ=");
    expect(() => loadConsoleConfig({ GATEHOUSE_CONSOLE_REDIS_URL: "127.0.0.1:6379" })).toThrow(
      /GATEHOUSE_CONSOLE_REDIS_URL/,
    );
  });

  it("reads the trusted proxies (addresses and CIDR blocks), none by default", () => {
    expect(loadConsoleConfig({}).trustedProxies).toEqual([]);
    expect(
      loadConsoleConfig({ GATEHOUSE_CONSOLE_TRUSTED_PROXIES: "10.0.0.0/8, 127.0.0.1,fd00::/8" }).trustedProxies,
    ).toEqual(["10.0.0.0/8", "127.0.0.1", "fd00::/8"]);
    for (const bad of ["10.0.0.0/33", "proxy.local", "10.0.0.1/8/2", "::1/129"]) {
      expect(() => loadConsoleConfig({ GATEHOUSE_CONSOLE_TRUSTED_PROXIES: bad })).toThrow(
        /GATEHOUSE_CONSOLE_TRUSTED_PROXIES=.*IP address or CIDR/,
      );
    }
  });
});
