import { decodeAccountSnapshot } from "@gatehouse/events";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
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
