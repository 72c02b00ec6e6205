/**
 * The words of an explanation: which statement it names when several decide alike, and the exact
 * summary of an implicit deny with and without a resource-based policy. (Mutations of
 * `explain-evaluation.ts` that named the last matching Deny, or that added the resource-policy
 * clause when there is no resource policy, survived the other suites.)
 */
import { describe, expect, it } from "vitest";
import type { PolicySetInput } from "./compile-policy-set.ts";
import { parsePolicy } from "./parse-policy.ts";
import type { Policy } from "./policy.ts";
import { ACCOUNT, allow, aUser, deny, evaluateBoth, OTHER_ACCOUNT, policy, request } from "./test-support.ts";

const alice = aUser("alice");
const OBJECT = "arn:aws:s3:::amzn-s3-demo-bucket/k";
const del = request("s3:DeleteObject", OBJECT);

function named(doc: Record<string, unknown>, id: string): Policy {
  const parsed = parsePolicy(doc, { id }).policy;
  if (parsed === undefined) throw new Error(`fixture ${id} must parse`);
  return parsed;
}

function explain(set: PolicySetInput, req = del, principal = alice) {
  const result = evaluateBoth(set, principal, req);
  if (result.explanation === undefined) throw new Error("explain: true must explain");
  return { decision: result.decision, ...result.explanation };
}

describe("which of several matching Deny statements an explanation names", () => {
  it("the first in its policy, though both match", () => {
    const guard = named(
      policy({ Sid: "First", ...deny("s3:*") }, { Sid: "Second", ...deny("s3:DeleteObject") }),
      "Guard",
    );
    const e = explain({ identityPolicies: [policy(allow("*")), guard] });
    expect(e.decision).toBe("ExplicitDeny");
    expect(e.decidingStatement).toMatchObject({ sid: "First", statementIndex: 0, policy: { id: "Guard", index: 1 } });
    expect(e.summary).toBe(
      `ExplicitDeny: s3:DeleteObject on ${OBJECT} is denied by identity-based policy "Guard" statement "First"`,
    );
    // Both are reported as matching, in policy order.
    expect(e.matchedStatements.filter((s) => s.effect === "Deny").map((s) => s.sid)).toEqual(["First", "Second"]);
  });

  it("the one in the first policy, when two policies of the same type deny", () => {
    const a = named(policy({ Sid: "InA", ...deny("s3:DeleteObject") }), "A");
    const b = named(policy({ Sid: "InB", ...deny("s3:*") }), "B");
    expect(explain({ identityPolicies: [a, b] }).decidingStatement).toMatchObject({ sid: "InA", policy: { id: "A" } });
    expect(explain({ identityPolicies: [b, a] }).decidingStatement).toMatchObject({ sid: "InB", policy: { id: "B" } });
  });

  it("a guardrail's before an identity policy's, and an identity policy's before the boundary's", () => {
    const identityDeny = named(policy({ Sid: "Identity", ...deny("s3:*") }), "I");
    const guardDeny = named(policy(allow("*"), { Sid: "Guardrail", ...deny("s3:*") }), "G");
    const boundaryDeny = named(policy(allow("*"), { Sid: "Boundary", ...deny("s3:*") }), "B");
    expect(
      explain({ identityPolicies: [identityDeny], guardrails: [guardDeny], permissionBoundary: boundaryDeny })
        .decidingStatement?.sid,
    ).toBe("Guardrail");
    expect(explain({ identityPolicies: [identityDeny], permissionBoundary: boundaryDeny }).decidingStatement?.sid).toBe(
      "Identity",
    );
  });
});

describe("the summary of an implicit deny", () => {
  it("without a resource-based policy says only that no identity-based policy allows", () => {
    const e = explain({ identityPolicies: [policy(allow("s3:GetObject"))] });
    expect(e.decision).toBe("ImplicitDeny");
    expect(e.implicitDenyReason).toBe("no-identity-policy-allows");
    expect(e.summary).toBe(`ImplicitDeny: no identity-based policy allows s3:DeleteObject on ${OBJECT}`);
  });

  it("with a same-account resource-based policy adds that it grants nothing to the principal", () => {
    const resourcePolicy = policy({
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/bob` },
      Action: "s3:DeleteObject",
      Resource: "*",
    });
    const e = explain({ identityPolicies: [], resourcePolicy });
    expect(e.summary).toBe(
      `ImplicitDeny: no identity-based policy allows s3:DeleteObject on ${OBJECT} and no resource-based policy grants it to the principal`,
    );
  });

  it("cross-account, names the account whose resource policy must allow", () => {
    const e = explain(
      { identityPolicies: [policy(allow("*"))] },
      request("s3:DeleteObject", OBJECT, {}, OTHER_ACCOUNT),
    );
    expect(e.implicitDenyReason).toBe("resource-policy-does-not-allow");
    expect(e.summary).toBe(
      `ImplicitDeny: the resource-based policy does not allow s3:DeleteObject on ${OBJECT} (cross-account: account ${OTHER_ACCOUNT}'s resource policy must allow ${alice.arn})`,
    );
  });
});
