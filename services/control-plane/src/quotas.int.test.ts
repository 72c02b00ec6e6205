import { EntityType } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, totp } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

const tags = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: String(from + i) }));

describe("configurable quotas (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture({
      GATEHOUSE_QUOTA_TAGS_PER_ENTITY: "60",
      GATEHOUSE_QUOTA_GUARDRAILS_PER_ACCOUNT: "1",
      GATEHOUSE_QUOTA_MFA_DEVICES_PER_USER: "1",
      GATEHOUSE_QUOTA_CLIENT_IDS_PER_OIDC_PROVIDER: "120",
      GATEHOUSE_QUOTA_THUMBPRINTS_PER_OIDC_PROVIDER: "6",
      GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_USER: "3000",
    });
  });
  afterAll(async () => {
    await f.close();
  });

  it("inline policy characters per user: above AWS's 2,048 when configured, LimitExceeded past the quota", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "inline" });
    const entity = { entityType: EntityType.ENTITY_TYPE_USER, entityName: "inline" };
    const doc = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${"b".repeat(1300)}` });
    await root.call("putInlinePolicy", { ...entity, policyName: "a", policyDocument: doc });
    await root.call("putInlinePolicy", { ...entity, policyName: "b", policyDocument: doc });
    const over = await expectFailure(
      root.call("putInlinePolicy", { ...entity, policyName: "c", policyDocument: doc }),
      {
        code: status.RESOURCE_EXHAUSTED,
        awsName: "LimitExceeded",
        field: "policyDocument",
      },
    );
    expect(over.details).toContain("quota 3000");
  });

  it("tags per entity: above AWS's 50 when configured, LimitExceeded past the quota", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "tagged", tags: tags(0, 50) });
    await root.call("tagUser", { entityName: "tagged", tags: tags(50, 10) });
    expect(
      (await root.call("listUserTags", { entityName: "tagged", page: { marker: "", maxItems: 100 } })).tags,
    ).toHaveLength(60);
    const over = await expectFailure(root.call("tagUser", { entityName: "tagged", tags: tags(60, 1) }), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
      field: "tags",
    });
    expect(over.details).toContain("quota 60");
  });

  it("tags per entity: the same quota for instance profiles and OIDC providers", async () => {
    const { root } = f;
    await root.call("createInstanceProfile", { instanceProfileName: "tagged-profile", tags: tags(0, 50) });
    const provider = await root.call("createOpenIdConnectProvider", {
      url: "https://tagged.example.com",
      tags: tags(0, 50),
    });
    for (const [kind, entityName] of [
      ["InstanceProfile", "tagged-profile"],
      ["OpenIdConnectProvider", provider.openIdConnectProviderArn],
    ]) {
      await root.call(`tag${kind}`, { entityName, tags: tags(50, 10) });
      const listed = await root.call(`list${kind}Tags`, { entityName, page: { marker: "", maxItems: 100 } });
      expect(listed.tags, kind).toHaveLength(60);
      const over = await expectFailure(
        root.call(`tag${kind}`, { entityName, tags: tags(60, 1) }),
        { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded", field: "tags" },
        kind,
      );
      expect(over.details).toContain("quota 60");
    }
  });

  it("client ids and thumbprints per OIDC provider: above AWS's 100 and 5 when configured", async () => {
    const { root, accountId } = f;
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `client-${from + i}`);
    const thumbprints = (n: number) => Array.from({ length: n }, (_, i) => i.toString(16).repeat(40));
    const tooMany = await expectFailure(
      root.call("createOpenIdConnectProvider", { url: "https://big.example.com", clientIdList: ids(0, 121) }),
      { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded", field: "clientIdList" },
    );
    expect(tooMany.details).toContain("quota 120");
    await expectFailure(
      root.call("createOpenIdConnectProvider", { url: "https://big.example.com", thumbprintList: thumbprints(7) }),
      { awsName: "LimitExceeded", field: "thumbprintList" },
    );

    const created = await root.call("createOpenIdConnectProvider", {
      url: "https://big.example.com",
      clientIdList: ids(0, 110),
      thumbprintList: thumbprints(6),
    });
    const arn = created.openIdConnectProviderArn;
    expect(arn).toBe(`arn:aws:iam::${accountId}:oidc-provider/big.example.com`);
    for (const clientId of ids(110, 10)) {
      await root.call("addClientIdToOpenIdConnectProvider", { openIdConnectProviderArn: arn, clientId });
    }
    const over = await expectFailure(
      root.call("addClientIdToOpenIdConnectProvider", { openIdConnectProviderArn: arn, clientId: "client-120" }),
      { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded", field: "clientId" },
    );
    expect(over.details).toContain("quota 120");
    await expectFailure(
      root.call("updateOpenIdConnectProviderThumbprint", {
        openIdConnectProviderArn: arn,
        thumbprintList: thumbprints(7),
      }),
      { awsName: "LimitExceeded", field: "thumbprintList" },
    );
    const got = await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn });
    expect([got.clientIdList.length, got.thumbprintList.length]).toEqual([120, 6]);
  });

  it("guardrails per account", async () => {
    const { operator, root, accountId } = f;
    const doc = policyDoc({ Effect: "Deny", Action: "iam:CreateAccountAlias", Resource: "*" });
    const a = (await root.call("createPolicy", { policyName: "G1", policyDocument: doc })).policy.arn;
    const b = (await root.call("createPolicy", { policyName: "G2", policyDocument: doc })).policy.arn;
    await operator.call("attachAccountGuardrail", { accountId, policyArn: a });
    const over = await expectFailure(operator.call("attachAccountGuardrail", { accountId, policyArn: b }), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
    });
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
    await expectFailure(enable(two.serialNumber, two.base32StringSeed), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
      field: "userName",
    });
  });
});
