// Simulate on sts:AssumeRole / sts:TagSession / sts:SetSourceIdentity / sts:AssumeRoleWithWebIdentity
// for a role the region holds: decided against the role's trust policy as STS decides AssumeRole (the trust policy must
// itself allow), explained, over a live decider (real Redis view, gRPC).
import type { TypedEntity } from "@gatehouse/events";
import { Decision, SimulateRequest, type SimulateResponse } from "@gatehouse/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountEntities, startTestDecider, type TestDecider } from "./decider-fixture.int-helper.ts";

const A = "555500006666";
const B = "777700008888";
const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const trust = (principal: object, action: string | string[] = "sts:AssumeRole", extra: object = {}) => ({
  Effect: "Allow",
  Principal: principal,
  Action: action,
  ...extra,
});

const a = accountEntities(A, A);
const b = accountEntities(B, B);
const user = (account: string, name: string, inline: string[] = []) =>
  (account === A ? a : b).user(name, {
    inlinePolicies: inline.map((policyDocument, i) => ({ policyName: `p${i}`, policyDocument })),
  });
const role = (account: string, name: string, trustPolicy: string) => (account === A ? a : b).role(name, trustPolicy);

describe("Simulate decides STS actions on a stored role against its trust policy (live decider)", () => {
  let fixture: TestDecider;
  const apply = (account: string, ...entities: TypedEntity[]) => fixture.apply(account, ...entities);
  const simulate = (principal: string, actions: string[], resources: string[], r: Partial<SimulateRequest> = {}) =>
    new Promise<SimulateResponse>((resolve, reject) =>
      fixture.client.simulate(
        SimulateRequest.fromPartial({
          principal: { kind: { $case: "arn", value: principal } },
          actions,
          resources,
          ...r,
        }),
        (err, res) => (err === null ? resolve(res) : reject(err)),
      ),
    );
  const names = new Map<number, string>(Object.entries(Decision).map(([name, n]) => [n, name]));
  const decisionsOf = (res: SimulateResponse) => res.results.map((x) => names.get(x.decision));
  const decisions = async (...args: Parameters<typeof simulate>) => decisionsOf(await simulate(...args));
  const alice = `arn:aws:iam::${A}:user/alice`;
  const bob = `arn:aws:iam::${A}:user/bob`;
  const carol = `arn:aws:iam::${B}:user/carol`;
  const roleArn = (name: string, account = A) => `arn:aws:iam::${account}:role/${name}`;
  const anyRole = doc({ Effect: "Allow", Action: ["sts:AssumeRole", "sts:TagSession"], Resource: "*" });

  beforeAll(async () => {
    fixture = await startTestDecider("simtrust");
    await apply(
      A,
      user(A, "alice"),
      user(A, "bob", [anyRole]),
      role(A, "names-alice", doc(trust({ AWS: alice }))),
      role(A, "names-bob", doc(trust({ AWS: bob }))),
      role(A, "names-account", doc(trust({ AWS: `arn:aws:iam::${A}:root` }, ["sts:AssumeRole", "sts:TagSession"]))),
      role(
        A,
        "denies-alice",
        doc(trust({ AWS: `arn:aws:iam::${A}:root` }), { ...trust({ AWS: alice }), Effect: "Deny", Sid: "NoAlice" }),
      ),
      role(
        A,
        "needs-external-id",
        doc(trust({ AWS: alice }, "sts:AssumeRole", { Condition: { StringEquals: { "sts:ExternalId": "x-1" } } })),
      ),
      role(A, "names-carol", doc(trust({ AWS: carol }))),
      user(A, "erin", [doc({ Effect: "Allow", Action: ["sts:AssumeRole", "sts:SetSourceIdentity"], Resource: "*" })]),
      role(A, "names-erin", doc(trust({ AWS: `arn:aws:iam::${A}:user/erin` }))),
      role(
        A,
        "names-erin-si",
        doc(trust({ AWS: `arn:aws:iam::${A}:user/erin` }, ["sts:AssumeRole", "sts:SetSourceIdentity"])),
      ),
      role(
        A,
        "web",
        doc(trust({ Federated: `arn:aws:iam::${A}:oidc-provider/idp.example.com` }, "sts:AssumeRoleWithWebIdentity")),
      ),
    );
    await apply(B, user(B, "carol"), user(B, "dave", [anyRole]));
  });
  afterAll(() => fixture?.close());

  it("a trust policy naming the caller allows with no identity policy, explained by its statement", async () => {
    const res = await simulate(alice, ["sts:AssumeRole", "sts:TagSession"], [roleArn("names-alice")]);
    expect(decisionsOf(res)).toEqual(["DECISION_ALLOW", "DECISION_IMPLICIT_DENY"]);
    const explained = (i: number) => JSON.parse(res.results[i]?.explanationJson ?? "{}") as { summary?: string };
    expect(explained(0).summary).toContain(`allowed by`);
    expect(explained(0).summary).toContain(`which names ${alice}`);
    expect(explained(1).summary).toContain("must itself allow");
  });

  it("an identity policy allowing sts:AssumeRole is not enough: the trust policy must allow the caller", async () => {
    const refused = await simulate(bob, ["sts:AssumeRole", "sts:TagSession"], [roleArn("names-alice")]);
    expect(decisionsOf(refused)).toEqual(["DECISION_IMPLICIT_DENY", "DECISION_IMPLICIT_DENY"]);
    expect(refused.results[0]?.explanationJson).toContain("identity-based policies alone never grant");
    expect(await decisions(bob, ["sts:AssumeRole"], [roleArn("names-bob")])).toEqual(["DECISION_ALLOW"]);
  });

  it("sts:SetSourceIdentity is decided against the trust policy too: the caller's identity policy alone does not set one", async () => {
    const erin = `arn:aws:iam::${A}:user/erin`;
    const actions = ["sts:AssumeRole", "sts:SetSourceIdentity"];
    expect(await decisions(erin, actions, [roleArn("names-erin")])).toEqual([
      "DECISION_ALLOW",
      "DECISION_IMPLICIT_DENY",
    ]);
    expect(await decisions(erin, actions, [roleArn("names-erin-si")])).toEqual(["DECISION_ALLOW", "DECISION_ALLOW"]);
  });

  it("a trust policy naming the account delegates to the caller's identity policies; an explicit deny wins", async () => {
    expect(await decisions(alice, ["sts:AssumeRole"], [roleArn("names-account")])).toEqual(["DECISION_IMPLICIT_DENY"]);
    expect(await decisions(bob, ["sts:AssumeRole", "sts:TagSession"], [roleArn("names-account")])).toEqual([
      "DECISION_ALLOW",
      "DECISION_ALLOW",
    ]);
    // Alice given sts:AssumeRole by an extra policy: the account-wide trust allows, the deny naming her wins.
    const extra = { extraIdentityPolicies: [anyRole] };
    expect(await decisions(alice, ["sts:AssumeRole"], [roleArn("names-account")], extra)).toEqual(["DECISION_ALLOW"]);
    const denied = await simulate(alice, ["sts:AssumeRole"], [roleArn("denies-alice")], extra);
    expect(decisionsOf(denied)).toEqual(["DECISION_EXPLICIT_DENY"]);
    expect(denied.results[0]?.explanationJson).toContain("NoAlice");
  });

  it("trust conditions see the simulated context; cross-account needs both sides; web identity trusts only its provider", async () => {
    expect(await decisions(alice, ["sts:AssumeRole"], [roleArn("needs-external-id")])).toEqual([
      "DECISION_IMPLICIT_DENY",
    ]);
    const withId = { context: { "sts:ExternalId": { kind: { $case: "stringValue" as const, value: "x-1" } } } };
    expect(await decisions(alice, ["sts:AssumeRole"], [roleArn("needs-external-id")], withId)).toEqual([
      "DECISION_ALLOW",
    ]);
    // Carol (account B) is named by the trust policy, but her own identity policy must allow too.
    expect(await decisions(carol, ["sts:AssumeRole"], [roleArn("names-carol")])).toEqual(["DECISION_IMPLICIT_DENY"]);
    const extra = { extraIdentityPolicies: [anyRole] };
    expect(await decisions(carol, ["sts:AssumeRole"], [roleArn("names-carol")], extra)).toEqual(["DECISION_ALLOW"]);
    expect(await decisions(`arn:aws:iam::${B}:user/dave`, ["sts:AssumeRole"], [roleArn("names-carol")])).toEqual([
      "DECISION_IMPLICIT_DENY",
    ]);
    expect(await decisions(bob, ["sts:AssumeRoleWithWebIdentity"], [roleArn("web")], extra)).toEqual([
      "DECISION_IMPLICIT_DENY",
    ]);
  });

  it("other actions on a role ARN, and STS actions on a role the region does not hold, are decided as before", async () => {
    const readRoles = doc({ Effect: "Allow", Action: "iam:GetRole", Resource: "*" });
    expect(
      await decisions(alice, ["iam:GetRole"], [roleArn("names-alice")], { extraIdentityPolicies: [readRoles] }),
    ).toEqual(["DECISION_ALLOW"]);
    expect(await decisions(bob, ["sts:AssumeRole"], [roleArn("not-stored")])).toEqual(["DECISION_ALLOW"]);
  });
});
