import { EntityType } from "@gatehouse/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, type TestClient } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

const DOC = policyDoc({ Effect: "Allow", Action: "iam:GetUser", Resource: "*" });
const DOC2 = policyDoc({ Effect: "Allow", Action: "iam:ListUsers", Resource: "*" });

/**
 * The operations addressed by a managed policy ARN, each as a call on a given ARN. The store
 * matches policy names case-insensitively, so each must authorize on the policy's stored ARN.
 */
const POLICY_OPS: readonly [string, (c: TestClient, policyArn: string) => Promise<unknown>][] = [
  ["GetPolicy", (c, policyArn) => c.call("getPolicy", { policyArn })],
  ["GetPolicyVersion", (c, policyArn) => c.call("getPolicyVersion", { policyArn, versionId: "v1" })],
  ["ListPolicyVersions", (c, policyArn) => c.call("listPolicyVersions", { policyArn })],
  [
    "CreatePolicyVersion",
    (c, policyArn) => c.call("createPolicyVersion", { policyArn, policyDocument: DOC2, setAsDefault: true }),
  ],
  ["SetDefaultPolicyVersion", (c, policyArn) => c.call("setDefaultPolicyVersion", { policyArn, versionId: "v2" })],
  ["DeletePolicyVersion", (c, policyArn) => c.call("deletePolicyVersion", { policyArn, versionId: "v2" })],
  ["DeletePolicy", (c, policyArn) => c.call("deletePolicy", { policyArn })],
];

