import { toWire } from "../mappers.ts";
import {
  checkMaxSessionDuration,
  checkName,
  checkPath,
  checkPolicyDocument,
  checkTags,
  checkText,
} from "../validation.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pathPage } from "./paging.ts";
import { boundaryOnCreate } from "./principals.ts";

/** IAM roles: CreateRole, GetRole, ListRoles, DeleteRole, UpdateRole, UpdateAssumeRolePolicy. */
export function roleOperations(deps: OperationDeps) {
  const { store, targets, arns } = deps;
  return {
    createRole: forAccount("CreateRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      const path = checkPath(r.path);
      const trust = checkPolicyDocument(r.assumeRolePolicyDocument, "trust", "assumeRolePolicyDocument");
      const maxSessionDuration = checkMaxSessionDuration(r.maxSessionDuration);
      const description = checkText(r.description, "description", 1000);
      const tags = checkTags(r.tags);
      const boundary = boundaryOnCreate(deps, ctx, r.permissionsBoundaryArn);
      await ctx.authorizeCreate(
        "CreateRole",
        "Role",
        arns.of(ctx.accountId, "role", path, roleName),
        tags,
        boundary.context,
      );
      const m = await store.createRole(ctx.accountId, {
        roleName,
        path,
        assumeRolePolicyDocument: trust,
        description,
        maxSessionDuration,
        tags,
        permissionsBoundaryArn: boundary.arn,
        ...ctx.token(r.clientRequestToken),
      });
      return { role: toWire.role(m.value), revision: toWire.revision(m) };
    }),
    getRole: forAccount("GetRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      await ctx.authorize("GetRole", () => targets.principal(ctx.accountId, "role", roleName));
      return { role: toWire.role(await store.getRole(ctx.accountId, roleName)), revision: undefined };
    }),
    listRoles: forAccount("ListRoles", async (r, ctx) => {
      const p = pathPage(r.page, r.pathPrefix);
      await ctx.authorize("ListRoles", () => arns.of(ctx.accountId, "role", p.pathPrefix, ""));
      const result = await store.listRoles(ctx.accountId, p);
      return { roles: result.items.map(toWire.role), page: toWire.page(result) };
    }),
    deleteRole: forAccount("DeleteRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      await ctx.authorize("DeleteRole", () => targets.principal(ctx.accountId, "role", roleName));
      return {
        revision: toWire.revision(await store.deleteRole(ctx.accountId, roleName, ctx.token(r.clientRequestToken))),
      };
    }),
    updateRole: forAccount("UpdateRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      const description = r.description === undefined ? undefined : checkText(r.description, "description", 1000);
      const maxSessionDuration =
        r.maxSessionDuration === undefined ? undefined : checkMaxSessionDuration(r.maxSessionDuration);
      await ctx.authorize("UpdateRole", () => targets.principal(ctx.accountId, "role", roleName));
      const m = await store.updateRole(ctx.accountId, roleName, {
        description,
        maxSessionDuration,
        ...ctx.token(r.clientRequestToken),
      });
      return { revision: toWire.revision(m) };
    }),
    updateAssumeRolePolicy: forAccount("UpdateAssumeRolePolicy", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      const document = checkPolicyDocument(r.policyDocument, "trust", "policyDocument");
      await ctx.authorize("UpdateAssumeRolePolicy", () => targets.principal(ctx.accountId, "role", roleName));
      const m = await store.updateAssumeRolePolicy(ctx.accountId, roleName, document, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
  } satisfies OperationFamily;
}
