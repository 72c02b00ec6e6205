// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePattern, MATCH, NO_MATCH, resourcePartOffset, UNRESOLVED } from "./pattern.ts";

const WILD = { wildcards: true, variables: true };
/** How Resource and NotResource compile their entries. */
const RESOURCE = (text: string) =>
  compilePattern(text, {
    wildcards: true,
    variables: true,
    variablesFrom: resourcePartOffset(text),
    arnSegments: true,
  });

/**
 * The Resource element's rule as a RegExp: a `*` that is the last character of its segment (followed
 * by a colon or the end) matches anything, any other `*` and every `?` stay within the segment.
 */
function segmentReference(pattern: string, s: string): boolean {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") source += i + 1 === pattern.length || pattern[i + 1] === ":" ? "[\\s\\S]*" : "[^:]*";
    else if (c === "?") source += "[^:]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`).test(s);
}

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

describe("compilePattern with arnSegments (Resource and NotResource)", () => {
  it.each([
    // "You can use wildcard characters (* and ?) within the individual segments of an ARN (the parts
    // separated by colons)": a `*` inside a segment does not reach into the next one.
    ["arn:aws:lambda:us-*3:function:api", "arn:aws:lambda:us-east-1:111122223333:function:api", false],
    ["arn:aws:lambda:us-*-1:111122223333:function:api", "arn:aws:lambda:us-east-1:111122223333:function:api", true],
    ["arn:aws:s3:::b/*/k", "arn:aws:s3:::b/x:y/k", false],
    ["arn:aws:s3:::b/*/k", "arn:aws:s3:::b/x/y/k", true],
    ["*x", "a:x", false],
    ["*x", "ax", true],
    ["*:x", "a:b:x", true],
    // `?` is "any single character" within a segment: never a colon.
    ["arn:aws:sns:us-east-1:111122223333:topic?sub", "arn:aws:sns:us-east-1:111122223333:topic:sub", false],
    ["arn:aws:sns:us-east-1:111122223333:topic?sub", "arn:aws:sns:us-east-1:111122223333:topicXsub", true],
    // "If the * wildcard is the last character of a resource ARN segment, it can expand to match
    // beyond the colon boundaries."
    ["arn:aws:lambda:*:111122223333:function:api", "arn:aws:lambda:us-east-1:111122223333:function:api", true],
    [
      "arn:aws:lambda:us-east-1:111122223333:function:api*",
      "arn:aws:lambda:us-east-1:111122223333:function:api:prod",
      true,
    ],
    ["arn:aws:iam::*", "arn:aws:iam::111122223333:user/a", true],
    ["arn:aws:lambda:us-*:function:api", "arn:aws:lambda:us-east-1:111122223333:function:api", true],
    ["*", "anything:at:all", true],
    ["arn:aws:s3:::*", "arn:aws:s3:::b/k:1", true],
  ])("%j matches %j: %s", (pattern, s, expected) => {
    expect(RESOURCE(pattern).test(s, {}) === MATCH).toBe(expected);
    expect(segmentReference(pattern, s)).toBe(expected);
  });

  it("matches a slice of a string", () => {
    expect(RESOURCE("b*d").match("xb:dx", 1, 4, {})).toBe(NO_MATCH);
    expect(RESOURCE("b*d").match("xbcdx", 1, 4, {})).toBe(MATCH);
  });

  it("agrees with a RegExp reference of the segment rule on random patterns (property)", () => {
    const alphabet = fc.constantFrom("a", "b", ":", "/", "*", "?");
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 10 }),
        fc.string({ unit: fc.constantFrom("a", "b", ":", "/"), maxLength: 12 }),
        (pattern, s) => {
          expect(RESOURCE(pattern).test(s, {}) === MATCH).toBe(segmentReference(pattern, s));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it("substitutes variables only after the fifth colon; before it `${…}` is literal text", () => {
    // "You can use a policy variable in the Resource element, but only in the resource portion of
    // the ARN. This portion of the ARN appears after the fifth colon (:). You can't use a variable to
    // replace parts of the ARN before the fifth colon, such as the service or account."
    const ctx = { "aws:PrincipalAccount": "111122223333", "aws:username": "alice" };
    const account = RESOURCE("arn:aws:s3:us-east-1:${aws:PrincipalAccount}:b/x");
    expect(account.test("arn:aws:s3:us-east-1:111122223333:b/x", ctx)).toBe(NO_MATCH);
    expect(account.test("arn:aws:s3:us-east-1:${aws:PrincipalAccount}:b/x", ctx)).toBe(MATCH);
    const own = RESOURCE("arn:aws:s3:::home/${aws:username}/*");
    expect(own.test("arn:aws:s3:::home/alice/notes", ctx)).toBe(MATCH);
    expect(own.test("arn:aws:s3:::home/bob/notes", ctx)).toBe(NO_MATCH);
    expect(own.test("arn:aws:s3:::home/bob/notes", {})).toBe(UNRESOLVED);
    expect(resourcePartOffset("arn:aws:iam::${aws:PrincipalAccount}:role/x")).toBe(
      "arn:aws:iam::${aws:PrincipalAccount}:".length,
    );
    expect(resourcePartOffset("arn:aws:s3")).toBe("arn:aws:s3".length);
  });

  it("keeps a variable's value literal and a `*` before it within its segment", () => {
    const p = RESOURCE("arn:aws:s3:::b/*${aws:username}");
    expect(p.test("arn:aws:s3:::b/x/alice", { "aws:username": "alice" })).toBe(MATCH);
    expect(p.test("arn:aws:s3:::b/x:alice", { "aws:username": "alice" })).toBe(NO_MATCH);
    expect(p.test("arn:aws:s3:::b/x:alice", { "aws:username": "x:alice" })).toBe(MATCH);
    expect(p.test("arn:aws:s3:::b/a*b", { "aws:username": "a*b" })).toBe(MATCH);
  });
});
