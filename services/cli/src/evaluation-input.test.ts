import { describe, expect, it } from "vitest";
import { formatFieldPath, parseEvaluationLine } from "./evaluation-input.ts";

describe("formatFieldPath", () => {
  it("writes paths the way JavaScript would", () => {
    expect(formatFieldPath(["request", "context", "aws:TagKeys", 1])).toBe('request.context["aws:TagKeys"][1]');
    expect(formatFieldPath(["identityPolicies", 0])).toBe("identityPolicies[0]");
    expect(formatFieldPath([])).toBe("(line)");
  });
});

describe("parseEvaluationLine", () => {
  const valid = {
    identityPolicies: ['{"Version":"2012-10-17","Statement":[]}', { Version: "2012-10-17", Statement: [] }],
    principal: { arn: "arn:aws:iam::111122223333:user/a", accountId: "111122223333", tags: { team: "red" } },
    request: { action: "s3:GetObject", resource: "*", context: { n: 1, b: true, s: "x", l: ["a"] } },
  };

  it("accepts the documented shape, policies as objects or strings", () => {
    expect(parseEvaluationLine(valid)).toEqual({ line: valid });
  });

  it("names every offending field", () => {
    const result = parseEvaluationLine({
      ...valid,
      principal: { arn: "", accountId: 7 },
      request: { ...valid.request, context: { bad: { nested: true } } },
      scp: [],
    });
    expect("errors" in result && result.errors.map((e) => e.field).sort()).toEqual([
      "principal.accountId",
      "principal.arn",
      "request.context.bad",
      "scp",
    ]);
  });

  it("rejects a line that is not an object", () => {
    expect(parseEvaluationLine([1, 2])).toMatchObject({ errors: [{ field: "(line)" }] });
  });
});
