import { decodeAccountSnapshot } from "@gatehouse/events";
import { EntityType } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, totp } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

describe("account alias and password policy (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it("CreateAccountAlias/DeleteAccountAlias/ListAccountAliases with AWS's rules, globally unique", async () => {
    const { root } = f;
    const alias = `acme-${f.accountId}`;
    expect((await root.call("listAccountAliases", {})).accountAliases).toEqual([]);
    const set = await root.call("createAccountAlias", { accountAlias: alias });
    expect(set.revision.revision).toBeGreaterThan(1);
    expect((await root.call("listAccountAliases", {})).accountAliases).toEqual([alias]);
    // Setting it again changes nothing; a new one replaces it.
    expect((await root.call("createAccountAlias", { accountAlias: alias })).revision).toEqual(set.revision);
    const taken = await f.anotherAccount();
    await expectFailure(taken.root.call("createAccountAlias", { accountAlias: alias }), {
      code: status.ALREADY_EXISTS,
      awsName: "EntityAlreadyExists",
      field: "accountAlias",
    });
    for (const bad of ["ab", "-abc", "abc-", "a--b", "Upper", "under_score", "123456789012", "x".repeat(64)]) {
      await expectFailure(root.call("createAccountAlias", { accountAlias: bad }), {
        code: status.INVALID_ARGUMENT,
        awsName: "ValidationError",
        field: "accountAlias",
      });
    }
    await expectFailure(root.call("deleteAccountAlias", { accountAlias: "not-this-one" }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
    });
    await root.call("deleteAccountAlias", { accountAlias: alias });
    expect((await root.call("listAccountAliases", {})).accountAliases).toEqual([]);
    // Free again for others.
    await taken.root.call("createAccountAlias", { accountAlias: alias });
  });

  it("Update/Get/DeleteAccountPasswordPolicy with AWS's fields, defaults and bounds", async () => {
    const { root } = f;
    await expectFailure(root.call("getAccountPasswordPolicy", {}), { code: status.NOT_FOUND, awsName: "NoSuchEntity" });
    await root.call("updateAccountPasswordPolicy", {});
    expect((await root.call("getAccountPasswordPolicy", {})).passwordPolicy).toEqual({
      minimumPasswordLength: 6,
      requireSymbols: false,
      requireNumbers: false,
      requireUppercaseCharacters: false,
      requireLowercaseCharacters: false,
      allowUsersToChangePassword: false,
      expirePasswords: false,
      maxPasswordAge: 0,
      passwordReusePrevention: 0,
      hardExpiry: false,
    });
    await root.call("updateAccountPasswordPolicy", {
      minimumPasswordLength: 14,
      requireSymbols: true,
      requireNumbers: true,
      allowUsersToChangePassword: true,
      maxPasswordAge: 90,
      passwordReusePrevention: 5,
    });
    expect((await root.call("getAccountPasswordPolicy", {})).passwordPolicy).toMatchObject({
      minimumPasswordLength: 14,
      requireSymbols: true,
      expirePasswords: true,
      maxPasswordAge: 90,
      passwordReusePrevention: 5,
    });
    for (const [field, value] of [
      ["minimumPasswordLength", 5],
      ["minimumPasswordLength", 129],
      ["maxPasswordAge", 1096],
      ["passwordReusePrevention", 25],
    ] as const) {
      await expectFailure(root.call("updateAccountPasswordPolicy", { [field]: value }), {
        awsName: "ValidationError",
        field,
      });
    }
    const exported = decodeAccountSnapshot((await root.call("exportAccount", { accountId: "" })).snapshot);
    const account = exported.entities.find((e) => e.key?.kind === "account");
    expect(account?.change?.$case === "upsertJson" && JSON.parse(account.change.value).passwordPolicy).toMatchObject({
      minimumPasswordLength: 14,
    });
    await root.call("deleteAccountPasswordPolicy", {});
    expect((await failureOf(root.call("deleteAccountPasswordPolicy", {}))).awsName).toBe("NoSuchEntity");
  });

  it("authorizes iam:<Operation> on *", async () => {
    const reader = await f.aUser("pp-reader", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:GetAccountPasswordPolicy", "iam:ListAccountAliases"],
          Resource: "*",
        }),
      ],
    });
    expect((await reader.call("listAccountAliases", {})).accountAliases).toBeDefined();
    expect((await failureOf(reader.call("getAccountPasswordPolicy", {}))).awsName).toBe("NoSuchEntity");
    expect((await failureOf(reader.call("updateAccountPasswordPolicy", {}))).awsName).toBe("AccessDenied");
    expect((await failureOf(reader.call("createAccountAlias", { accountAlias: "sneaky-alias" }))).awsName).toBe(
      "AccessDenied",
    );
  });
});

