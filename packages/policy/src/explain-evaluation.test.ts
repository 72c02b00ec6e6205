import { describe, expect, it } from "vitest";
import { allow, aUser, deny, evaluateBoth, policy, request } from "./test-support.ts";

const BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket";
const alice = aUser("alice");
const bob = aUser("bob");

describe("explanations: which statement is named", () => {
  it("names the first of two matching Deny statements, in policy then statement order", () => {
    const set = {
      identityPolicies: [
        policy(allow("s3:*")),
        policy(deny("s3:DeleteObject", "*", { Sid: "First" }), deny("s3:Delete*", "*", { Sid: "Second" })),
        policy(deny("s3:*", "*", { Sid: "Third" })),
      ],
    };
    const result = evaluateBoth(set, alice, request("s3:DeleteObject", `${BUCKET}/k`));
    expect(result.decision).toBe("ExplicitDeny");
    expect(result.explanation?.decidingStatement).toMatchObject({ sid: "First", statementIndex: 0 });
    expect(result.explanation?.decidingStatement?.policy.index).toBe(1);
    expect(result.explanation?.summary).toBe(
      'ExplicitDeny: s3:DeleteObject on arn:aws:s3:::amzn-s3-demo-bucket/k is denied by identity-based policy #1 statement "First"',
    );
    // Every matching statement is still listed, the Allow and all three Denies.
    expect(result.explanation?.matchedStatements.map((s) => s.sid ?? s.effect)).toEqual([
      "Allow",
      "First",
      "Second",
      "Third",
    ]);
  });

  it("names a guardrail's Deny before an identity policy's, whatever their order of matching", () => {
    const result = evaluateBoth(
      {
        identityPolicies: [policy(allow("s3:*"), deny("s3:DeleteObject", "*", { Sid: "Identity" }))],
        guardrails: [policy(allow("*"), deny("s3:DeleteObject", "*", { Sid: "Guardrail" }))],
      },
      alice,
      request("s3:DeleteObject", `${BUCKET}/k`),
    );
    expect(result.explanation?.decidingStatement).toMatchObject({ sid: "Guardrail" });
    expect(result.explanation?.decidingStatement?.policy.type).toBe("guardrail");
  });
});

describe("explanations: the ImplicitDeny summary", () => {
  it("says nothing of resource-based policies when there is none", () => {
    const result = evaluateBoth(
      { identityPolicies: [policy(allow("s3:ListBucket"))] },
      alice,
      request("s3:GetObject", `${BUCKET}/k`),
    );
    expect(result.explanation?.summary).toBe(
      "ImplicitDeny: no identity-based policy allows s3:GetObject on arn:aws:s3:::amzn-s3-demo-bucket/k",
    );
  });

  it("says no resource-based policy grants it when one exists but names someone else", () => {
    const bucketPolicy = policy({
      Effect: "Allow",
      Principal: { AWS: bob.arn },
      Action: "s3:GetObject",
      Resource: `${BUCKET}/*`,
    });
    const result = evaluateBoth(
      { identityPolicies: [], resourcePolicy: bucketPolicy },
      alice,
      request("s3:GetObject", `${BUCKET}/k`),
    );
    expect(result.explanation?.summary).toBe(
      "ImplicitDeny: no identity-based policy allows s3:GetObject on arn:aws:s3:::amzn-s3-demo-bucket/k and no resource-based policy grants it to the principal",
    );
  });
});
