import { describe, expect, it } from "vitest";
import { normalizeDocument, policyDiff } from "./policy-diff.ts";

const v1 = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}';
const v2 = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}';

describe("policyDiff", () => {
  it("shows one changed line as removed then added, the rest kept, with line numbers", () => {
    const d = policyDiff(v1, v2);
    expect(d.added).toBe(1);
    expect(d.removed).toBe(1);
    const changed = d.lines.filter((l) => l.kind !== "same");
    expect(changed).toEqual([
      { kind: "removed", text: '      "Action": "s3:GetObject",', oldLine: 6 },
      { kind: "added", text: '      "Action": "s3:PutObject",', newLine: 6 },
    ]);
    expect(d.lines.filter((l) => l.kind === "same")).toHaveLength(normalizeDocument(v1).split("\n").length - 1);
  });

  it("ignores whitespace and formatting differences between the stored forms", () => {
    const d = policyDiff(v1, JSON.stringify(JSON.parse(v1), null, 4));
    expect(d.added + d.removed).toBe(0);
    expect(d.lines.every((l) => l.kind === "same")).toBe(true);
  });

  it("diffs text that is not JSON as it is", () => {
    const d = policyDiff("a\nb", "a\nc");
    expect(d.lines.map((l) => `${l.kind}:${l.text}`)).toEqual(["same:a", "removed:b", "added:c"]);
  });

  it("counts a new statement's lines as added", () => {
    const three = JSON.parse(v1);
    three.Statement.push({ Effect: "Deny", Action: "*", Resource: "*" });
    const d = policyDiff(v1, JSON.stringify(three));
    expect(d.removed).toBe(0);
    expect(d.added).toBeGreaterThanOrEqual(5);
  });
});
