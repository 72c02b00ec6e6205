// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasArnShape, splitArnPattern } from "./arn-pattern.ts";

describe("ARN components", () => {
  it("keeps the colons of the resource component", () => {
    expect(splitArnPattern("arn:aws:sns:us-east-1:111122223333:topic:sub")).toEqual([
      "arn",
      "aws",
      "sns",
      "us-east-1",
      "111122223333",
      "topic:sub",
    ]);
  });

  it("does not split inside a policy variable", () => {
    expect(splitArnPattern("arn:aws:iam::${aws:PrincipalAccount}:role/x")?.[4]).toBe("${aws:PrincipalAccount}");
    expect(hasArnShape("arn:aws:iam::${aws:PrincipalAccount}:role/x")).toBe(true);
  });

  it.each([
    ["arn:aws:s3:::bucket", true],
    ["arn:aws:s3:::", true],
    ["arn::s3:::bucket", false],
    ["arn:aws::::bucket", false],
    ["arn:aws:s3", false],
  ])("%s has the shape of an ARN: %s", (arn, expected) => {
    expect(hasArnShape(arn)).toBe(expected);
    expect(
      splitArnPattern(arn) !== undefined &&
        (splitArnPattern(arn)?.[1] ?? "") !== "" &&
        (splitArnPattern(arn)?.[2] ?? "") !== "",
    ).toBe(expected);
  });
});

describe("hasArnShape", () => {
  it("agrees with splitting the ARN on strings with and without policy variables (property)", () => {
    const text = fc.string({ unit: fc.constantFrom("a", ":", "$", "{", "}", "*"), maxLength: 24 });
    fc.assert(
      fc.property(text, (arn) => {
        const parts = splitArnPattern(arn);
        const expected = parts !== undefined && parts[1] !== "" && parts[2] !== "";
        expect(hasArnShape(arn)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });
});
