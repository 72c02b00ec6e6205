import type { PolicyKind } from "@gatehouse/policy";
import { toWire } from "../mappers.ts";
import { checkName, checkPolicyDocument } from "../validation.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pageOf } from "./paging.ts";
import { boundaryKey, KIND_WORD, principalOf } from "./principals.ts";

/**
 * Inline policies of users, groups and roles: PutInlinePolicy, GetInlinePolicy, ListInlinePolicies,
 * DeleteInlinePolicy (AWS's Put/Get/List/Delete{User,Group,Role}Policy).
 */
export function inlinePolicyOperations({ store, targets }: OperationDeps) {
  return {
    putInlinePolicy: forAccount("PutInlinePolicy", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      const policyName = checkName(r.policyName, "policyName", 128);
      const kind = `inline-${principal.kind}` as PolicyKind;
      const policyDocument = checkPolicyDocument(r.policyDocument, kind, "policyDocument");
      await ctx.authorize(`Put${KIND_WORD[principal.kind]}Policy`, async () => {
        const t = await targets.principal(ctx.accountId, principal.kind, principal.name);
        return { arn: t.arn, context: { ...t.context, ...boundaryKey(t) } };
      });
      const m = await store.putInlinePolicy(
        ctx.accountId,
        principal,
        policyName,
        policyDocument,
        ctx.token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),
    getInlinePolicy: forAccount("GetInlinePolicy", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      const policyName = checkName(r.policyName, "policyName", 128);
      await ctx.authorize(`Get${KIND_WORD[principal.kind]}Policy`, () =>
        targets.principal(ctx.accountId, principal.kind, principal.name),
      );
      const p = await store.getInlinePolicy(ctx.accountId, principal, policyName);
      return { policyName: p.policyName, policyDocument: p.document };
    }),
    listInlinePolicies: forAccount("ListInlinePolicies", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      await ctx.authorize(`List${KIND_WORD[principal.kind]}Policies`, () =>
        targets.principal(ctx.accountId, principal.kind, principal.name),
      );
      const result = await store.listInlinePolicies(ctx.accountId, principal, pageOf(r.page));
      return { policyNames: result.items, page: toWire.page(result) };
    }),
    deleteInlinePolicy: forAccount("DeleteInlinePolicy", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      const policyName = checkName(r.policyName, "policyName", 128);
      await ctx.authorize(`Delete${KIND_WORD[principal.kind]}Policy`, async () => {
        const t = await targets.principal(ctx.accountId, principal.kind, principal.name);
        return { arn: t.arn, context: { ...t.context, ...boundaryKey(t) } };
      });
      const m = await store.deleteInlinePolicy(ctx.accountId, principal, policyName, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
  } satisfies OperationFamily;
}
