import { IamError } from "@gatehouse/core";
import type {
  ListEntityTagsRequest,
  ListEntityTagsResponse,
  MutationResponse,
  TagEntityRequest,
  UntagEntityRequest,
} from "@gatehouse/proto";
import type { TaggableKind } from "@gatehouse/store-postgres";
import { toWire } from "../mappers.ts";
import { requestTags, type Target } from "../targets.ts";
import { checkName, checkTagKeys, checkTags } from "../validation.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pageOf } from "./paging.ts";
import { NAME_MAX } from "./principals.ts";

/** One taggable kind as its Tag*, Untag* and List*Tags operations see it. */
interface Taggable {
  readonly kind: TaggableKind;
  /** The noun of its operations and IAM actions (`iam:Tag${word}`, `iam:List${word}Tags`). */
  readonly word: string;
  /** Whether its tag keys compare case-insensitively (users and roles, as in AWS). */
  readonly keysIgnoreCase: boolean;
  /** Validates `entityName`: a name, or for a policy or OIDC provider its ARN, for an MFA device its serial number. */
  entity(entityName: string): string;
  /** The entity the call is authorized on (its stored ARN and tags). */
  target(accountId: string, name: string): Promise<Target>;
}

/**
 * Tags of users, roles, managed policies, virtual MFA devices, instance profiles and OIDC
 * providers: Tag*, Untag* and List*Tags of each, one implementation for the six kinds.
 */
export function tagOperations({ store, targets, arns }: OperationDeps) {
  const user: Taggable = {
    kind: "user",
    word: "User",
    keysIgnoreCase: true,
    entity: (v) => checkName(v, "entityName", NAME_MAX.user),
    target: (accountId, name) => targets.principal(accountId, "user", name),
  };
  const role: Taggable = {
    kind: "role",
    word: "Role",
    keysIgnoreCase: true,
    entity: (v) => checkName(v, "entityName", NAME_MAX.role),
    target: (accountId, name) => targets.principal(accountId, "role", name),
  };
  const policy: Taggable = {
    kind: "policy",
    word: "Policy",
    keysIgnoreCase: false,
    entity: (v) => arns.policy(v, "entityName"),
    target: (accountId, arn) => targets.policy(accountId, arn, "entityName"),
  };
  const mfaDevice: Taggable = {
    kind: "mfa-device",
    word: "MFADevice",
    keysIgnoreCase: false,
    entity: (v) => arns.mfa(v, "entityName"),
    target: (accountId, serialNumber) => targets.mfaDevice(accountId, serialNumber, "entityName"),
  };
  const instanceProfile: Taggable = {
    kind: "instance-profile",
    word: "InstanceProfile",
    keysIgnoreCase: false,
    entity: (v) => checkName(v, "entityName", 128),
    target: (accountId, name) => targets.instanceProfile(accountId, name),
  };
  const oidcProvider: Taggable = {
    kind: "oidc-provider",
    word: "OpenIDConnectProvider",
    keysIgnoreCase: false,
    entity: (v) => arns.oidcProvider(v, "entityName"),
    target: (accountId, arn) => targets.oidcProvider(accountId, arn, "entityName"),
  };

  /** `iam:Tag<word>` with the request's tags as `aws:RequestTag/…` and `aws:TagKeys`. */
  const tag = (t: Taggable) =>
    forAccount(`Tag${t.word}`, async (r: TagEntityRequest, ctx): Promise<MutationResponse> => {
      const name = t.entity(r.entityName);
      const tags = checkTags(r.tags, t.keysIgnoreCase);
      if (tags.length === 0) throw new IamError("ValidationError", "tags must not be empty", { field: "tags" });
      await ctx.authorize(`Tag${t.word}`, async () => {
        const e = await t.target(ctx.accountId, name);
        return { arn: e.arn, context: { ...e.context, ...requestTags(tags) } };
      });
      const m = await store.tagEntity(ctx.accountId, t.kind, name, tags, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    });

  /** `iam:Untag<word>` with the keys being removed as `aws:TagKeys`. */
  const untag = (t: Taggable) =>
    forAccount(`Untag${t.word}`, async (r: UntagEntityRequest, ctx): Promise<MutationResponse> => {
      const name = t.entity(r.entityName);
      const keys = checkTagKeys(r.tagKeys);
      await ctx.authorize(`Untag${t.word}`, async () => {
        const e = await t.target(ctx.accountId, name);
        return { arn: e.arn, context: { ...e.context, "aws:TagKeys": keys } };
      });
      const m = await store.untagEntity(ctx.accountId, t.kind, name, keys, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    });

  const listTags = (t: Taggable) =>
    forAccount(`List${t.word}Tags`, async (r: ListEntityTagsRequest, ctx): Promise<ListEntityTagsResponse> => {
      const name = t.entity(r.entityName);
      await ctx.authorize(`List${t.word}Tags`, () => t.target(ctx.accountId, name));
      const result = await store.listEntityTags(ctx.accountId, t.kind, name, pageOf(r.page));
      return { tags: result.items.map((x) => ({ key: x.key, value: x.value })), page: toWire.page(result) };
    });

  return {
    tagUser: tag(user),
    untagUser: untag(user),
    listUserTags: listTags(user),
    tagRole: tag(role),
    untagRole: untag(role),
    listRoleTags: listTags(role),
    tagPolicy: tag(policy),
    untagPolicy: untag(policy),
    listPolicyTags: listTags(policy),
    tagMfaDevice: tag(mfaDevice),
    untagMfaDevice: untag(mfaDevice),
    listMfaDeviceTags: listTags(mfaDevice),
    tagInstanceProfile: tag(instanceProfile),
    untagInstanceProfile: untag(instanceProfile),
    listInstanceProfileTags: listTags(instanceProfile),
    tagOpenIdConnectProvider: tag(oidcProvider),
    untagOpenIdConnectProvider: untag(oidcProvider),
    listOpenIdConnectProviderTags: listTags(oidcProvider),
  } satisfies OperationFamily;
}
