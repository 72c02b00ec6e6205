import { describe, expect, it } from "vitest";
import { parseBrokers, parsePostgresUrl, parseRedisUrls } from "./infra-settings.ts";

describe("parseBrokers", () => {
  it("splits and trims a comma list", () => {
    expect(parseBrokers(" 127.0.0.1:9092, kafka:29092 ,", "X")).toEqual(["127.0.0.1:9092", "kafka:29092"]);
  });

  it.each(["", " , ", "127.0.0.1", "http://a:1", "a:b"])("rejects %j, naming the variable", (value) => {
    expect(() => parseBrokers(value, "GATEHOUSE_TEST_KAFKA_BROKERS")).toThrow(/GATEHOUSE_TEST_KAFKA_BROKERS/);
  });
});

describe("parseRedisUrls", () => {
  const regions = ["us-east-1", "eu-west-1"];

  it("reads region=url pairs", () => {
    expect(parseRedisUrls("eu-west-1=redis://h:2,us-east-1=redis://h:1", regions, "X")).toEqual([
      { region: "eu-west-1", url: "redis://h:2" },
      { region: "us-east-1", url: "redis://h:1" },
    ]);
  });

  it("names bare URLs after the default regions, in order", () => {
    expect(parseRedisUrls("redis://h:1,redis://h:2", regions, "X")).toEqual([
      { region: "us-east-1", url: "redis://h:1" },
      { region: "eu-west-1", url: "redis://h:2" },
    ]);
  });

  it("keeps an = inside a bare URL's query", () => {
    expect(parseRedisUrls("redis://h:1/0?family=4", regions, "X")).toEqual([
      { region: "us-east-1", url: "redis://h:1/0?family=4" },
    ]);
  });

  it("rejects more bare URLs than regions", () => {
    expect(() => parseRedisUrls("redis://h:1,redis://h:2,redis://h:3", regions, "V")).toThrow(/"redis:\/\/h:3"/);
  });

  it("rejects a duplicate region and a non-redis URL", () => {
    expect(() => parseRedisUrls("a=redis://h:1,a=redis://h:2", regions, "V")).toThrow(/"a" appears twice/);
    expect(() => parseRedisUrls("a=http://h:1", regions, "V")).toThrow(/"http:\/\/h:1"/);
  });
});

describe("parsePostgresUrl", () => {
  it("accepts postgres:// and postgresql:// URLs with a database", () => {
    expect(parsePostgresUrl("postgres://postgres@127.0.0.1:5432/gatehouse_test", "X")).toContain("gatehouse_test");
    expect(parsePostgresUrl("postgresql://u:p@h/db", "X")).toBe("postgresql://u:p@h/db");
  });

  it.each(["", "mysql://h/db", "postgres://h", "postgres://h/"])("rejects %j, naming the value", (value) => {
    expect(() => parsePostgresUrl(value, "GATEHOUSE_TEST_PG_URL")).toThrow(/GATEHOUSE_TEST_PG_URL/);
  });
});
