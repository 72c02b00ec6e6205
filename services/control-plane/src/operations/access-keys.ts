import { IamError } from "@gatehouse/core";
import { toWire } from "../mappers.ts";
import { checkAccessKeyId } from "../validation.ts";
import type { AccountContext, AuthzTarget } from "./call-context.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { subjectUser } from "./principals.ts";

/**
 * Access keys of IAM users and of the account root: CreateAccessKey, UpdateAccessKey,
 * DeleteAccessKey, ListAccessKeys, GetAccessKeyLastUsed. Deactivating or deleting a key drops it
 * from the authenticator's cache at once. Last use is recorded by the authenticator (in memory,
 * written in batches: approximate, as in AWS) and is no IAM state: no revision, no event.
 */
export function accessKeyOperations({ store, targets, arns, authenticator }: OperationDeps) {
  /**
   * Whose access keys a call is about: the named user, the calling user, or (`null`) the account
   * root's own keys when root credentials name no user. Only the root reaches its own keys, as in AWS.
   */
  const keyOwner = (ctx: AccountContext, userName: string): string | null =>
    userName === "" && ctx.caller.kind === "root" ? null : subjectUser(ctx, userName);

  /** The ARN access-key calls are authorized on: the user's, or the account root's. */
  const keyOwnerArn = (ctx: AccountContext, userName: string | null): Promise<AuthzTarget> | AuthzTarget =>
    userName === null ? arns.root(ctx.accountId) : targets.principal(ctx.accountId, "user", userName);

  return {
    createAccessKey: forAccount("CreateAccessKey", async (r, ctx) => {
      const userName = keyOwner(ctx, r.userName);
      await ctx.authorize("CreateAccessKey", () => keyOwnerArn(ctx, userName));
      const m = await store.createAccessKey(ctx.accountId, userName, ctx.token(r.clientRequestToken));
      return {
        accessKey: toWire.accessKey(m.value.accessKey),
        secretAccessKey: m.value.secretAccessKey,
        revision: toWire.revision(m),
      };
    }),
    updateAccessKey: forAccount("UpdateAccessKey", async (r, ctx) => {
      if (r.status !== "Active" && r.status !== "Inactive") {
        throw new IamError("ValidationError", `status ${JSON.stringify(r.status)} must be Active or Inactive`, {
          field: "status",
        });
      }
      const userName = keyOwner(ctx, r.userName);
      await ctx.authorize("UpdateAccessKey", () => keyOwnerArn(ctx, userName));
      const m = await store.updateAccessKey(
        ctx.accountId,
        userName,
        r.accessKeyId,
        r.status,
        ctx.token(r.clientRequestToken),
      );
      authenticator.forget(r.accessKeyId);
      return { revision: toWire.revision(m) };
    }),
    deleteAccessKey: forAccount("DeleteAccessKey", async (r, ctx) => {
      const userName = keyOwner(ctx, r.userName);
      await ctx.authorize("DeleteAccessKey", () => keyOwnerArn(ctx, userName));
      const m = await store.deleteAccessKey(ctx.accountId, userName, r.accessKeyId, ctx.token(r.clientRequestToken));
      authenticator.forget(r.accessKeyId);
      return { revision: toWire.revision(m) };
    }),
    listAccessKeys: forAccount("ListAccessKeys", async (r, ctx) => {
      const userName = keyOwner(ctx, r.userName);
      await ctx.authorize("ListAccessKeys", () => keyOwnerArn(ctx, userName));
      return { accessKeys: (await store.listAccessKeys(ctx.accountId, userName)).map(toWire.accessKey) };
    }),
    getAccessKeyLastUsed: forAccount("GetAccessKeyLastUsed", async (r, ctx) => {
      const accessKeyId = checkAccessKeyId(r.accessKeyId);
      // The request names only the key: it is authorized on its owner (the user, so a policy on
      // user/${aws:username} lets users read their own keys, or the root). A key this account does
      // not have is authorized on all of the account's users (user/*): only a caller allowed on
      // every user learns that a key id is unknown, others get AccessDenied either way.
      const key = await store.getAccessKey(ctx.accountId, accessKeyId).catch((e: unknown) => {
        if (IamError.is(e) && e.awsName === "NoSuchEntity") return undefined;
        throw e;
      });
      await ctx.authorize("GetAccessKeyLastUsed", () =>
        key === undefined ? arns.of(ctx.accountId, "user", "/", "*") : keyOwnerArn(ctx, key.userName),
      );
      if (key === undefined) {
        throw new IamError("NoSuchEntity", `access key ${JSON.stringify(accessKeyId)} does not exist`, {
          field: "accessKeyId",
        });
      }
      return { userName: key.userName ?? "", accessKeyLastUsed: toWire.accessKeyLastUsed(key) };
    }),
  } satisfies OperationFamily;
}
