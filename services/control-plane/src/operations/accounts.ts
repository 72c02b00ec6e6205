import { POLICY_SIZE_LIMITS } from "@gatehouse/policy";
import { type AccountUsage, type StoreQuotas, VERSIONS_PER_POLICY } from "@gatehouse/store-postgres";
import { toWire } from "../mappers.ts";
import { checkAccountAlias, checkSetting } from "../validation.ts";
import { forAccount, forOperator, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pageOf } from "./paging.ts";

/**
 * Accounts and their settings: CreateAccount and ListAccounts (operator only), the account alias
 * (Create/Delete/ListAccountAliases), the password policy (Update/Get/DeleteAccountPasswordPolicy)
 * and GetAccountSummary.
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
    // A new region's bootstrap: the accounts to export, with the revisions it will catch up from.
    listAccounts: forOperator("ListAccounts", async (r) => {
      const list = await store.listAccounts(pageOf(r.page));
      return {
        accounts: list.items.map((a) => ({ accountId: a.accountId, revision: a.revision, epoch: list.epoch })),
        epoch: list.epoch,
        page: { isTruncated: list.isTruncated, marker: list.marker },
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
    getAccountSummary: forAccount("GetAccountSummary", async (_r, ctx) => {
      // AWS authorizes it on no resource type: "*".
      await ctx.authorize("GetAccountSummary", () => "*");
      return { summaryMap: summaryMap(await store.getAccountUsage(ctx.accountId), store.options.quotas) };
    }),
    deleteAccountPasswordPolicy: forAccount("DeleteAccountPasswordPolicy", async (r, ctx) => {
      await ctx.authorize("DeleteAccountPasswordPolicy", () => "*");
      const m = await store.deletePasswordPolicy(ctx.accountId, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
  } satisfies OperationFamily;
}

/**
 * AWS's SummaryMap from the account's counts and this control plane's quotas. The keys AWS returns
 * for what Gatehouse does not have keep AWS's meaning with this service's values: no server or
 * signing certificates can exist here (count 0, quota 0), the account root has no password and no
 * MFA device (AccountPasswordPresent, AccountMFAEnabled 0), and STS has one token version
 * (GlobalEndpointTokenVersion 1, AWS's default). PolicyVersionsInUse counts the account's
 * managed-policy attachments; Gatehouse has no quota of its own on them, so its quota is the bound
 * the other quotas imply (every user, group and role with the most attachments).
 */
function summaryMap(usage: AccountUsage, quotas: StoreQuotas): Record<string, number> {
  const flag = (present: boolean): number => (present ? 1 : 0);
  const principals = quotas.usersPerAccount + quotas.groupsPerAccount + quotas.rolesPerAccount;
  return {
    Users: usage.users,
    UsersQuota: quotas.usersPerAccount,
    Groups: usage.groups,
    GroupsQuota: quotas.groupsPerAccount,
    Roles: usage.roles,
    RolesQuota: quotas.rolesPerAccount,
    Policies: usage.policies,
    PoliciesQuota: quotas.managedPoliciesPerAccount,
    InstanceProfiles: usage.instanceProfiles,
    InstanceProfilesQuota: quotas.instanceProfilesPerAccount,
    Providers: usage.oidcProviders,
    MFADevices: usage.mfaDevices,
    MFADevicesInUse: usage.mfaDevicesInUse,
    AccountMFAEnabled: 0,
    AccountAccessKeysPresent: flag(usage.rootAccessKeys > 0),
    AccountPasswordPresent: 0,
    AccountSigningCertificatesPresent: 0,
    ServerCertificates: 0,
    ServerCertificatesQuota: 0,
    SigningCertificatesPerUserQuota: 0,
    GroupsPerUserQuota: quotas.groupsPerUser,
    AccessKeysPerUserQuota: quotas.accessKeysPerUser,
    AttachedPoliciesPerUserQuota: quotas.attachedPoliciesPerEntity,
    AttachedPoliciesPerGroupQuota: quotas.attachedPoliciesPerEntity,
    AttachedPoliciesPerRoleQuota: quotas.attachedPoliciesPerEntity,
    UserPolicySizeQuota: quotas.inlinePolicyCharsPerUser,
    GroupPolicySizeQuota: quotas.inlinePolicyCharsPerGroup,
    RolePolicySizeQuota: quotas.inlinePolicyCharsPerRole,
    PolicySizeQuota: POLICY_SIZE_LIMITS.managed ?? 0,
    AssumeRolePolicySizeQuota: POLICY_SIZE_LIMITS.trust ?? 0,
    VersionsPerPolicyQuota: VERSIONS_PER_POLICY,
    PolicyVersionsInUse: usage.policyAttachments,
    PolicyVersionsInUseQuota: Math.min(principals * quotas.attachedPoliciesPerEntity, 2 ** 31 - 1),
    GlobalEndpointTokenVersion: 1,
  };
}