describe("authorization on canonical ARNs (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  let prodAdmin: string;
  let devOpsAdmin: string;
  /** Allowed everything but ProdAdmin (by ARN, and by iam:PolicyARN / iam:PermissionsBoundary). */
  let attacker: TestClient;
  /** Allowed only on policies named dev* (case-sensitively, as AWS matches resources). */
  let devOnly: TestClient;

  beforeAll(async () => {
    f = await startAccountFixture();
    prodAdmin = (await f.root.call("createPolicy", { policyName: "ProdAdmin", policyDocument: DOC })).policy.arn;
    devOpsAdmin = (await f.root.call("createPolicy", { policyName: "DevOpsAdmin", policyDocument: DOC })).policy.arn;
    await f.root.call("createPolicyVersion", { policyArn: prodAdmin, policyDocument: DOC2, setAsDefault: false });
    await f.root.call("createPolicyVersion", { policyArn: devOpsAdmin, policyDocument: DOC2, setAsDefault: false });
    await f.root.call("createUser", { userName: "target" });
    attacker = await f.aUser("attacker", {
      inline: [
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: "iam:*", Resource: "*" },
            { Effect: "Deny", Action: "iam:*", Resource: prodAdmin },
            {
              Effect: "Deny",
              Action: "iam:*",
              Resource: "*",
              Condition: { StringEquals: { "iam:PolicyARN": prodAdmin } },
            },
            {
              Effect: "Deny",
              Action: ["iam:PutUserPermissionsBoundary", "iam:CreateUser"],
              Resource: "*",
              Condition: { StringEquals: { "iam:PermissionsBoundary": prodAdmin } },
            },
          ],
        }),
      ],
    });
    devOnly = await f.aUser("dev-only", {
      inline: [policyDoc({ Effect: "Allow", Action: "iam:*", Resource: `arn:aws:iam::${f.accountId}:policy/dev*` })],
    });
  });
  afterAll(async () => {
    await f.close();
  });

  const variants = (arn: string) => ({
    lowerCase: arn.replace(/policy\/.*$/, (m) => m.toLowerCase()),
    upperCase: arn.replace(/policy\/.*$/, (m) => `policy/${m.slice("policy/".length).toUpperCase()}`),
    withRegion: arn.replace(":iam::", ":iam:us-east-1:"),
  });

  it.each(POLICY_OPS)(
    "%s: a Deny on the stored ARN holds against other spellings; a region is refused",
    async (_, op) => {
      const v = variants(prodAdmin);
      for (const arn of [prodAdmin, v.lowerCase, v.upperCase]) {
        await expectFailure(op(attacker, arn), { awsName: "AccessDenied" }, arn);
      }
      await expectFailure(op(attacker, v.withRegion), { awsName: "InvalidInput", field: "policyArn" });
      // An Allow on policy/dev* does not reach DevOpsAdmin through a lower-case spelling.
      const d = variants(devOpsAdmin);
      await expectFailure(op(devOnly, d.lowerCase), { awsName: "AccessDenied" }, d.lowerCase);
      // The root (no guardrails) is refused a regional ARN just the same: it is bad input, not a denial.
      await expectFailure(op(f.root, variants(devOpsAdmin).withRegion), {
        awsName: "InvalidInput",
        field: "policyArn",
      });
    },
  );

  it("a missing policy keeps today's order: AccessDenied without the permission, NoSuchEntity with it", async () => {
    const missing = `arn:aws:iam::${f.accountId}:policy/Nope`;
    const reader = await f.aUser("no-policy-rights", { inline: [DOC] });
    await expectFailure(reader.call("getPolicy", { policyArn: missing }), { awsName: "AccessDenied" });
    await expectFailure(attacker.call("getPolicy", { policyArn: missing }), { awsName: "NoSuchEntity" });
    await expectFailure(attacker.call("deletePolicy", { policyArn: missing }), { awsName: "NoSuchEntity" });
  });

  it("Attach/Detach*Policy and Put*PermissionsBoundary judge iam:PolicyARN on the stored ARN", async () => {
    const user = { entityType: EntityType.ENTITY_TYPE_USER, entityName: "target" };
    const v = variants(prodAdmin);
    for (const policyArn of [prodAdmin, v.lowerCase, v.upperCase]) {
      await expectFailure(
        attacker.call("attachPolicy", { ...user, policyArn }),
        { awsName: "AccessDenied" },
        policyArn,
      );
      await expectFailure(
        attacker.call("putPermissionsBoundary", { ...user, permissionsBoundaryArn: policyArn }),
        { awsName: "AccessDenied" },
        policyArn,
      );
      await expectFailure(
        attacker.call("createUser", { userName: "bounded-by-prod", permissionsBoundaryArn: policyArn }),
        { awsName: "AccessDenied" },
        policyArn,
      );
    }
    await expectFailure(attacker.call("attachPolicy", { ...user, policyArn: v.withRegion }), {
      awsName: "InvalidInput",
      field: "policyArn",
    });
    await expectFailure(attacker.call("putPermissionsBoundary", { ...user, permissionsBoundaryArn: v.withRegion }), {
      awsName: "InvalidInput",
      field: "permissionsBoundaryArn",
    });
    await expectFailure(attacker.call("createUser", { userName: "regional", permissionsBoundaryArn: v.withRegion }), {
      awsName: "InvalidInput",
      field: "permissionsBoundaryArn",
    });
    // Detach: attached by the root, the attacker cannot detach it under any spelling.
    await f.root.call("attachPolicy", { ...user, policyArn: prodAdmin });
    for (const policyArn of [prodAdmin, v.lowerCase]) {
      await expectFailure(
        attacker.call("detachPolicy", { ...user, policyArn }),
        { awsName: "AccessDenied" },
        policyArn,
      );
    }
    // Other policies go through, whatever their spelling: the store's lookup is unchanged.
    await attacker.call("attachPolicy", { ...user, policyArn: variants(devOpsAdmin).lowerCase });
    const attached = await f.root.call("listAttachedPolicies", user);
    expect(attached.attachedPolicies.map((a: { policyArn: string }) => a.policyArn).sort()).toEqual(
      [devOpsAdmin, prodAdmin].sort(),
    );
  });

  it("OIDC provider and MFA device ARNs: a region is refused, other spellings never reach the entity", async () => {
    const created = await f.root.call("createOpenIdConnectProvider", {
      url: "https://issuer.example.com",
      clientIdList: ["app"],
      thumbprintList: ["a".repeat(40)],
    });
    const arn: string = created.openIdConnectProviderArn;
    const denier = await f.aUser("oidc-denied", {
      inline: [
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: "iam:*", Resource: "*" },
            { Effect: "Deny", Action: "iam:*", Resource: arn },
          ],
        }),
      ],
    });
    const regional = arn.replace(":iam::", ":iam:eu-west-1:");
    const upper = arn.replace(/oidc-provider\/.*$/, (m) => `oidc-provider/${m.slice(14).toUpperCase()}`);
    const ops: [string, (a: string) => Promise<unknown>][] = [
      ["GetOpenIDConnectProvider", (a) => denier.call("getOpenIdConnectProvider", { openIdConnectProviderArn: a })],
      [
        "AddClientIDToOpenIDConnectProvider",
        (a) => denier.call("addClientIdToOpenIdConnectProvider", { openIdConnectProviderArn: a, clientId: "x" }),
      ],
      [
        "RemoveClientIDFromOpenIDConnectProvider",
        (a) => denier.call("removeClientIdFromOpenIdConnectProvider", { openIdConnectProviderArn: a, clientId: "app" }),
      ],
      [
        "UpdateOpenIDConnectProviderThumbprint",
        (a) =>
          denier.call("updateOpenIdConnectProviderThumbprint", {
            openIdConnectProviderArn: a,
            thumbprintList: ["b".repeat(40)],
          }),
      ],
      [
        "UpdateOpenIDConnectProviderJWKS",
        (a) => denier.call("updateOpenIdConnectProviderJwks", { openIdConnectProviderArn: a, jwksJson: "" }),
      ],
      [
        "DeleteOpenIDConnectProvider",
        (a) => denier.call("deleteOpenIdConnectProvider", { openIdConnectProviderArn: a }),
      ],
      [
        "TagOpenIDConnectProvider",
        (a) => denier.call("tagOpenIdConnectProvider", { entityName: a, tags: [{ key: "k", value: "v" }] }),
      ],
      [
        "UntagOpenIDConnectProvider",
        (a) => denier.call("untagOpenIdConnectProvider", { entityName: a, tagKeys: ["k"] }),
      ],
      ["ListOpenIDConnectProviderTags", (a) => denier.call("listOpenIdConnectProviderTags", { entityName: a })],
    ];
    for (const [label, op] of ops) {
      await expectFailure(op(arn), { awsName: "AccessDenied" }, label);
      const e = await failureOf(op(regional));
      expect([e.awsName, e.field], label).toEqual([
        "InvalidInput",
        /tag/i.test(label) ? "entityName" : "openIdConnectProviderArn",
      ]);
      expect(["AccessDenied", "NoSuchEntity"], label).toContain((await failureOf(op(upper))).awsName);
    }
    // The provider is untouched.
    const after = await f.root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn });
    expect(after.clientIdList).toEqual(["app"]);

    const device = await f.root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "Token" });
    const serial: string = device.serialNumber;
    const mfaDenier = await f.aUser("mfa-denied", {
      inline: [
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: "iam:*", Resource: "*" },
            { Effect: "Deny", Action: "iam:*", Resource: serial },
          ],
        }),
      ],
    });
    await expectFailure(mfaDenier.call("deleteVirtualMfaDevice", { serialNumber: serial }), {
      awsName: "AccessDenied",
    });
    await expectFailure(
      mfaDenier.call("deleteVirtualMfaDevice", { serialNumber: serial.replace(":iam::", ":iam:us-east-1:") }),
      { awsName: "InvalidInput", field: "serialNumber" },
    );
    await expectFailure(mfaDenier.call("deleteVirtualMfaDevice", { serialNumber: serial.toLowerCase() }), {
      awsName: "NoSuchEntity",
    });
    const regionalSerial = serial.replace(":iam::", ":iam:us-east-1:");
    await f.root.call("createUser", { userName: "mfa-owner" });
    const codes = { authenticationCode1: "123456", authenticationCode2: "654321" };
    await expectFailure(
      f.root.call("enableMfaDevice", { userName: "mfa-owner", serialNumber: regionalSerial, ...codes }),
      { awsName: "InvalidInput", field: "serialNumber" },
    );
    await expectFailure(f.root.call("deactivateMfaDevice", { userName: "mfa-owner", serialNumber: regionalSerial }), {
      awsName: "InvalidInput",
      field: "serialNumber",
    });
  });
});
