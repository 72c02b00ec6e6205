import { toWire } from "../mappers.ts";
import type { Target } from "../targets.ts";
import { checkName, checkNewPath, checkPath, checkTags } from "../validation.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pathPage } from "./paging.ts";
import { boundaryOnCreate, renamedTarget, subjectUser } from "./principals.ts";

/** IAM users: CreateUser, GetUser, ListUsers, DeleteUser, UpdateUser. */
export function userOperations(deps: OperationDeps) {
  const { store, targets, arns, authenticator } = deps;
  return {
    createUser: forAccount("CreateUser", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      const path = checkPath(r.path);
      const tags = checkTags(r.tags);
      const boundary = boundaryOnCreate(deps, ctx, r.permissionsBoundaryArn);
      await ctx.authorizeCreate(
        "CreateUser",
        "User",
        arns.of(ctx.accountId, "user", path, userName),
        tags,
        boundary.context,
      );
      const m = await store.createUser(ctx.accountId, {
        userName,
        path,
        tags,
        permissionsBoundaryArn: boundary.arn,
        ...ctx.token(r.clientRequestToken),
      });
      return { user: toWire.user(m.value), revision: toWire.revision(m) };
    }),
    getUser: forAccount("GetUser", async (r, ctx) => {
      if (r.userName === "" && ctx.caller.kind === "root") {
        // As AWS: the root asking about itself gets the root user (its id is the account id).
        const rootArn = arns.root(ctx.accountId);
        await ctx.authorize("GetUser", () => rootArn);
        const account = await store.getAccount(ctx.accountId);
        return {
          user: {
            userName: "",
            userId: ctx.accountId,
            arn: rootArn,
            path: "/",
            createDateMs: account.createdAtMs,
            tags: [],
            permissionsBoundaryArn: "",
            // The root has no console password in Gatehouse (it signs in with its access key).
            passwordLastUsedMs: 0,
          },
          revision: undefined,
        };
      }
      const userName = subjectUser(ctx, r.userName);
      await ctx.authorize("GetUser", () => targets.principal(ctx.accountId, "user", userName));
      return { user: toWire.user(await store.getUser(ctx.accountId, userName)), revision: undefined };
    }),
    listUsers: forAccount("ListUsers", async (r, ctx) => {
      const p = pathPage(r.page, r.pathPrefix);
      await ctx.authorize("ListUsers", () => arns.of(ctx.accountId, "user", p.pathPrefix, ""));
      const result = await store.listUsers(ctx.accountId, p);
      return { users: result.items.map(toWire.user), page: toWire.page(result) };
    }),
    deleteUser: forAccount("DeleteUser", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      await ctx.authorize("DeleteUser", () => targets.principal(ctx.accountId, "user", userName));
      return {
        revision: toWire.revision(await store.deleteUser(ctx.accountId, userName, ctx.token(r.clientRequestToken))),
      };
    }),
    updateUser: forAccount("UpdateUser", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      const newUserName = r.newUserName === undefined ? undefined : checkName(r.newUserName, "newUserName", 64);
      const newPath = checkNewPath(r.newPath);
      let current: Target | undefined;
      const source = async () => (current ??= await targets.principal(ctx.accountId, "user", userName));
      // As AWS: iam:UpdateUser on the user as it is and on the user it becomes.
      await ctx.authorize("UpdateUser", source);
      await ctx.authorize("UpdateUser", async () =>
        renamedTarget(await source(), "user", arns.partition, { newName: newUserName, newPath }),
      );
      const m = await store.updateUser(ctx.accountId, {
        userName,
        newUserName,
        newPath,
        ...ctx.token(r.clientRequestToken),
      });
      // Cached credentials carry the caller's ARN and name, which changed.
      for (const id of m.value.accessKeyIds) authenticator.forget(id);
      return { revision: toWire.revision(m) };
    }),
  } satisfies OperationFamily;
}
