import { describe, expect, it } from "vitest";
import { lineColumnOf, locateJsonPath, parseJsonPath } from "./json-locate.ts";

const DOC = `{
  "Version": "2012-10-17",
  "Statement": [
    { "Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*" },
    {
      "Sid": "NoDelete",
      "Effect": "Deny",
      "Action": ["s3:DeleteObject"],
      "Resource": "*",
      "Condition": { "StringEqualz": { "aws:username": "x" } }
    }
  ]
}`;

const at = (path: string) => {
  const r = locateJsonPath(DOC, path);
  return DOC.slice(r.from, r.to);
};

describe("parseJsonPath", () => {
  it("splits names, indexes and quoted names", () => {
    expect(parseJsonPath("$.Statement[1].Condition")).toEqual(["Statement", 1, "Condition"]);
    expect(parseJsonPath('$.Statement[0].Condition["aws:username"]')).toEqual([
      "Statement",
      0,
      "Condition",
      "aws:username",
    ]);
    expect(parseJsonPath("$")).toEqual([]);
    expect(parseJsonPath("Statement[2]")).toEqual(["Statement", 2]);
  });
});

describe("locateJsonPath", () => {
  it("finds a statement of an array", () => {
    expect(at("$.Statement[0]")).toBe(
      '{ "Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*" }',
    );
    expect(at("$.Statement[1]").startsWith("{\n")).toBe(true);
    expect(at("$.Statement[1]")).toContain('"Sid": "NoDelete"');
    expect(at("$.Statement[1]").endsWith("}")).toBe(true);
  });

  it("finds nested members and array elements", () => {
    expect(at("$.Statement[1].Condition.StringEqualz")).toBe('{ "aws:username": "x" }');
    expect(at("$.Statement[1].Action[0]")).toBe('"s3:DeleteObject"');
    expect(at("$.Version")).toBe('"2012-10-17"');
  });

  it("answers the deepest part found for a path beyond the text", () => {
    expect(at("$.Statement[1].Principal")).toContain('"Sid": "NoDelete"');
    expect(at("$.Statement[7]")).toMatch(/^\[/);
  });

  it("reads a lone statement object as Statement[0]", () => {
    const lone = '{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}';
    const r = locateJsonPath(lone, "$.Statement[0].Action");
    expect(lone.slice(r.from, r.to)).toBe('"*"');
  });

  it("maps what it can of a malformed document", () => {
    const broken = '{"Statement":[{"Effect":"Allow","Action":"s3:Get';
    const r = locateJsonPath(broken, "$.Statement[0].Effect");
    expect(broken.slice(r.from, r.to)).toBe('"Allow"');
  });

  it("skips escaped quotes inside strings", () => {
    const text = '{"Sid":"a\\"b","Effect":"Deny"}';
    const r = locateJsonPath(text, "$.Effect");
    expect(text.slice(r.from, r.to)).toBe('"Deny"');
  });
});

describe("lineColumnOf", () => {
  it("counts lines and columns from 1", () => {
    expect(lineColumnOf("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumnOf("ab", 0)).toEqual({ line: 1, column: 1 });
  });
});
