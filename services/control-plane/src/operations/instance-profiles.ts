import type { InstanceProfileRoleRequest, MutationResponse } from "@gatehouse/proto";
import { toWire } from "../mappers.ts";
import { checkName, checkPath, checkTags } from "../validation.ts";
import type { AccountContext } from "./call-context.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pageOf, pathPage } from "./paging.ts";

/** The service a role put in an instance profile is passed to (`iam:PassedToService`), as in AWS. */
const INSTANCE_PROFILE_SERVICE = "ec2.amazonaws.com";

/**
 * Instance profiles: CreateInstanceProfile, GetInstanceProfile, ListInstanceProfiles,
 * ListInstanceProfilesForRole, DeleteInstanceProfile, AddRoleToInstanceProfile,
 * RemoveRoleFromInstanceProfile (their tags are in `tags.ts`).
 */
export function instanceProfileOperations({ store, targets, arns }: OperationDeps) {
  /** AddRoleToInstanceProfile and RemoveRoleFromInstanceProfile, authorized on the profile. */
  const profileRole =
    (operation: "AddRoleToInstanceProfile" | "RemoveRoleFromInstanceProfile") =>
    async (r: InstanceProfileRoleRequest, ctx: AccountContext): Promise<MutationResponse> => {
      const profile = checkName(r.instanceProfileName, "instanceProfileName", 128);
      const roleName = checkName(r.roleName, "roleName", 64);
      await ctx.authorize(operation, () => targets.instanceProfile(ctx.accountId, profile));
      // As in AWS: putting a role in a profile hands it to whoever uses the profile, so the
      // caller must also be allowed to pass that role, to the service instance profiles serve.
      if (operation === "AddRoleToInstanceProfile") {
        await ctx.authorize("PassRole", async () => {
          const role = await targets.principal(ctx.accountId, "role", roleName);
          return { arn: role.arn, context: { ...role.context, "iam:PassedToService": INSTANCE_PROFILE_SERVICE } };
        });
      }
      const token = ctx.token(r.clientRequestToken);
      const m =
        operation === "AddRoleToInstanceProfile"
          ? await store.addRoleToInstanceProfile(ctx.accountId, profile, roleName, token)
          : await store.removeRoleFromInstanceProfile(ctx.accountId, profile, roleName, token);
      return { revision: toWire.revision(m) };
    };

  return {
    createInstanceProfile: forAccount("CreateInstanceProfile", async (r, ctx) => {
      const instanceProfileName = checkName(r.instanceProfileName, "instanceProfileName", 128);
      const path = checkPath(r.path);
      const tags = checkTags(r.tags, false);
      await ctx.authorizeCreate(
        "CreateInstanceProfile",
        "InstanceProfile",
        arns.of(ctx.accountId, "instance-profile", path, instanceProfileName),
        tags,
      );
      const m = await store.createInstanceProfile(ctx.accountId, {
        instanceProfileName,
        path,
        tags,
        ...ctx.token(r.clientRequestToken),
      });
      return { instanceProfile: toWire.instanceProfile(m.value), revision: toWire.revision(m) };
    }),
    getInstanceProfile: forAccount("GetInstanceProfile", async (r, ctx) => {
      const name = checkName(r.instanceProfileName, "instanceProfileName", 128);
      await ctx.authorize("GetInstanceProfile", () => targets.instanceProfile(ctx.accountId, name));
      return {
        instanceProfile: toWire.instanceProfile(await store.getInstanceProfile(ctx.accountId, name)),
        revision: undefined,
      };
    }),
    listInstanceProfiles: forAccount("ListInstanceProfiles", async (r, ctx) => {
      const p = pathPage(r.page, r.pathPrefix);
      await ctx.authorize("ListInstanceProfiles", () => arns.of(ctx.accountId, "instance-profile", p.pathPrefix, ""));
      const result = await store.listInstanceProfiles(ctx.accountId, p);
      return { instanceProfiles: result.items.map(toWire.instanceProfile), page: toWire.page(result) };
    }),
    listInstanceProfilesForRole: forAccount("ListInstanceProfilesForRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      await ctx.authorize("ListInstanceProfilesForRole", () => targets.principal(ctx.accountId, "role", roleName));
      const result = await store.listInstanceProfilesForRole(ctx.accountId, roleName, pageOf(r.page));
      return { instanceProfiles: result.items.map(toWire.instanceProfile), page: toWire.page(result) };
    }),
    deleteInstanceProfile: forAccount("DeleteInstanceProfile", async (r, ctx) => {
      const name = checkName(r.instanceProfileName, "instanceProfileName", 128);
      await ctx.authorize("DeleteInstanceProfile", () => targets.instanceProfile(ctx.accountId, name));
      const m = await store.deleteInstanceProfile(ctx.accountId, name, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    addRoleToInstanceProfile: forAccount("AddRoleToInstanceProfile", profileRole("AddRoleToInstanceProfile")),
    removeRoleFromInstanceProfile: forAccount(
      "RemoveRoleFromInstanceProfile",
      profileRole("RemoveRoleFromInstanceProfile"),
    ),
  } satisfies OperationFamily;
}
