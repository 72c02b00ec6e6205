import { describe, expect, it } from "vitest";
import type { PrincipalInfo } from "./authz-request.ts";
import { compileIdentity, compileResourcePolicy, evaluateCompiled, type PolicySetInput } from "./compile-policy-set.ts";
import type { Decision } from "./evaluation-result.ts";
import { parsePolicy } from "./parse-policy.ts";
import type { Policy } from "./policy.ts";
import {
  ACCOUNT,
  allow,
  aRoleSession,
  aUser,
  decisionOf,
  deny,
  evaluateBoth,
  OTHER_ACCOUNT,
  policy,
  request,
} from "./test-support.ts";

// AWS: role trust policies (and KMS key policies) are the exception to "either side allows" in one
// account: the policy must itself allow the principal, or the account (then IAM policies decide).
const SINGLE =
  "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html";
const CROSS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html";
const KMS = "https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html";

const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/Deploy`;
const alice = aUser("alice");
const bob = aUser("bob");
const outsider = aUser("carol", OTHER_ACCOUNT);
const chained = { ...aRoleSession("Ops", "s1"), roleArn: `arn:aws:iam::${ACCOUNT}:role/Ops` };
const assume = (context: Record<string, string> = {}) => request("sts:AssumeRole", ROLE_ARN, context, ACCOUNT);
const mayAssume = policy(allow("sts:AssumeRole", ROLE_ARN));

function trust(...statements: Record<string, unknown>[]): Policy {
  const { policy: parsed, findings } = parsePolicy(policy(...statements), { kind: "trust" });
  if (parsed === undefined) throw new Error(JSON.stringify(findings));
  return parsed;
}
const trusting = (principal: unknown, extra: Record<string, unknown> = {}) =>
  trust({ Effect: "Allow", Principal: { AWS: principal }, Action: "sts:AssumeRole", ...extra });

/** The same set evaluated as a trust policy (must allow itself) and as an ordinary resource policy. */
function both(set: PolicySetInput, p: PrincipalInfo, context: Record<string, string> = {}): [Decision, Decision] {
  return [
    decisionOf({ ...set, resourcePolicyMustAllow: true }, p, assume(context)),
    decisionOf(set, p, assume(context)),
  ];
}

describe("a resource policy that must allow itself (role trust and KMS key policies)", () => {
  it(`same account, the trust policy names the caller's ARN: no identity policy needed (${SINGLE})`, () => {
    expect(both({ identityPolicies: [], resourcePolicy: trusting(alice.arn) }, alice)).toEqual(["Allow", "Allow"]);
    // A role session named by its session ARN, too.
    expect(both({ identityPolicies: [], resourcePolicy: trusting(chained.arn) }, chained)).toEqual(["Allow", "Allow"]);
  });

  it(`same account, the trust policy names the account: the identity policy must allow too (${SINGLE})`, () => {
    for (const root of [`arn:aws:iam::${ACCOUNT}:root`, ACCOUNT]) {
      expect(both({ identityPolicies: [], resourcePolicy: trusting(root) }, alice)).toEqual([
        "ImplicitDeny",
        "ImplicitDeny",
      ]);
      expect(both({ identityPolicies: [mayAssume], resourcePolicy: trusting(root) }, alice)).toEqual([
        "Allow",
        "Allow",
      ]);
    }
  });

  it(`the trust policy does not allow, the identity policy does: denied (${SINGLE})`, () => {
    // Another principal named: the ordinary logic would allow on the identity policy alone.
    expect(both({ identityPolicies: [mayAssume], resourcePolicy: trusting(bob.arn) }, alice)).toEqual([
      "ImplicitDeny",
      "Allow",
    ]);
    // The caller named, but the trust policy's condition fails (no or a wrong sts:ExternalId).
    const external = trusting(alice.arn, { Condition: { StringEquals: { "sts:ExternalId": "x-123" } } });
    const set = { identityPolicies: [mayAssume], resourcePolicy: external };
    expect(both(set, alice)).toEqual(["ImplicitDeny", "Allow"]);
    expect(both(set, alice, { "sts:ExternalId": "wrong" })).toEqual(["ImplicitDeny", "Allow"]);
    expect(both(set, alice, { "sts:ExternalId": "x-123" })).toEqual(["Allow", "Allow"]);
    // A trust policy that allows only another action (a web identity) trusts nobody for this one.
    const web = trust({
      Effect: "Allow",
      Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/issuer.example` },
      Action: "sts:AssumeRoleWithWebIdentity",
    });
    expect(both({ identityPolicies: [mayAssume], resourcePolicy: web }, alice)).toEqual(["ImplicitDeny", "Allow"]);
  });

  it(`names why it denied: the trust policy itself must allow the principal`, () => {
    const result = evaluateBoth(
      { identityPolicies: [mayAssume], resourcePolicy: trusting(bob.arn), resourcePolicyMustAllow: true },
      alice,
      assume(),
    );
    expect(result.decision).toBe("ImplicitDeny");
    expect(result.explanation?.implicitDenyReason).toBe("resource-policy-does-not-allow");
    expect(result.explanation?.summary).toMatch(/must itself allow .*user\/alice/);
    expect(result.explanation?.summary).toMatch(/identity-based policies alone/);
  });

  it(`a role session named through its role ARN: within its session policies, no identity policy needed (${SINGLE})`, () => {
    const set = { identityPolicies: [], resourcePolicy: trusting(chained.roleArn) };
    expect(both(set, chained)).toEqual(["Allow", "Allow"]);
    const narrowed = { ...set, sessionPolicies: [policy(allow("s3:*"))] };
    expect(both(narrowed, chained)).toEqual(["ImplicitDeny", "ImplicitDeny"]);
  });

  it(`cross-account: the trust policy and the caller's identity policy must both allow (${CROSS})`, () => {
    const named = trusting(outsider.arn);
    const account = trusting(`arn:aws:iam::${OTHER_ACCOUNT}:root`);
    expect(both({ identityPolicies: [], resourcePolicy: named }, outsider)).toEqual(["ImplicitDeny", "ImplicitDeny"]);
    expect(both({ identityPolicies: [mayAssume], resourcePolicy: named }, outsider)).toEqual(["Allow", "Allow"]);
    expect(both({ identityPolicies: [mayAssume], resourcePolicy: account }, outsider)).toEqual(["Allow", "Allow"]);
    expect(both({ identityPolicies: [mayAssume], resourcePolicy: trusting(alice.arn) }, outsider)).toEqual([
      "ImplicitDeny",
      "ImplicitDeny",
    ]);
  });

  it("an explicit Deny anywhere wins over a trust policy naming the caller", () => {
    const named = trusting(alice.arn);
    const denyAssume = policy(deny("sts:AssumeRole"));
    const sets: PolicySetInput[] = [
      { identityPolicies: [mayAssume, denyAssume], resourcePolicy: named },
      { identityPolicies: [mayAssume], permissionBoundary: denyAssume, resourcePolicy: named },
      { identityPolicies: [mayAssume], sessionPolicies: [denyAssume], resourcePolicy: named },
      { identityPolicies: [mayAssume], guardrails: [policy(allow("*")), denyAssume], resourcePolicy: named },
      {
        identityPolicies: [mayAssume],
        resourcePolicy: trust(
          { Effect: "Allow", Principal: { AWS: alice.arn }, Action: "sts:AssumeRole" },
          { Effect: "Deny", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" },
        ),
      },
    ];
    for (const set of sets) expect(both(set, alice)).toEqual(["ExplicitDeny", "ExplicitDeny"]);
    // Guardrails must still allow.
    const noGuardrailAllow = { identityPolicies: [], guardrails: [policy(allow("s3:*"))], resourcePolicy: named };
    expect(both(noGuardrailAllow, alice)).toEqual(["ImplicitDeny", "ImplicitDeny"]);
  });

  it(`a service or federated principal: only the trust policy decides, as before (${KMS})`, () => {
    const ec2: PrincipalInfo = { arn: "ec2.amazonaws.com", accountId: "", type: "Service" };
    const set: PolicySetInput = {
      identityPolicies: [],
      resourcePolicy: trust({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }),
      resourcePolicyMustAllow: true,
    };
    expect(decisionOf(set, ec2, assume())).toBe("Allow");
    expect(decisionOf(set, { ...ec2, arn: "lambda.amazonaws.com" }, assume())).toBe("ImplicitDeny");
  });

  it("is a property of the compiled resource policy (compileResourcePolicy's mustAllow option)", () => {
    const identity = compileIdentity({ identityPolicies: [mayAssume] });
    const text = JSON.stringify(
      policy({ Effect: "Allow", Principal: { AWS: bob.arn }, Action: "sts:AssumeRole", Resource: ROLE_ARN }),
    );
    const ordinary = compileResourcePolicy(text);
    const selfAllowing = compileResourcePolicy(text, { mustAllow: true });
    expect(evaluateCompiled(identity, ordinary, alice, assume()).decision).toBe("Allow");
    expect(evaluateCompiled(identity, selfAllowing, alice, assume()).decision).toBe("ImplicitDeny");
    expect(evaluateCompiled(identity, selfAllowing, alice, assume(), { explain: true }).decision).toBe("ImplicitDeny");
    expect(evaluateCompiled(identity, selfAllowing, bob, assume()).decision).toBe("Allow");
  });
});
