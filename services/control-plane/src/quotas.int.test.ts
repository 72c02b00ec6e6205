import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, totp } from "./test-account.int-helper.ts";
import { failureOf } from "./test-client.int-helper.ts";

const tags = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: String(from + i) }));

describe("configurable quotas (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture({
      GATEHOUSE_QUOTA_TAGS_PER_ENTITY: "60",
      GATEHOUSE_QUOTA_GUARDRAILS_PER_ACCOUNT: "1",
      GATEHOUSE_QUOTA_MFA_DEVICES_PER_USER: "1",
    });
  });
  afterAll(async () => {
    await f.close();
  });

  it("tags per entity: above AWS's 50 when configured, LimitExceeded past the quota", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "tagged", tags: tags(0, 50) });
    await root.call("tagUser", { entityName: "tagged", tags: tags(50, 10) });
    expect(
      (await root.call("listUserTags", { entityName: "tagged", page: { marker: "", maxItems: 100 } })).tags,
    ).toHaveLength(60);
    const over = await failureOf(root.call("tagUser", { entityName: "tagged", tags: tags(60, 1) }));
    expect([over.code, over.awsName, over.field]).toEqual([status.RESOURCE_EXHAUSTED, "LimitExceeded", "tags"]);
    expect(over.details).toContain("quota 60");
  });

  it("guardrails per account", async () => {
    const { operator, root, accountId } = f;
    const doc = policyDoc({ Effect: "Deny", Action: "iam:CreateAccountAlias", Resource: "*" });
    const a = (await root.call("createPolicy", { policyName: "G1", policyDocument: doc })).policy.arn;
    const b = (await root.call("createPolicy", { policyName: "G2", policyDocument: doc })).policy.arn;
    await operator.call("attachAccountGuardrail", { accountId, policyArn: a });
    const over = await failureOf(operator.call("attachAccountGuardrail", { accountId, policyArn: b }));
    expect([over.code, over.awsName]).toEqual([status.RESOURCE_EXHAUSTED, "LimitExceeded"]);
    expect(over.details).toContain("quota 1");
    await operator.call("detachAccountGuardrail", { accountId, policyArn: a });
  });

  it("MFA devices per user: EnableMFADevice answers LimitExceeded", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "mfa-quota" });
    const enable = async (serialNumber: string, seed: string) => {
      const now = Math.floor(Date.now() / 1000);
      return root.call("enableMfaDevice", {
        userName: "mfa-quota",
        serialNumber,
        authenticationCode1: totp(seed, now - 30),
        authenticationCode2: totp(seed, now),
      });
    };
    const one = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "one", path: "/" });
    const two = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "two", path: "/" });
    await enable(one.serialNumber, one.base32StringSeed);
    const over = await failureOf(enable(two.serialNumber, two.base32StringSeed));
    expect([over.code, over.awsName, over.field]).toEqual([status.RESOURCE_EXHAUSTED, "LimitExceeded", "userName"]);
  });
});
