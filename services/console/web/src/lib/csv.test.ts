import { describe, expect, it } from "vitest";
import { base64ToText, parseCsv } from "./csv.ts";

describe("parseCsv", () => {
  it("reads plain rows with LF and CRLF", () => {
    expect(parseCsv("user,arn\nalice,arn:1\r\nbob,arn:2\n")).toEqual([
      ["user", "arn"],
      ["alice", "arn:1"],
      ["bob", "arn:2"],
    ]);
  });

  it("reads quoted fields with commas, quotes and newlines", () => {
    expect(parseCsv('a,"b,c","say ""hi""","x\ny"')).toEqual([["a", "b,c", 'say "hi"', "x\ny"]]);
  });

  it("keeps empty fields", () => {
    expect(parseCsv("a,,c\n,,\n")).toEqual([
      ["a", "", "c"],
      ["", "", ""],
    ]);
  });
});

describe("base64ToText", () => {
  it("decodes UTF-8", () => {
    expect(base64ToText(Buffer.from("user,é\n").toString("base64"))).toBe("user,é\n");
  });
});
