import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseSettings, rejectUnknownSettings } from "./parse-settings.ts";
import { intSetting, kafkaBrokersSetting, secretKeySetting } from "./settings.ts";

const Schema = z.object({
  APP_PORT: intSetting(1, 65_535).default(8080),
  APP_BROKERS: kafkaBrokersSetting(),
  APP_SECRET_KEY: secretKeySetting().optional(),
});

describe("parseSettings and rejectUnknownSettings", () => {
  it("parses the known variables, ignoring others", () => {
    expect(parseSettings(Schema, { APP_BROKERS: "a:1, b:2", OTHER: "x" }, "app")).toEqual({
      APP_PORT: 8080,
      APP_BROKERS: ["a:1", "b:2"],
    });
  });

  it("lists every bad variable with its value, a secret's hidden", () => {
    const bad = () => parseSettings(Schema, { APP_PORT: "0", APP_BROKERS: "nope", APP_SECRET_KEY: "c2hvcnQ=" }, "app");
    expect(bad).toThrow(
      /^invalid app configuration:\n {2}APP_PORT="0": .*\n {2}APP_BROKERS="nope": each broker must be host:port/,
    );
    expect(bad).toThrow(/APP_SECRET_KEY=\(hidden\): must be base64 of exactly 32 bytes/);
    expect(bad).not.toThrow(/c2hvcnQ/);
  });

  it("refuses a variable under the service's prefix that the schema does not know", () => {
    expect(() => rejectUnknownSettings(Schema, { APP_PROT: "1", OTHER_X: "1" }, ["APP_"], "app")).toThrow(
      "unknown app settings: APP_PROT",
    );
    expect(() => rejectUnknownSettings(Schema, { APP_PORT: "1" }, ["APP_"], "app")).not.toThrow();
  });
});
