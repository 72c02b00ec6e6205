import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validatePolicy } from "./parse-policy.ts";
import { compilePattern, MATCH, resourcePartOffset } from "./pattern.ts";
import { patternCovers } from "./statement-redundancy.ts";

const resource = (text: string) =>
  compilePattern(text, {
    wildcards: true,
    variables: false,
    variablesFrom: resourcePartOffset(text),
    arnSegments: true,
  });

describe("patternCovers for Resource patterns (segment by segment)", () => {
  it.each([
    ["arn:aws:s3:::b/*/k", "arn:aws:s3:::b/x/k", true],
    ["arn:aws:s3:::b/*/k", "arn:aws:s3:::b/x:y/k", false],
    ["arn:aws:s3:::b/*", "arn:aws:s3:::b/x:y/k", true],
    ["arn:aws:sns:*:*:t?s", "arn:aws:sns:*:*:t:s", false],
    ["arn:aws:s3:::b/*x", "arn:aws:s3:::b/a*x", true],
    ["arn:aws:s3:::b/*x", "arn:aws:s3:::b/a*:x", false],
  ])("%s covers %s: %s", (general, specific, expected) => {
    expect(patternCovers(general, specific, true)).toBe(expected);
  });

  it("never claims coverage the matcher contradicts (property)", () => {
    const unit = fc.constantFrom("a", ":", "/", "*", "?");
    fc.assert(
      fc.property(
        fc.string({ unit, maxLength: 7 }),
        fc.string({ unit, maxLength: 7 }),
        fc.string({ unit: fc.constantFrom("a", ":", "/"), maxLength: 8 }),
        (general, specific, s) => {
          if (!patternCovers(general, specific, true)) return;
          if (resource(specific).test(s, {}) === MATCH) expect(resource(general).test(s, {})).toBe(MATCH);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it("does not call a statement redundant when a segment-bound * cannot reach its resource", () => {
    const findings = validatePolicy({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*/k" },
        { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/x:y/k" },
      ],
    });
    expect(findings.map((f) => f.code)).not.toContain("redundant-statement");
  });
});
