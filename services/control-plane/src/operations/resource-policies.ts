import { checkArnPartition, IamError, tryParseArn } from "@gatehouse/core";
import { policySize } from "@gatehouse/policy";
import type { ResourcePolicyRecord } from "@gatehouse/store-postgres";
import { toWire } from "../mappers.ts";
import { checkPolicyDocument } from "../validation.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pageOf } from "./paging.ts";

/**
 * Characters (whitespace excluded) a stored resource policy may have. The policy engine has no
 * generic limit for its `resource` kind (`POLICY_SIZE_LIMITS` has none: AWS's limits are per
 * service, e.g. 20 KB for S3 bucket policies, 32 KB for KMS key policies), so Gatehouse applies
 * S3's 20,480 to every resource policy, which also bounds the `resource-policy` state event.
 */
export const RESOURCE_POLICY_MAX_CHARS = 20_480;

/** IAM's longest ARN. */
const MAX_ARN_LENGTH = 2048;
const ACCOUNT_ID = /^\d{12}$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * Checks a resource ARN a request names: a full six-part ARN (`arn:partition:service:region:
 * account:resource`, resource part not empty) of this partition, without wildcards, in printable
 * ASCII (no whitespace), at most 2,048 characters; InvalidInput naming `field` otherwise. Its
 * account must be the caller's, or empty for resources whose ARNs carry none (S3 buckets):
 * AccessDenied otherwise, since an account keeps policies only for its own resources.
 */
export function checkResourceArn(text: string, accountId: string, partition: string, field = "resourceArn"): string {
  const invalid = (why: string) => new IamError("InvalidInput", `${field} ${JSON.stringify(text)} ${why}`, { field });
  if (text === "") throw new IamError("InvalidInput", `${field} is required`, { field });
  if (text.length > MAX_ARN_LENGTH) throw invalid(`has ${text.length} characters (at most ${MAX_ARN_LENGTH})`);
  const arn = tryParseArn(text);
  if (arn === undefined || arn.resource === "") {
    throw invalid("is not a valid ARN (arn:partition:service:region:account-id:resource)");
  }
  if (/[*?]/.test(text)) throw invalid("has a wildcard; a resource policy belongs to one resource");
  // Printable ASCII only: the ARN is a primary key and the outbox's entity id, and btree entries
  // are limited to about 2,700 bytes, which 2,048 multi-byte characters could pass.
  if (!PRINTABLE_ASCII.test(text)) throw invalid("may contain only printable ASCII characters");
  checkArnPartition(arn, partition, field);
  if (arn.accountId !== "" && !ACCOUNT_ID.test(arn.accountId)) {
    throw invalid(`has account ${JSON.stringify(arn.accountId)}; an account id is 12 digits (or empty)`);
  }
  if (arn.accountId !== "" && arn.accountId !== accountId) {
    throw new IamError(
      "AccessDenied",
      `${field} ${JSON.stringify(text)} belongs to account ${arn.accountId}; an account keeps resource policies only for its own resources`,
      { field },
    );
  }
  return text;
}

/** A resource policy document: valid as the engine's `resource` kind (it needs a Principal), minified, size-bounded. */
function checkResourcePolicyDocument(document: string, field = "policyDocument"): string {
  const minified = checkPolicyDocument(document, "resource", field);
  const size = policySize(minified);
  if (size > RESOURCE_POLICY_MAX_CHARS) {
    throw new IamError(
      "LimitExceeded",
      `${field} has ${size} characters (whitespace excluded); a resource policy may have at most ${RESOURCE_POLICY_MAX_CHARS}`,
      { field },
    );
  }
  return minified;
}

const entry = (p: ResourcePolicyRecord) => ({
  resourceArn: p.resourceArn,
  createDateMs: p.createdAtMs,
  updateDateMs: p.updatedAtMs,
});

/**
 * Resource policies (Gatehouse only; AWS keeps them in each service): PutResourcePolicy,
 * GetResourcePolicy, DeleteResourcePolicy, ListResourcePolicies. Authorized as
 * `iam:<Operation>` on the resource ARN itself (List on `*`).
 */
export function resourcePolicyOperations({ store, arns }: OperationDeps) {
  return {
    putResourcePolicy: forAccount("PutResourcePolicy", async (r, ctx) => {
      const resourceArn = checkResourceArn(r.resourceArn, ctx.accountId, arns.partition);
      const policyDocument = checkResourcePolicyDocument(r.policyDocument);
      await ctx.authorize("PutResourcePolicy", () => resourceArn);
      const m = await store.putResourcePolicy(ctx.accountId, {
        resourceArn,
        policyDocument,
        ...ctx.token(r.clientRequestToken),
      });
      return { revision: toWire.revision(m) };
    }),
    getResourcePolicy: forAccount("GetResourcePolicy", async (r, ctx) => {
      const resourceArn = checkResourceArn(r.resourceArn, ctx.accountId, arns.partition);
      await ctx.authorize("GetResourcePolicy", () => resourceArn);
      const p = await store.getResourcePolicy(ctx.accountId, resourceArn);
      return { ...entry(p), policyDocument: p.policyDocument };
    }),
    deleteResourcePolicy: forAccount("DeleteResourcePolicy", async (r, ctx) => {
      const resourceArn = checkResourceArn(r.resourceArn, ctx.accountId, arns.partition);
      await ctx.authorize("DeleteResourcePolicy", () => resourceArn);
      const m = await store.deleteResourcePolicy(ctx.accountId, resourceArn, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    listResourcePolicies: forAccount("ListResourcePolicies", async (r, ctx) => {
      const prefix = r.resourceArnPrefix;
      if (prefix.length > MAX_ARN_LENGTH) {
        throw new IamError(
          "InvalidInput",
          `resourceArnPrefix has ${prefix.length} characters (at most ${MAX_ARN_LENGTH})`,
          {
            field: "resourceArnPrefix",
          },
        );
      }
      await ctx.authorize("ListResourcePolicies", () => "*");
      const page = await store.listResourcePolicies(ctx.accountId, { ...pageOf(r.page), resourceArnPrefix: prefix });
      return { resourcePolicies: page.items.map(entry), page: toWire.page(page) };
    }),
  } satisfies OperationFamily;
}
