import { IamError, iamArn, tryParseArn } from "@gatehouse/core";
import { EntityType } from "@gatehouse/proto";
import type { PrincipalKind, PrincipalRef } from "@gatehouse/store-postgres";
import type { PrincipalTarget, RequestContext, Target } from "../targets.ts";
import { checkName } from "../validation.ts";
import type { AccountContext } from "./call-context.ts";
import type { OperationDeps } from "./operation-deps.ts";

const PRINCIPAL_KIND: Record<number, PrincipalKind> = {
  [EntityType.ENTITY_TYPE_USER]: "user",
  [EntityType.ENTITY_TYPE_GROUP]: "group",
  [EntityType.ENTITY_TYPE_ROLE]: "role",
};

/** The noun of a principal kind in IAM actions (`iam:AttachUserPolicy`). */
export const KIND_WORD: Readonly<Record<PrincipalKind, string>> = { user: "User", group: "Group", role: "Role" };

/** The longest name of each principal kind, as in AWS. */
export const NAME_MAX: Readonly<Record<PrincipalKind, number>> = { user: 64, group: 128, role: 64 };

/** The user, group or role a policy call names by `entityType` and `entityName`. */
export function principalOf(entityType: number, entityName: string): PrincipalRef {
  const kind = PRINCIPAL_KIND[entityType];
  if (kind === undefined) {
    throw new IamError("ValidationError", `entityType ${entityType} must be USER, GROUP or ROLE`, {
      field: "entityType",
    });
  }
  return { kind, name: checkName(entityName, "entityName", NAME_MAX[kind]) };
}

/** `iam:PermissionsBoundary` of a user or role that has one (AWS sets it on operations changing its permissions). */
export function boundaryKey(t: PrincipalTarget): RequestContext {
  return t.permissionsBoundaryArn === null ? {} : { "iam:PermissionsBoundary": t.permissionsBoundaryArn };
}

/** The user a self-service call is about: the named one, or the calling user. */
export function subjectUser(ctx: AccountContext, userName: string): string {
  if (userName !== "") return checkName(userName, "userName", NAME_MAX.user);
  if (ctx.caller.kind === "user") return ctx.caller.userName;
  throw new IamError("ValidationError", "userName is required when calling with root credentials", {
    field: "userName",
  });
}

/** A boundary ARN from a create call (CreateUser, CreateRole), checked, and its canonical ARN for `iam:PermissionsBoundary`. */
export function boundaryOnCreate({ arns, targets }: OperationDeps, ctx: AccountContext, sent: string) {
  const arn = sent === "" ? undefined : arns.policy(sent, "permissionsBoundaryArn");
  return {
    arn,
    context: async (): Promise<RequestContext> =>
      arn === undefined
        ? {}
        : { "iam:PermissionsBoundary": (await targets.policy(ctx.accountId, arn, "permissionsBoundaryArn")).arn },
  };
}

/**
 * Where UpdateUser/UpdateGroup moves a user or group: its target's ARN with the new name and/or
 * path (each kept when absent), and the same condition keys (its tags follow it). AWS authorizes
 * a rename on both the source and the destination ARN.
 */
export function renamedTarget(
  current: Target,
  kind: "user" | "group",
  partition: string,
  change: { readonly newName: string | undefined; readonly newPath: string | undefined },
): Target {
  const arn = tryParseArn(current.arn);
  // The resource is `<kind><path><name>`: the path is everything up to the last "/".
  const resource = arn?.resource.slice(kind.length) ?? "/";
  const cut = resource.lastIndexOf("/") + 1;
  const path = change.newPath ?? resource.slice(0, cut);
  const name = change.newName ?? resource.slice(cut);
  return { arn: iamArn(arn?.accountId ?? "", kind, path, name, partition), context: current.context };
}
