import { decodeAccountSnapshot } from "@gatehouse/events";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

const NO_USER_DELETION = policyDoc({
  Effect: "Deny",
  Action: ["iam:DeleteUser", "iam:CreateAccountAlias"],
  Resource: "*",
});
const ALLOW_ALL = policyDoc({ Effect: "Allow", Action: "*", Resource: "*" });

describe("account guardrails (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  let denyArn: string;
  let allowArn: string;
  beforeAll(async () => {
    f = await startAccountFixture();
    denyArn = (await f.root.call("createPolicy", { policyName: "NoUserDeletion", policyDocument: NO_USER_DELETION }))
      .policy.arn;
    allowArn = (await f.root.call("createPolicy", { policyName: "AllowAll", policyDocument: ALLOW_ALL })).policy.arn;
  });
  afterAll(async () => {
    await f.close();
  });

  it("only the operator attaches, detaches and lists them; bad input is rejected with AWS errors", async () => {
    const { operator, root, accountId } = f;
    await expectFailure(root.call("attachAccountGuardrail", { accountId, policyArn: denyArn }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    expect((await failureOf(root.call("listAccountGuardrails", { accountId }))).awsName).toBe("AccessDenied");
    await expectFailure(operator.call("attachAccountGuardrail", { accountId: "12", policyArn: denyArn }), {
      awsName: "ValidationError",
      field: "accountId",
    });
    const missing = await failureOf(
      operator.call("attachAccountGuardrail", { accountId, policyArn: `arn:aws:iam::${accountId}:policy/Nope` }),
    );
    expect(missing.awsName).toBe("NoSuchEntity");
    const attached = await operator.call("attachAccountGuardrail", { accountId, policyArn: denyArn });
    expect(attached.revision.accountId).toBe(accountId);
    await operator.call("attachAccountGuardrail", { accountId, policyArn: allowArn });
    const listed = await operator.call("listAccountGuardrails", { accountId });
    expect(listed.guardrails.map((g: { policyArn: string }) => g.policyArn).sort()).toEqual([allowArn, denyArn].sort());
    const snapshot = decodeAccountSnapshot((await operator.call("exportAccount", { accountId })).snapshot);
    const account = snapshot.entities.find((e) => e.key?.kind === "account");
    expect(account?.change?.$case === "upsertJson" && JSON.parse(account.change.value).guardrails).toHaveLength(2);
  });

  it("bound every caller, the root included, through the policy engine", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "victim" });
    await expectFailure(root.call("deleteUser", { userName: "victim" }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    expect((await failureOf(root.call("createAccountAlias", { accountAlias: "blocked-alias" }))).awsName).toBe(
      "AccessDenied",
    );
    await root.call("createUser", { userName: "still-allowed" });
    const admin = await f.aUser("admin", { managed: ["arn:aws:iam::aws:policy/AdministratorAccess"] });
    expect((await failureOf(admin.call("deleteUser", { userName: "victim" }))).awsName).toBe("AccessDenied");
    await admin.call("createGroup", { groupName: "admins" });
    // The account cannot loosen its guardrail by editing the policy: the document was copied.
    await root.call("createPolicyVersion", { policyArn: denyArn, policyDocument: ALLOW_ALL, setAsDefault: true });
    expect((await failureOf(root.call("deleteUser", { userName: "victim" }))).awsName).toBe("AccessDenied");
    await expectFailure(
      f.operator.call("detachAccountGuardrail", {
        accountId: f.accountId,
        policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
      }),
      { code: status.NOT_FOUND, awsName: "NoSuchEntity" },
    );
    await f.operator.call("detachAccountGuardrail", { accountId: f.accountId, policyArn: denyArn });
    await root.call("deleteUser", { userName: "victim" });
    // Guardrails only allowing part of the API deny the rest, for root too.
    const onlyReads = (
      await root.call("createPolicy", {
        policyName: "OnlyReads",
        policyDocument: policyDoc({ Effect: "Allow", Action: ["iam:Get*", "iam:List*"], Resource: "*" }),
      })
    ).policy.arn;
    await f.operator.call("detachAccountGuardrail", { accountId: f.accountId, policyArn: allowArn });
    await f.operator.call("attachAccountGuardrail", { accountId: f.accountId, policyArn: onlyReads });
    expect((await root.call("listUsers", {})).users.length).toBeGreaterThan(0);
    expect((await failureOf(root.call("createUser", { userName: "blocked" }))).awsName).toBe("AccessDenied");
    await f.operator.call("detachAccountGuardrail", { accountId: f.accountId, policyArn: onlyReads });
    await root.call("createUser", { userName: "unblocked" });
  });

  it("bound the root's ExportAccount and a user's ChangePassword granted by the account setting", async () => {
    const { root, operator, accountId } = f;
    const noExport = (
      await root.call("createPolicy", {
        policyName: "NoExportNoPasswordChange",
        policyDocument: policyDoc({
          Effect: "Deny",
          Action: ["iam:ExportAccount", "iam:ChangePassword"],
          Resource: "*",
        }),
      })
    ).policy.arn;
    const changer = await f.aUser("changer");
    await root.call("createLoginProfile", { userName: "changer", password: "First-Pass-1" });
    await root.call("updateAccountPasswordPolicy", { allowUsersToChangePassword: true });
    await root.call("exportAccount", {});
    await changer.call("changePassword", { oldPassword: "First-Pass-1", newPassword: "Second-Pass-2" });
    await operator.call("attachAccountGuardrail", { accountId, policyArn: noExport });
    await expectFailure(root.call("exportAccount", {}), { code: status.PERMISSION_DENIED, awsName: "AccessDenied" });
    await expectFailure(root.call("exportAccount", { accountId }), { awsName: "AccessDenied" });
    await expectFailure(changer.call("changePassword", { oldPassword: "Second-Pass-2", newPassword: "Third-Pass-3" }), {
      awsName: "AccessDenied",
    });
    // The operator, outside every account, still exports it.
    await operator.call("exportAccount", { accountId });
    await operator.call("detachAccountGuardrail", { accountId, policyArn: noExport });
    await root.call("exportAccount", {});
    await changer.call("changePassword", { oldPassword: "Second-Pass-2", newPassword: "Third-Pass-3" });
    // Another account's root cannot export this one.
    const other = await f.anotherAccount();
    await expectFailure(other.root.call("exportAccount", { accountId }), { awsName: "AccessDenied" });
  });
});