describe("GetAccountSummary (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture({
      GATEHOUSE_QUOTA_USERS_PER_ACCOUNT: "7",
      GATEHOUSE_QUOTA_GROUPS_PER_USER: "4",
      GATEHOUSE_QUOTA_ATTACHED_POLICIES_PER_ENTITY: "6",
      GATEHOUSE_QUOTA_INLINE_POLICY_CHARS_PER_USER: "1500",
    });
  });
  afterAll(async () => {
    await f.close();
  });

  /** A new account's map: AWS's keys, this control plane's quotas, the root's first key. */
  const fresh = {
    Users: 0,
    UsersQuota: 7,
    Groups: 0,
    GroupsQuota: 300,
    Roles: 0,
    RolesQuota: 1000,
    Policies: 0,
    PoliciesQuota: 1500,
    InstanceProfiles: 0,
    InstanceProfilesQuota: 1000,
    Providers: 0,
    MFADevices: 0,
    MFADevicesInUse: 0,
    AccountMFAEnabled: 0,
    AccountAccessKeysPresent: 1,
    AccountPasswordPresent: 0,
    AccountSigningCertificatesPresent: 0,
    ServerCertificates: 0,
    ServerCertificatesQuota: 0,
    SigningCertificatesPerUserQuota: 0,
    GroupsPerUserQuota: 4,
    AccessKeysPerUserQuota: 2,
    AttachedPoliciesPerUserQuota: 6,
    AttachedPoliciesPerGroupQuota: 6,
    AttachedPoliciesPerRoleQuota: 6,
    UserPolicySizeQuota: 1500,
    GroupPolicySizeQuota: 5120,
    RolePolicySizeQuota: 10240,
    PolicySizeQuota: 6144,
    AssumeRolePolicySizeQuota: 2048,
    VersionsPerPolicyQuota: 5,
    PolicyVersionsInUse: 0,
    PolicyVersionsInUseQuota: (7 + 300 + 1000) * 6,
    GlobalEndpointTokenVersion: 1,
  };

  it("AWS's SummaryMap: the account's counts and the configured quotas", async () => {
    const { root, accountId } = f;
    expect((await root.call("getAccountSummary", {})).summaryMap).toEqual(fresh);

    const user = { entityType: EntityType.ENTITY_TYPE_USER, entityName: "sum-user" };
    const trust = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
    await root.call("createUser", { userName: "sum-user" });
    await root.call("createGroup", { groupName: "sum-group" });
    await root.call("createRole", { roleName: "sum-role", assumeRolePolicyDocument: trust });
    const policyArn = (
      await root.call("createPolicy", {
        policyName: "sum-policy",
        policyDocument: policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
      })
    ).policy.arn;
    await root.call("attachPolicy", { ...user, policyArn });
    await root.call("attachPolicy", { entityType: EntityType.ENTITY_TYPE_ROLE, entityName: "sum-role", policyArn });
    await root.call("attachPolicy", {
      entityType: EntityType.ENTITY_TYPE_GROUP,
      entityName: "sum-group",
      policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
    });
    await root.call("createInstanceProfile", { instanceProfileName: "sum-profile" });
    await root.call("createOpenIdConnectProvider", {
      url: "https://summary.example.com",
      clientIdList: ["app"],
      thumbprintList: ["a".repeat(40)],
    });
    const phone = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "sum-phone", path: "/" });
    await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "sum-spare", path: "/" });
    const now = Math.floor(Date.now() / 1000);
    await root.call("enableMfaDevice", {
      userName: "sum-user",
      serialNumber: phone.serialNumber,
      authenticationCode1: totp(phone.base32StringSeed, now - 30),
      authenticationCode2: totp(phone.base32StringSeed, now),
    });
    const counted = {
      ...fresh,
      Users: 1,
      Groups: 1,
      Roles: 1,
      Policies: 1,
      PolicyVersionsInUse: 3,
      InstanceProfiles: 1,
      Providers: 1,
      MFADevices: 2,
      MFADevicesInUse: 1,
    };
    expect((await root.call("getAccountSummary", {})).summaryMap).toEqual(counted);
    // Another account's entities are not counted, and it counts its own.
    const other = await f.anotherAccount();
    expect((await other.root.call("getAccountSummary", {})).summaryMap).toEqual(fresh);

    // Users need iam:GetAccountSummary, on "*" (the action has no resource type).
    const nobody = await f.aUser("sum-nobody");
    await expectFailure(nobody.call("getAccountSummary", {}), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    const onUsers = await f.aUser("sum-on-users", {
      inline: [
        policyDoc({ Effect: "Allow", Action: "iam:GetAccountSummary", Resource: `arn:aws:iam::${accountId}:user/*` }),
      ],
    });
    await expectFailure(onUsers.call("getAccountSummary", {}), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    const reader = await f.aUser("sum-reader", {
      inline: [policyDoc({ Effect: "Allow", Action: "iam:GetAccountSummary", Resource: "*" })],
    });
    expect((await reader.call("getAccountSummary", {})).summaryMap).toEqual({ ...counted, Users: 4 });

    // The root deletes its only access key: AccountAccessKeysPresent follows.
    const rootKey = (await root.call("listAccessKeys", { userName: "" })).accessKeys[0].accessKeyId;
    await root.call("deleteAccessKey", { userName: "", accessKeyId: rootKey });
    expect((await reader.call("getAccountSummary", {})).summaryMap).toMatchObject({ AccountAccessKeysPresent: 0 });
  });
});
