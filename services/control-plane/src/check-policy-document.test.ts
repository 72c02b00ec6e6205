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

describe("checkPolicyDocument: the document it returns for storage", () => {
  const check = (document: string) => checkPolicyDocument(document, "managed", "policyDocument");

  it("drops spaces, tabs, line feeds and carriage returns between tokens", () => {
    const padded =
      ' {\n\t"Version" :\r\n "2012-10-17" ,  "Statement" : [ {\t"Effect" : "Allow" , "Action" : [ "s3:GetObject" , "s3:PutObject" ] , "Resource" : "*" } ]\r\n}\n';
    expect(check(padded)).toBe(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}]}',
    );
  });

  it("keeps white space inside strings, also after escaped quotes and backslashes", () => {
    const value = String.raw`a \" b\\ c \\\" d  e`;
    const padded = `{ "Version": "2012-10-17", "Statement": { "Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": { "StringEquals": { "aws:username": "${value}" } } } }`;
    const minified = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":"${value}"}}}}`;
    expect(check(padded)).toBe(minified);
    expect(JSON.parse(check(padded))).toEqual(JSON.parse(padded));
  });

  it("keeps every token byte for byte (escapes, numbers) and returns a document without white space as sent", () => {
    const doc = String.raw`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/\u0041","Condition":{"NumericLessThan":{"s3:max-keys":"1.50"}}}}`;
    expect(check(doc)).toBe(doc);
    expect(check(` ${doc}`)).toBe(doc);
    expect(check(`${doc} `)).toBe(doc);
  });
});
