// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePattern, MATCH, NO_MATCH, UNRESOLVED } from "./pattern.ts";

const WILD = { wildcards: true, variables: true };

/** The obviously-correct reference: a RegExp built from the pattern. */
function reference(pattern: string, s: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[\\s\\S]*")
    .replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${source}$`).test(s);
}

describe("compilePattern", () => {
  it.each([
    ["*", "", true],
    ["", "", true],
    ["", "a", false],
    ["abc", "abc", true],
    ["abc", "abcd", false],
    ["ab*", "ab", true],
    ["ab*", "a", false],
    ["*bc", "abc", true],
    ["*bc", "bd", false],
    ["a*a", "a", false],
    ["a*a", "aa", true],
    ["a*b*c", "axxbyyc", true],
    ["a*b*c", "acb", false],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["*a?c*", "xxabcxx", true],
    ["arn:aws:s3:::b/*", "arn:aws:s3:::b/x:y/z", true],
  ])("%j matches %j: %s", (pattern, s, expected) => {
    expect(compilePattern(pattern, WILD).test(s, {}) === MATCH).toBe(expected);
  });

  it("treats * and ? literally without wildcards", () => {
    const p = compilePattern("a*?", { wildcards: false, variables: false });
    expect(p.test("a*?", {})).toBe(MATCH);
    expect(p.test("abc", {})).toBe(NO_MATCH);
  });

  it("matches a slice of a string without slicing it", () => {
    const p = compilePattern("b*d", WILD);
    expect(p.match("xbcdx", 1, 4, {})).toBe(MATCH);
    expect(p.match("xbcdx", 1, 5, {})).toBe(NO_MATCH);
  });

  it("substitutes variables as literal text and reports missing ones", () => {
    const p = compilePattern("home/${aws:username}/*", WILD);
    expect(p.test("home/a*b/x", { "aws:username": "a*b" })).toBe(MATCH);
    expect(p.test("home/axxb/x", { "aws:username": "a*b" })).toBe(NO_MATCH);
    expect(p.test("home/alice/x", {})).toBe(UNRESOLVED);
    expect(
      compilePattern("x/${aws:username}", { wildcards: true, variables: false }).test("x/${aws:username}", {}),
    ).toBe(MATCH);
  });

  it("agrees with a RegExp reference on random patterns (property)", () => {
    const alphabet = fc.constantFrom("a", "b", ":", "/", "*", "?");
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom("a", "b", ":", "/"), maxLength: 10 }),
        (pattern, s) => {
          expect(compilePattern(pattern, WILD).test(s, {}) === MATCH).toBe(reference(pattern, s));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
