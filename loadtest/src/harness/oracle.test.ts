// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text
import type { TypedEntity } from "@gatehouse/events";
import { entityBuilders, policyRef } from "@gatehouse/events/testing";
import { describe, expect, test } from "vitest";
import type { LoadedAccount } from "./dataset.ts";
import { forAccount, GROUPS, MANAGED_POLICIES } from "./dataset-plan.ts";
import { type AccountAt, oracleDecision } from "./oracle.ts";
import { type AckedWrite, lostUpdates, type Observation } from "./propagation.ts";

const ACCOUNT = "111122223333";
const acct = entityBuilders(ACCOUNT, { createdAtMs: 0 });
const policyArn = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/${name}`;

function policy(name: string) {
  return acct.policy(name, MANAGED_POLICIES[name] as string);
}

function group(name: string) {
  const plan = GROUPS.find((g) => g.name === name);
  if (plan === undefined) throw new Error(name);
  return acct.group(name, {
    attachedPolicies: plan.managed.map((m) => policyRef(policy(m))),
    inlinePolicies: Object.entries(plan.inline).map(([policyName, d]) => ({
      policyName,
      policyDocument: forAccount(d, ACCOUNT),
    })),
  });
}

function user(name: string, groups: string[], team: string, boundary?: string): TypedEntity & { kind: "user" } {
  return acct.user(name, {
    tags: [{ key: "team", value: team }],
    permissionsBoundaryArn: boundary === undefined ? null : policyArn(boundary),
    groups: groups.map((g) => ({ groupId: acct.group(g).id, groupName: g })),
  });
}

function account(...users: (TypedEntity & { kind: "user" })[]): AccountAt {
  const groups = GROUPS.map((g) => group(g.name));
  return {
    accountId: ACCOUNT,
    revision: 7,
    byArn: new Map(users.map((u) => [u.state?.arn as string, u])),
    groupsById: new Map(groups.map((g) => [g.state?.groupId as string, g])),
    policies: new Map(Object.keys(MANAGED_POLICIES).map((n) => [policyArn(n), policy(n)])),
    resourcePolicies: new Map(),
    guardrails: [],
  };
}

describe("oracleDecision", () => {
  const dev = user("dev", ["developers"], "red");
  const bounded = user("ops", ["operators"], "red", "LtDeveloperBoundary");
  const a = account(dev, bounded);
  const ask = (principal: string, action: string, resource: string, region = "us-east-1") =>
    oracleDecision(a, { principalArn: `arn:aws:iam::${ACCOUNT}:user/${principal}`, action, resource, region });

  test("group managed policies with ${aws:username} and ${aws:PrincipalTag/team}, and the region filled in", () => {
    expect(ask("dev", "s3:GetObject", "arn:aws:s3:::lt-data/home/dev/a.csv")).toBe("Allow");
    expect(ask("dev", "s3:GetObject", "arn:aws:s3:::lt-data/home/other/a.csv")).toBe("ImplicitDeny");
    const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/red-orders`;
    expect(ask("dev", "dynamodb:Query", table, "us-east-1")).toBe("Allow");
    expect(ask("dev", "dynamodb:Query", table, "ap-southeast-1")).toBe("ImplicitDeny");
    expect(ask("dev", "dynamodb:Query", `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/blue-orders`)).toBe(
      "ImplicitDeny",
    );
  });

  test("group inline denies and the boundary's NotAction deny", () => {
    expect(ask("ops", "ec2:DescribeInstances", "*")).toBe("ExplicitDeny");
    expect(ask("dev", "ec2:DescribeInstances", "*")).toBe("ImplicitDeny");
    expect(ask("ops", "ec2:TerminateInstances", "*")).toBe("ExplicitDeny");
    expect(ask("nobody", "s3:GetObject", "*")).toBe("NoSuchPrincipal");
  });
});

describe("lostUpdates", () => {
  const acct = { accountId: ACCOUNT } as LoadedAccount;
  const w = (seq: number, revision: number): AckedWrite => ({
    seq,
    account: acct,
    revision,
    epoch: "",
    resource: `r${seq}`,
  });
  const seen = (write: AckedWrite, decision: Observation["decision"], evaluatedAt: number): Observation => ({
    region: "us-east-1",
    accountId: ACCOUNT,
    principalArn: "p",
    action: "s3:GetObject",
    resource: write.resource,
    decision,
    evaluatedAt,
    write,
  });
  const w1 = w(1, 10);
  const w2 = w(2, 11);

  test("an allowed answer at the write's revision is no loss", () => {
    expect(lostUpdates([w1, w2], [seen(w1, "Allow", 10), seen(w2, "Allow", 11)])).toBe(0);
  });

  test("a denial is a loss unless a later write at or below the answered revision replaced it", () => {
    expect(lostUpdates([w1, w2], [seen(w1, "ImplicitDeny", 11)])).toBe(0);
    expect(lostUpdates([w1, w2], [seen(w1, "ImplicitDeny", 10)])).toBe(1);
    expect(lostUpdates([w1, w2], [seen(w2, "ImplicitDeny", 12)])).toBe(1);
  });
});
