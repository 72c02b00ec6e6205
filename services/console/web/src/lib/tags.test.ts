import { describe, expect, it } from "vitest";
import { parseList, parseTags } from "./tags.ts";

describe("parseTags", () => {
  it("reads key=value pairs by line or comma", () => {
    expect(parseTags("team=red\ncost-center = 42, solo")).toEqual([
      { key: "team", value: "red" },
      { key: "cost-center", value: "42" },
      { key: "solo", value: "" },
    ]);
    expect(parseTags("  ")).toEqual([]);
    expect(parseTags("url=a=b")).toEqual([{ key: "url", value: "a=b" }]);
  });
});

describe("parseList", () => {
  it("reads items by comma or line, trimmed, without blanks", () => {
    expect(parseList(" a, b\n\nc ,")).toEqual(["a", "b", "c"]);
    expect(parseList("")).toEqual([]);
  });
});
