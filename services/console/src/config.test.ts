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
});
