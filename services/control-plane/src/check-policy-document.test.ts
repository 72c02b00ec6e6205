// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text in policies
import { MAX_POLICY_NESTING, PolicyError } from "@gatehouse/policy";
import { describe, expect, it } from "vitest";
import { checkPolicyDocument } from "./validation.ts";

/** The error checkPolicyDocument throws for `document`, or undefined when it accepts it. */
function refusal(document: string): unknown {
  try {
    checkPolicyDocument(document, "managed", "policyDocument");
    return undefined;
  } catch (e) {
    return e;
  }
}

const nested = (depth: number) =>
  `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":${"[".repeat(depth)}"x"${"]".repeat(depth)}}}}}`;

describe("checkPolicyDocument", () => {
  it("refuses JSON nested 10,000 deep as MalformedPolicyDocument naming the field (not a stack overflow)", () => {
    const error = refusal(nested(10_000));
    expect(error).toBeInstanceOf(PolicyError);
    expect(error).toMatchObject({
      awsName: "MalformedPolicyDocument",
      code: "INVALID_ARGUMENT",
      field: "policyDocument",
      findings: [expect.objectContaining({ code: "nesting-too-deep", path: "$", severity: "error" })],
    });
    expect((error as PolicyError).message).toMatch(/^policyDocument: \$: .*nest deeper than 32/);
  });

  it("accepts a document just within the nesting limit when it is otherwise valid", () => {
    expect(MAX_POLICY_NESTING).toBe(32);
    const ok = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}';
    expect(checkPolicyDocument(ok, "managed", "policyDocument")).toBe(ok);
    // 27 nested arrays reach level 32: invalid as a condition value, but not "too deep".
    expect(refusal(nested(27))).toMatchObject({
      awsName: "MalformedPolicyDocument",
      findings: [expect.objectContaining({ code: "invalid-condition-value" })],
    });
  });

  it("accepts a 2008-10-17 document with ${…} (literal text there), keeping the warning", () => {
    const old =
      '{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}}';
    expect(checkPolicyDocument(old, "managed", "policyDocument")).toBe(old);
  });
});
