import type { AttachPolicyRequest, MutationResponse } from "@gatehouse/proto";
import { toWire } from "../mappers.ts";
import type { AccountContext } from "./call-context.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pathPage } from "./paging.ts";
import { boundaryKey, KIND_WORD, principalOf } from "./principals.ts";

/**
 * Managed policies attached to users, groups and roles: AttachPolicy, DetachPolicy,
 * ListAttachedPolicies (AWS's Attach/Detach/ListAttached{User,Group,Role}Policies in one call each).
 */
export function attachmentOperations({ store, targets, arns }: OperationDeps) {
  /** AttachPolicy and DetachPolicy: `iam:{Attach,Detach}<Kind>Policy` with `iam:PolicyARN` and the boundary. */
  const attachment =
    (verb: "Attach" | "Detach") =>
    async (r: AttachPolicyRequest, ctx: AccountContext): Promise<MutationResponse> => {
      const principal = principalOf(r.entityType, r.entityName);
      const policyArn = arns.policy(r.policyArn);
      await ctx.authorize(`${verb}${KIND_WORD[principal.kind]}Policy`, async () => {
        const t = await targets.principal(ctx.accountId, principal.kind, principal.name);
        const policy = await targets.policy(ctx.accountId, policyArn);
        return { arn: t.arn, context: { ...t.context, ...boundaryKey(t), "iam:PolicyARN": policy.arn } };
      });
      const token = ctx.token(r.clientRequestToken);
      const m =
        verb === "Attach"
          ? await store.attachPolicy(ctx.accountId, principal, policyArn, token)
          : await store.detachPolicy(ctx.accountId, principal, policyArn, token);
      return { revision: toWire.revision(m) };
    };

  return {
    attachPolicy: forAccount("AttachPolicy", attachment("Attach")),
    detachPolicy: forAccount("DetachPolicy", attachment("Detach")),
    listAttachedPolicies: forAccount("ListAttachedPolicies", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      const p = pathPage(r.page, r.pathPrefix);
      await ctx.authorize(`ListAttached${KIND_WORD[principal.kind]}Policies`, () =>
        targets.principal(ctx.accountId, principal.kind, principal.name),
      );
      const result = await store.listAttachedPolicies(ctx.accountId, principal, p);
      return {
        attachedPolicies: result.items.map((a) => ({ policyName: a.policyName, policyArn: a.policyArn })),
        page: toWire.page(result),
      };
    }),
  } satisfies OperationFamily;
}
