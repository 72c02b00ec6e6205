import { describe, expect, it } from "vitest";
import { uniqueName } from "./unique-name.ts";

describe("uniqueName", () => {
  it("appends 10 random hex digits to the prefix", () => {
    expect(uniqueName("store")).toMatch(/^store_[0-9a-f]{10}$/);
    expect(uniqueName()).toMatch(/^t_[0-9a-f]{10}$/);
  });

  it("does not repeat", () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName("x")));
    expect(names.size).toBe(1000);
  });

  it("fits a Postgres identifier (63 bytes) with the longest prefix", () => {
    expect(uniqueName("a".repeat(40)).length).toBeLessThanOrEqual(63);
  });

  it.each(["", "Store", "1abc", "a-b", "a.b", "a".repeat(41), "a b"])("rejects prefix %j", (prefix) => {
    expect(() => uniqueName(prefix)).toThrow(`"${prefix}"`);
  });
});
