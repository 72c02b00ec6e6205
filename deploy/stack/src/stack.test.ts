import { describe, expect, it } from "vitest";
import { serviceSpecs } from "./stack.ts";
import type { StackConfig } from "./stack-config.ts";

const config: StackConfig = {
  root: "/repo",
  stateDir: "/repo/.gatehouse",
  stackDir: "/repo/.gatehouse/stack",
  logDir: "/repo/.gatehouse/logs",
  configDir: "/home/me/.gatehouse",
  host: "127.0.0.1",
  controlPlane: "127.0.0.1:50051",
  console: "127.0.0.1:50080",
  regions: [
    { name: "us-east-1", deciders: ["127.0.0.1:50061", "127.0.0.1:50062"] },
    { name: "eu-west-1", deciders: ["127.0.0.1:50063", "127.0.0.1:50064"] },
  ],
  profile: "demo",
  statusIntervalMs: 30_000,
};

const settings = {
  GATEHOUSE_REDIS_URLS: "us-east-1=redis://127.0.0.1:6380,eu-west-1=redis://127.0.0.1:6381",
  GATEHOUSE_SECRET_KEY: "a2V5",
  GATEHOUSE_OPERATOR_ACCESS_KEY_ID: "AKIAOPERATOR00000000",
  GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: "s".repeat(40),
  // One value for every region would break them: never inherited.
  GATEHOUSE_REGION_LISTEN: "0.0.0.0:1",
};

describe("serviceSpecs", () => {
  it("gives every region process its own Redis, the secret key, and the control plane to heal from as the operator", () => {
    const specs = serviceSpecs(config, settings);
    expect(specs.map((s) => s.name)).toEqual([
      "control-plane",
      "us-east-1-applier",
      "us-east-1-decider-1",
      "us-east-1-decider-2",
      "eu-west-1-applier",
      "eu-west-1-decider-1",
      "eu-west-1-decider-2",
      "console",
    ]);
    const applier = specs.find((s) => s.name === "eu-west-1-applier");
    expect(applier?.env).toMatchObject({
      GATEHOUSE_REGION: "eu-west-1",
      GATEHOUSE_REGION_REDIS_URL: "redis://127.0.0.1:6381",
      GATEHOUSE_SECRET_KEY: "a2V5",
      GATEHOUSE_REGION_CONTROL_PLANE: "127.0.0.1:50051",
      GATEHOUSE_REGION_OPERATOR_ACCESS_KEY_ID: "AKIAOPERATOR00000000",
      GATEHOUSE_REGION_OPERATOR_SECRET_ACCESS_KEY: "s".repeat(40),
    });
    expect(applier?.env.GATEHOUSE_REGION_LISTEN).toBeUndefined();
    expect(specs.find((s) => s.name === "us-east-1-decider-2")?.env.GATEHOUSE_REGION_LISTEN).toBe("127.0.0.1:50062");
  });

  it("starts the console gateway with the control plane and every region, and no secret of the stack's", () => {
    const gateway = serviceSpecs(config, { ...settings, PATH: "/usr/bin", HOME: "/home/me" }).find(
      (s) => s.name === "console",
    );
    expect(gateway?.env).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/me",
      GATEHOUSE_CONSOLE_LISTEN: "127.0.0.1:50080",
      GATEHOUSE_CONSOLE_CONTROL_PLANE: "127.0.0.1:50051",
      GATEHOUSE_CONSOLE_REGIONS: "us-east-1=127.0.0.1:50061,127.0.0.1:50062;eu-west-1=127.0.0.1:50063,127.0.0.1:50064",
    });
  });

  it("adds a region's own settings to that region's processes only", () => {
    const specs = serviceSpecs(
      config,
      { ...settings, GATEHOUSE_KAFKA_BROKERS: "127.0.0.1:9092" },
      { "eu-west-1": { GATEHOUSE_KAFKA_BROKERS: "127.0.0.1:51413" } },
    );
    const brokers = (name: string) => specs.find((s) => s.name === name)?.env.GATEHOUSE_KAFKA_BROKERS;
    expect(brokers("eu-west-1-applier")).toBe("127.0.0.1:51413");
    expect(brokers("eu-west-1-decider-2")).toBe("127.0.0.1:51413");
    expect(brokers("us-east-1-applier")).toBe("127.0.0.1:9092");
    expect(brokers("control-plane")).toBe("127.0.0.1:9092");
  });

  it("leaves healing off when the operator credential is missing", () => {
    const { GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: _, ...partial } = settings;
    const applier = serviceSpecs(config, partial).find((s) => s.name === "us-east-1-applier");
    expect(applier?.env.GATEHOUSE_REGION_CONTROL_PLANE).toBeUndefined();
  });
});
