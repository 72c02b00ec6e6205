import { describe, expect, it } from "vitest";
import { contextJsonOf, contextOf, listOf, simulateLocally } from "./simulation.ts";

const POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Sid: "All", Effect: "Allow", Action: "s3:*", Resource: "*" },
    {
      Sid: "NoDeleteWithoutMfa",
      Effect: "Deny",
      Action: "s3:DeleteObject",
      Resource: "*",
      Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } },
    },
  ],
});

describe("listOf", () => {
  it("splits lines and commas", () => {
    expect(listOf("s3:GetObject\n s3:PutObject, ,iam:CreateUser")).toEqual([
      "s3:GetObject",
      "s3:PutObject",
      "iam:CreateUser",
    ]);
  });
});

describe("context", () => {
  it("reads typed entries", () => {
    const entries = [
      { key: "aws:SourceIp", type: "String" as const, value: "10.0.0.1" },
      { key: "n", type: "Number" as const, value: "42" },
      { key: "aws:MultiFactorAuthPresent", type: "Boolean" as const, value: "true" },
      { key: "tags", type: "List" as const, value: "a, b" },
      { key: " ", type: "String" as const, value: "ignored" },
    ];
    expect(contextOf(entries)).toEqual({
      "aws:SourceIp": "10.0.0.1",
      n: 42,
      "aws:MultiFactorAuthPresent": true,
      tags: ["a", "b"],
    });
    expect(contextJsonOf(entries)).toEqual({
      "aws:SourceIp": { stringValue: "10.0.0.1" },
      n: { numberValue: 42 },
      "aws:MultiFactorAuthPresent": { boolValue: true },
      tags: { listValue: { values: ["a", "b"] } },
    });
    expect(() => contextOf([{ key: "n", type: "Number", value: "x" }])).toThrow(/not a number/);
  });
});

describe("simulateLocally", () => {
  const base = {
    principalArn: "arn:aws:iam::123456789012:user/alice",
    identityPolicies: [POLICY],
    boundary: "",
    resources: ["arn:aws:s3:::reports/q3.pdf"],
  };

  it("explains an explicit deny with its deciding statement", () => {
    const [get, del] = simulateLocally({ ...base, actions: ["s3:GetObject", "s3:DeleteObject"], context: [] });
    expect(get?.decision).toBe("DECISION_ALLOW");
    expect(del?.decision).toBe("DECISION_EXPLICIT_DENY");
    expect(del?.explanation?.decidingStatement?.statementIndex).toBe(1);
    expect(del?.explanation?.decidingStatement?.sid).toBe("NoDeleteWithoutMfa");
    expect(del?.explanation?.decidingStatement?.policy.id).toBe("extraIdentityPolicies[0]");
  });

  it("uses the context and the boundary", () => {
    const [del] = simulateLocally({
      ...base,
      actions: ["s3:DeleteObject"],
      context: [{ key: "aws:MultiFactorAuthPresent", type: "Boolean", value: "true" }],
    });
    expect(del?.decision).toBe("DECISION_ALLOW");
    const boundary = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
    });
    const [put] = simulateLocally({ ...base, boundary, actions: ["s3:PutObject"], context: [] });
    expect(put?.decision).toBe("DECISION_IMPLICIT_DENY");
    expect(put?.explanation?.implicitDenyReason).toBe("permission-boundary-does-not-allow");
  });

  it("names a bad document and a bad principal", () => {
    expect(() =>
      simulateLocally({ ...base, identityPolicies: ['{"Statement":[]'], actions: ["s3:GetObject"], context: [] }),
    ).toThrow(/extraIdentityPolicies\[0\]/);
    expect(() => simulateLocally({ ...base, principalArn: "alice", actions: ["s3:GetObject"], context: [] })).toThrow(
      /principal ARN/,
    );
  });
});
