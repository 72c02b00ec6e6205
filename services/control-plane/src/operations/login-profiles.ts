import { IamError } from "@gatehouse/core";
import { toWire } from "../mappers.ts";
import { checkName, checkPasswordInput } from "../validation.ts";
import { forAccount, forUser, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { subjectUser } from "./principals.ts";

/**
 * Console passwords: CreateLoginProfile, UpdateLoginProfile, DeleteLoginProfile, GetLoginProfile,
 * and ChangePassword, an IAM user's own call (the caller-kind layer refuses the root with
 * `InvalidUserType`, as AWS does).
 */
export function loginProfileOperations({ store, targets, authorizer }: OperationDeps) {
  return {
    createLoginProfile: forAccount("CreateLoginProfile", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      const password = checkPasswordInput(r.password, "password");
      await ctx.authorize("CreateLoginProfile", () => targets.principal(ctx.accountId, "user", userName));
      const m = await store.createLoginProfile(ctx.accountId, userName, {
        password,
        passwordResetRequired: r.passwordResetRequired,
        ...ctx.token(r.clientRequestToken),
      });
      return { loginProfile: toWire.loginProfile(m.value), revision: toWire.revision(m) };
    }),
    updateLoginProfile: forAccount("UpdateLoginProfile", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      const password = r.password === undefined ? undefined : checkPasswordInput(r.password, "password");
      await ctx.authorize("UpdateLoginProfile", () => targets.principal(ctx.accountId, "user", userName));
      const m = await store.updateLoginProfile(ctx.accountId, userName, {
        password,
        passwordResetRequired: r.passwordResetRequired,
        ...ctx.token(r.clientRequestToken),
      });
      return { revision: toWire.revision(m) };
    }),
    deleteLoginProfile: forAccount("DeleteLoginProfile", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      await ctx.authorize("DeleteLoginProfile", () => targets.principal(ctx.accountId, "user", userName));
      const m = await store.deleteLoginProfile(ctx.accountId, userName, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    getLoginProfile: forAccount("GetLoginProfile", async (r, ctx) => {
      const userName = subjectUser(ctx, r.userName);
      await ctx.authorize("GetLoginProfile", () => targets.principal(ctx.accountId, "user", userName));
      return {
        loginProfile: toWire.loginProfile(await store.getLoginProfile(ctx.accountId, userName)),
        revision: undefined,
      };
    }),
    changePassword: forUser("ChangePassword", async (r, ctx) => {
      const caller = ctx.caller;
      const oldPassword = checkPasswordInput(r.oldPassword, "oldPassword");
      const newPassword = checkPasswordInput(r.newPassword, "newPassword");
      // As in AWS: the account policy's AllowUsersToChangePassword lets every user change their
      // own password; otherwise iam:ChangePassword on the user (e.g. IAMUserChangePassword) must.
      const policy = await store.getPasswordPolicy(ctx.accountId).catch((e: unknown) => {
        if (IamError.is(e) && e.awsName === "NoSuchEntity") return undefined;
        throw e;
      });
      if (policy?.allowUsersToChangePassword === true) {
        // The account setting grants it without an identity policy; the guardrails still bound it.
        await authorizer.authorize(caller, {
          action: "iam:ChangePassword",
          resource: caller.arn,
          accountId: ctx.accountId,
          context: ctx.sourceIpContext(),
          allowedByAccountSetting: true,
        });
      } else {
        await ctx.authorize("ChangePassword", async () => ({
          arn: caller.arn,
          context: (await targets.principal(ctx.accountId, "user", caller.userName)).context,
        }));
      }
      const m = await store.changePassword(
        ctx.accountId,
        caller.userName,
        oldPassword,
        newPassword,
        ctx.token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),
  } satisfies OperationFamily;
}
