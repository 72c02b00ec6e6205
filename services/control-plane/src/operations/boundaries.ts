import { IamError } from "@gatehouse/core";
import { toWire } from "../mappers.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { KIND_WORD, principalOf } from "./principals.ts";

/**
 * Permissions boundaries of users and roles: PutPermissionsBoundary (an empty ARN deletes it, as
 * AWS's Delete{User,Role}PermissionsBoundary).
 */
export function boundaryOperations({ store, targets, arns }: OperationDeps) {
  return {
    putPermissionsBoundary: forAccount("PutPermissionsBoundary", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      if (principal.kind === "group") {
        throw new IamError("ValidationError", "permissions boundaries apply to users and roles, not groups", {
          field: "entityType",
        });
      }
      const remove = r.permissionsBoundaryArn === "";
      const boundaryArn = remove ? null : arns.policy(r.permissionsBoundaryArn, "permissionsBoundaryArn");
      await ctx.authorize(`${remove ? "Delete" : "Put"}${KIND_WORD[principal.kind]}PermissionsBoundary`, async () => {
        const t = await targets.principal(ctx.accountId, principal.kind, principal.name);
        // Put: the boundary being set; Delete: the one being removed. Both as iam:PolicyARN too.
        const policyArn =
          boundaryArn === null
            ? t.permissionsBoundaryArn
            : (await targets.policy(ctx.accountId, boundaryArn, "permissionsBoundaryArn")).arn;
        return {
          arn: t.arn,
          context:
            policyArn === null
              ? t.context
              : { ...t.context, "iam:PermissionsBoundary": policyArn, "iam:PolicyARN": policyArn },
        };
      });
      const m = await store.putPermissionsBoundary(
        ctx.accountId,
        principal,
        boundaryArn,
        ctx.token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),
  } satisfies OperationFamily;
}
