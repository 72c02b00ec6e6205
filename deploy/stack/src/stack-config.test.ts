import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackConfig, regionNames, withRegionCount } from "./stack-config.ts";

const root = resolve(import.meta.dirname, "../../..");

describe("--regions N", () => {
  it("names the default three first, then further real regions, each with its own decider ports", () => {
    expect(regionNames(3, root)).toEqual(["us-east-1", "eu-west-1", "ap-southeast-1"]);
    const ten = regionNames(10, root);
    expect(ten).toHaveLength(10);
    expect(new Set(ten).size).toBe(10);
    expect(ten.slice(0, 4)).toEqual(["us-east-1", "eu-west-1", "ap-southeast-1", "us-west-2"]);
    const config = loadStackConfig(
      { ...withRegionCount({}, 10, root), GATEHOUSE_STACK_REGION_BASE_PORT: "51501", GATEHOUSE_STACK_CP_PORT: "51500" },
      root,
    );
    expect(config.regions.map((r) => r.name)).toEqual(ten);
    expect(config.regions[9]?.deciders).toEqual(["127.0.0.1:51519", "127.0.0.1:51520"]);
  });

  it("refuses a count out of range and a GATEHOUSE_REGIONS that says otherwise", () => {
    expect(() => regionNames(0, root)).toThrow(/--regions: expected a whole number from 1 to 16, got 0/);
    expect(() => regionNames(17, root)).toThrow(/got 17/);
    expect(() => regionNames(Number.NaN, root)).toThrow(/got NaN/);
    expect(() => withRegionCount({ GATEHOUSE_REGIONS: "us-east-1" }, 2, root)).toThrow(
      /--regions 2 means GATEHOUSE_REGIONS=us-east-1,eu-west-1, but GATEHOUSE_REGIONS=us-east-1 is set/,
    );
    expect(withRegionCount({ GATEHOUSE_REGIONS: "us-east-1, eu-west-1" }, 2, root).GATEHOUSE_REGIONS).toBe(
      "us-east-1,eu-west-1",
    );
  });
});
