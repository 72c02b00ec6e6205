import { IamError } from "@gatehouse/core";
import type { PolicyEntityRecord } from "@gatehouse/store-postgres";
import { toWire } from "../mappers.ts";
import { checkName, checkPath, checkPolicyDocument, checkTags, checkText } from "../validation.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pageOf, pathPage } from "./paging.ts";

/**
 * ListEntitiesForPolicy's `entityFilter` values and the kinds each lists. AWS accepts
 * `LocalManagedPolicy` and `AWSManagedPolicy` too; no user, group or role is one, so they list
 * nothing.
 */
const ENTITY_FILTERS: Readonly<Record<string, readonly PolicyEntityRecord["kind"][]>> = {
  "": ["group", "user", "role"],
  User: ["user"],
  Group: ["group"],
  Role: ["role"],
  LocalManagedPolicy: [],
  AWSManagedPolicy: [],
};

/**
 * Managed policies and their versions: CreatePolicy, GetPolicy, ListPolicies, CreatePolicyVersion,
 * GetPolicyVersion, ListPolicyVersions, SetDefaultPolicyVersion, DeletePolicyVersion, DeletePolicy,
 * ListEntitiesForPolicy.
 * Each is authorized on the policy's stored ARN (`targets.policy`), never on the spelling sent.
 */
export function policyOperations({ store, targets, arns }: OperationDeps) {
  return {
    createPolicy: forAccount("CreatePolicy", async (r, ctx) => {
      const policyName = checkName(r.policyName, "policyName", 128);
      const path = checkPath(r.path);
      const policyDocument = checkPolicyDocument(r.policyDocument, "managed", "policyDocument");
      const description = checkText(r.description, "description", 1000);
      // Policy tag keys compare exactly, as in AWS; tags need iam:TagPolicy too.
      const tags = checkTags(r.tags, false);
      await ctx.authorizeCreate("CreatePolicy", "Policy", arns.of(ctx.accountId, "policy", path, policyName), tags);
      const m = await store.createPolicy(ctx.accountId, {
        policyName,
        path,
        policyDocument,
        description,
        tags,
        ...ctx.token(r.clientRequestToken),
      });
      return { policy: toWire.policy(m.value), revision: toWire.revision(m) };
    }),
    getPolicy: forAccount("GetPolicy", async (r, ctx) => {
      const policyArn = arns.policy(r.policyArn);
      await ctx.authorize("GetPolicy", () => targets.policy(ctx.accountId, policyArn));
      return { policy: toWire.policy(await store.getPolicy(ctx.accountId, policyArn)), revision: undefined };
    }),
    listPolicies: forAccount("ListPolicies", async (r, ctx) => {
      const p = pathPage(r.page, r.pathPrefix);
      await ctx.authorize("ListPolicies", () => arns.of(ctx.accountId, "policy", p.pathPrefix, ""));
      const scope = r.scope === "" ? "All" : r.scope;
      if (scope !== "All" && scope !== "AWS" && scope !== "Local") {
        throw new IamError("ValidationError", `scope ${JSON.stringify(r.scope)} must be All, AWS or Local`, {
          field: "scope",
        });
      }
      const result = await store.listPolicies(ctx.accountId, { ...p, onlyAttached: r.onlyAttached, scope });
      return { policies: result.items.map(toWire.policy), page: toWire.page(result) };
    }),
    createPolicyVersion: forAccount("CreatePolicyVersion", async (r, ctx) => {
      const policyDocument = checkPolicyDocument(r.policyDocument, "managed", "policyDocument");
      const policyArn = arns.policy(r.policyArn);
      await ctx.authorize("CreatePolicyVersion", () => targets.policy(ctx.accountId, policyArn));
      const m = await store.createPolicyVersion(ctx.accountId, policyArn, {
        policyDocument,
        setAsDefault: r.setAsDefault,
        ...ctx.token(r.clientRequestToken),
      });
      return { versionId: m.value.versionId, isDefaultVersion: m.value.isDefault, revision: toWire.revision(m) };
    }),
    getPolicyVersion: forAccount("GetPolicyVersion", async (r, ctx) => {
      const policyArn = arns.policy(r.policyArn);
      await ctx.authorize("GetPolicyVersion", () => targets.policy(ctx.accountId, policyArn));
      return {
        policyVersion: toWire.policyVersion(await store.getPolicyVersion(ctx.accountId, policyArn, r.versionId)),
      };
    }),
    listPolicyVersions: forAccount("ListPolicyVersions", async (r, ctx) => {
      const policyArn = arns.policy(r.policyArn);
      await ctx.authorize("ListPolicyVersions", () => targets.policy(ctx.accountId, policyArn));
      const result = await store.listPolicyVersions(ctx.accountId, policyArn, pageOf(r.page));
      return { versions: result.items.map(toWire.policyVersion), page: toWire.page(result) };
    }),
    setDefaultPolicyVersion: forAccount("SetDefaultPolicyVersion", async (r, ctx) => {
      const policyArn = arns.policy(r.policyArn);
      await ctx.authorize("SetDefaultPolicyVersion", () => targets.policy(ctx.accountId, policyArn));
      const m = await store.setDefaultPolicyVersion(
        ctx.accountId,
        policyArn,
        r.versionId,
        ctx.token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),
    deletePolicyVersion: forAccount("DeletePolicyVersion", async (r, ctx) => {
      const policyArn = arns.policy(r.policyArn);
      await ctx.authorize("DeletePolicyVersion", () => targets.policy(ctx.accountId, policyArn));
      const m = await store.deletePolicyVersion(ctx.accountId, policyArn, r.versionId, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    deletePolicy: forAccount("DeletePolicy", async (r, ctx) => {
      const policyArn = arns.policy(r.policyArn);
      await ctx.authorize("DeletePolicy", () => targets.policy(ctx.accountId, policyArn));
      return {
        revision: toWire.revision(await store.deletePolicy(ctx.accountId, policyArn, ctx.token(r.clientRequestToken))),
      };
    }),
    listEntitiesForPolicy: forAccount("ListEntitiesForPolicy", async (r, ctx) => {
      const policyArn = arns.policy(r.policyArn);
      const kinds = ENTITY_FILTERS[r.entityFilter];
      if (kinds === undefined || !Object.hasOwn(ENTITY_FILTERS, r.entityFilter)) {
        throw new IamError(
          "ValidationError",
          `entityFilter ${JSON.stringify(r.entityFilter)} must be User, Group, Role, LocalManagedPolicy or AWSManagedPolicy`,
          { field: "entityFilter" },
        );
      }
      const usage = r.policyUsageFilter === "" ? "Both" : r.policyUsageFilter;
      if (usage !== "Both" && usage !== "PermissionsPolicy" && usage !== "PermissionsBoundary") {
        throw new IamError(
          "ValidationError",
          `policyUsageFilter ${JSON.stringify(r.policyUsageFilter)} must be PermissionsPolicy or PermissionsBoundary`,
          { field: "policyUsageFilter" },
        );
      }
      const page = pathPage(r.page, r.pathPrefix);
      await ctx.authorize("ListEntitiesForPolicy", () => targets.policy(ctx.accountId, policyArn));
      const result = await store.listEntitiesForPolicy(ctx.accountId, policyArn, { ...page, kinds, usage });
      const of = (kind: PolicyEntityRecord["kind"]) =>
        result.items.filter((e) => e.kind === kind).map((e) => ({ name: e.name, id: e.id }));
      return {
        policyGroups: of("group"),
        policyUsers: of("user"),
        policyRoles: of("role"),
        page: toWire.page(result),
      };
    }),
  } satisfies OperationFamily;
}
