import { IamError } from "@gatehouse/core";
import { toWire } from "../mappers.ts";
import { checkPolicyDocument } from "../validation.ts";
import { forOperator, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";

function checkAccountId(accountId: string): string {
  if (!/^\d{12}$/.test(accountId)) {
    throw new IamError("ValidationError", `accountId ${JSON.stringify(accountId)} must be 12 digits`, {
      field: "accountId",
    });
  }
  return accountId;
}

/**
 * Account guardrails (SCP-like bounds even on the root), operator only: AttachAccountGuardrail,
 * DetachAccountGuardrail, ListAccountGuardrails. A change drops this process's guardrail cache of
 * the account; other control planes see it within the cache's second.
 */
export function guardrailOperations({ store, authorizer }: OperationDeps) {
  return {
    attachAccountGuardrail: forOperator("AttachAccountGuardrail", async (r, ctx) => {
      const accountId = checkAccountId(r.accountId);
      // Validated as a guardrail (kind "scp"); its default version is copied when attached.
      const policy = await store.getPolicy(accountId, r.policyArn);
      const version = await store.getPolicyVersion(accountId, r.policyArn, policy.defaultVersionId);
      const document = checkPolicyDocument(version.document, "scp", "policyArn");
      const m = await store.attachAccountGuardrail(accountId, r.policyArn, document, ctx.token(r.clientRequestToken));
      authorizer.forgetGuardrails(accountId);
      return { revision: toWire.revision(m) };
    }),
    detachAccountGuardrail: forOperator("DetachAccountGuardrail", async (r, ctx) => {
      const accountId = checkAccountId(r.accountId);
      const m = await store.detachAccountGuardrail(accountId, r.policyArn, ctx.token(r.clientRequestToken));
      authorizer.forgetGuardrails(accountId);
      return { revision: toWire.revision(m) };
    }),
    listAccountGuardrails: forOperator("ListAccountGuardrails", async (r) => {
      const list = await store.listAccountGuardrails(checkAccountId(r.accountId));
      return { guardrails: list.map((g) => ({ policyArn: g.policyArn, attachDateMs: g.attachedAtMs })) };
    }),
  } satisfies OperationFamily;
}
