import { toWire } from "../mappers.ts";
import { checkAccountAlias, checkSetting } from "../validation.ts";
import { forAccount, forOperator, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";

/**
 * Accounts and their settings: CreateAccount (operator only), the account alias
 * (Create/Delete/ListAccountAliases) and the password policy (Update/Get/DeleteAccountPasswordPolicy).
 */
export function accountOperations({ store }: OperationDeps) {
  return {
    createAccount: forOperator("CreateAccount", async (r, ctx) => {
      const created = await store.createAccount({
        alias: r.accountAlias === "" ? undefined : r.accountAlias,
        ...ctx.token(r.clientRequestToken),
      });
      const v = created.value;
      return {
        accountId: v.account.accountId,
        rootArn: v.rootArn,
        rootAccessKeyId: v.rootAccessKey.accessKey.accessKeyId,
        rootSecretAccessKey: v.rootAccessKey.secretAccessKey,
        revision: toWire.revision(created),
      };
    }),
    createAccountAlias: forAccount("CreateAccountAlias", async (r, ctx) => {
      const alias = checkAccountAlias(r.accountAlias);
      await ctx.authorize("CreateAccountAlias", () => "*");
      const m = await store.createAccountAlias(ctx.accountId, alias, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    deleteAccountAlias: forAccount("DeleteAccountAlias", async (r, ctx) => {
      const alias = checkAccountAlias(r.accountAlias);
      await ctx.authorize("DeleteAccountAlias", () => "*");
      const m = await store.deleteAccountAlias(ctx.accountId, alias, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    listAccountAliases: forAccount("ListAccountAliases", async (_r, ctx) => {
      await ctx.authorize("ListAccountAliases", () => "*");
      return { accountAliases: await store.listAccountAliases(ctx.accountId) };
    }),
    updateAccountPasswordPolicy: forAccount("UpdateAccountPasswordPolicy", async (r, ctx) => {
      const policy = {
        minimumPasswordLength: checkSetting(r.minimumPasswordLength, "minimumPasswordLength", 6, 128, 6),
        requireSymbols: r.requireSymbols,
        requireNumbers: r.requireNumbers,
        requireUppercaseCharacters: r.requireUppercaseCharacters,
        requireLowercaseCharacters: r.requireLowercaseCharacters,
        allowUsersToChangePassword: r.allowUsersToChangePassword,
        maxPasswordAge: checkSetting(r.maxPasswordAge, "maxPasswordAge", 1, 1095, 0),
        passwordReusePrevention: checkSetting(r.passwordReusePrevention, "passwordReusePrevention", 1, 24, 0),
        hardExpiry: r.hardExpiry,
      };
      await ctx.authorize("UpdateAccountPasswordPolicy", () => "*");
      const m = await store.updatePasswordPolicy(ctx.accountId, policy, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    getAccountPasswordPolicy: forAccount("GetAccountPasswordPolicy", async (_r, ctx) => {
      await ctx.authorize("GetAccountPasswordPolicy", () => "*");
      const p = await store.getPasswordPolicy(ctx.accountId);
      return { passwordPolicy: { ...p, expirePasswords: p.maxPasswordAge > 0 } };
    }),
    deleteAccountPasswordPolicy: forAccount("DeleteAccountPasswordPolicy", async (r, ctx) => {
      await ctx.authorize("DeleteAccountPasswordPolicy", () => "*");
      const m = await store.deletePasswordPolicy(ctx.accountId, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
  } satisfies OperationFamily;
}
