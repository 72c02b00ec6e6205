import { type ControlServiceServer, ControlServiceService, EntityType } from "@gatehouse/proto";
import type { handleUnaryCall } from "@grpc/grpc-js";

/**
 * The ControlService RPCs by their generated method names. grpc-js's untyped implementation adds
 * a string index signature to the generated interface; it is dropped so that every key is an RPC.
 */
export type ControlMethod = keyof {
  [K in keyof ControlServiceServer as string extends K ? never : number extends K ? never : K]: unknown;
};

/** The request message of an RPC. */
export type RequestOf<M extends ControlMethod> =
  ControlServiceServer[M] extends handleUnaryCall<infer Q, infer _S> ? Q : never;

/** The response message of an RPC. */
export type ResponseOf<M extends ControlMethod> =
  ControlServiceServer[M] extends handleUnaryCall<infer _Q, infer S> ? S : never;

/** Keys of a response whose values are arrays (the lists a paged operation returns). */
type ListKey<M extends ControlMethod> = {
  [K in keyof ResponseOf<M>]: ResponseOf<M>[K] extends readonly unknown[] ? K : never;
}[keyof ResponseOf<M>] &
  string;

/**
 * One IAM operation of the SDK and the CLI: the RPC it calls, the AWS-named input fields that
 * stand for a generic request field (`userName` → `entityName`), the request fields it fixes
 * (`entityType: USER`), and for paged lists, which response field holds the items.
 */
export interface IamOperationSpec<
  M extends ControlMethod = ControlMethod,
  R extends Readonly<Record<string, string>> = Readonly<Record<string, string>>,
  F extends string = string,
  I extends string | undefined = string | undefined,
> {
  readonly rpc: M;
  readonly rename: R;
  readonly fixed: Readonly<Record<F, unknown>>;
  readonly items: I;
}

function op<
  M extends ControlMethod,
  const R extends Readonly<Record<string, keyof RequestOf<M> & string>> = Record<never, never>,
  F extends keyof RequestOf<M> & string = never,
  I extends ListKey<M> | undefined = undefined,
>(rpc: M, extra: { rename?: R; fixed?: Pick<RequestOf<M>, F>; items?: I } = {}): IamOperationSpec<M, R, F, I> {
  return Object.freeze({
    rpc,
    rename: (extra.rename ?? {}) as R,
    fixed: (extra.fixed ?? {}) as Readonly<Record<F, unknown>>,
    items: extra.items as I,
  });
}

const USER = { entityType: EntityType.ENTITY_TYPE_USER } as const;
const GROUP = { entityType: EntityType.ENTITY_TYPE_GROUP } as const;
const ROLE = { entityType: EntityType.ENTITY_TYPE_ROLE } as const;
const asUser = { userName: "entityName" } as const;
const asGroup = { groupName: "entityName" } as const;
const asRole = { roleName: "entityName" } as const;

/**
 * Every IAM operation, by the SDK's method name; the CLI's command is its kebab-case
 * (`putUserPolicy` → `gatehouse iam put-user-policy`), as the `aws iam` CLI names them. The
 * generic RPCs (`PutInlinePolicy` with an entity type) appear once per entity kind under AWS's
 * names. A test checks that every ControlService RPC is reachable through this table.
 */
export const iamOperations = {
  // Accounts (operator), account settings and the account as a whole.
  createAccount: op("createAccount"),
  listAccounts: op("listAccounts", { items: "accounts" }),
  // The regions' STS key set (operator): `gatehouse iam rotate-sts-keys`.
  rotateStsKeys: op("rotateStsKeys"),
  exportAccount: op("exportAccount"),
  getAccountAuthorizationDetails: op("getAccountAuthorizationDetails"),
  createAccountAlias: op("createAccountAlias"),
  deleteAccountAlias: op("deleteAccountAlias"),
  listAccountAliases: op("listAccountAliases", { items: "accountAliases" }),
  updateAccountPasswordPolicy: op("updateAccountPasswordPolicy"),
  getAccountPasswordPolicy: op("getAccountPasswordPolicy"),
  deleteAccountPasswordPolicy: op("deleteAccountPasswordPolicy"),
  getAccountSummary: op("getAccountSummary"),
  attachAccountGuardrail: op("attachAccountGuardrail"),
  detachAccountGuardrail: op("detachAccountGuardrail"),
  listAccountGuardrails: op("listAccountGuardrails", { items: "guardrails" }),
  // Users.
  createUser: op("createUser"),
  getUser: op("getUser"),
  listUsers: op("listUsers", { items: "users" }),
  updateUser: op("updateUser"),
  deleteUser: op("deleteUser"),
  tagUser: op("tagUser", { rename: asUser }),
  untagUser: op("untagUser", { rename: asUser }),
  listUserTags: op("listUserTags", { rename: asUser, items: "tags" }),
  attachUserPolicy: op("attachPolicy", { rename: asUser, fixed: USER }),
  detachUserPolicy: op("detachPolicy", { rename: asUser, fixed: USER }),
  listAttachedUserPolicies: op("listAttachedPolicies", { rename: asUser, fixed: USER, items: "attachedPolicies" }),
  putUserPolicy: op("putInlinePolicy", { rename: asUser, fixed: USER }),
  getUserPolicy: op("getInlinePolicy", { rename: asUser, fixed: USER }),
  listUserPolicies: op("listInlinePolicies", { rename: asUser, fixed: USER, items: "policyNames" }),
  deleteUserPolicy: op("deleteInlinePolicy", { rename: asUser, fixed: USER }),
  putUserPermissionsBoundary: op("putPermissionsBoundary", { rename: asUser, fixed: USER }),
  deleteUserPermissionsBoundary: op("putPermissionsBoundary", {
    rename: asUser,
    fixed: { ...USER, permissionsBoundaryArn: "" },
  }),
  // Groups.
  createGroup: op("createGroup"),
  getGroup: op("getGroup", { items: "users" }),
  listGroups: op("listGroups", { items: "groups" }),
  listGroupsForUser: op("listGroupsForUser", { items: "groups" }),
  updateGroup: op("updateGroup"),
  deleteGroup: op("deleteGroup"),
  addUserToGroup: op("addUserToGroup"),
  removeUserFromGroup: op("removeUserFromGroup"),
  attachGroupPolicy: op("attachPolicy", { rename: asGroup, fixed: GROUP }),
  detachGroupPolicy: op("detachPolicy", { rename: asGroup, fixed: GROUP }),
  listAttachedGroupPolicies: op("listAttachedPolicies", { rename: asGroup, fixed: GROUP, items: "attachedPolicies" }),
  putGroupPolicy: op("putInlinePolicy", { rename: asGroup, fixed: GROUP }),
  getGroupPolicy: op("getInlinePolicy", { rename: asGroup, fixed: GROUP }),
  listGroupPolicies: op("listInlinePolicies", { rename: asGroup, fixed: GROUP, items: "policyNames" }),
  deleteGroupPolicy: op("deleteInlinePolicy", { rename: asGroup, fixed: GROUP }),
  // Roles.
  createRole: op("createRole"),
  getRole: op("getRole"),
  listRoles: op("listRoles", { items: "roles" }),
  updateRole: op("updateRole"),
  updateAssumeRolePolicy: op("updateAssumeRolePolicy"),
  deleteRole: op("deleteRole"),
  tagRole: op("tagRole", { rename: asRole }),
  untagRole: op("untagRole", { rename: asRole }),
  listRoleTags: op("listRoleTags", { rename: asRole, items: "tags" }),
  attachRolePolicy: op("attachPolicy", { rename: asRole, fixed: ROLE }),
  detachRolePolicy: op("detachPolicy", { rename: asRole, fixed: ROLE }),
  listAttachedRolePolicies: op("listAttachedPolicies", { rename: asRole, fixed: ROLE, items: "attachedPolicies" }),
  putRolePolicy: op("putInlinePolicy", { rename: asRole, fixed: ROLE }),
  getRolePolicy: op("getInlinePolicy", { rename: asRole, fixed: ROLE }),
  listRolePolicies: op("listInlinePolicies", { rename: asRole, fixed: ROLE, items: "policyNames" }),
  deleteRolePolicy: op("deleteInlinePolicy", { rename: asRole, fixed: ROLE }),
  putRolePermissionsBoundary: op("putPermissionsBoundary", { rename: asRole, fixed: ROLE }),
  deleteRolePermissionsBoundary: op("putPermissionsBoundary", {
    rename: asRole,
    fixed: { ...ROLE, permissionsBoundaryArn: "" },
  }),
  // Managed policies.
  createPolicy: op("createPolicy"),
  getPolicy: op("getPolicy"),
  listPolicies: op("listPolicies", { items: "policies" }),
  deletePolicy: op("deletePolicy"),
  createPolicyVersion: op("createPolicyVersion"),
  getPolicyVersion: op("getPolicyVersion"),
  listPolicyVersions: op("listPolicyVersions", { items: "versions" }),
  setDefaultPolicyVersion: op("setDefaultPolicyVersion"),
  deletePolicyVersion: op("deletePolicyVersion"),
  listEntitiesForPolicy: op("listEntitiesForPolicy"),
  tagPolicy: op("tagPolicy", { rename: { policyArn: "entityName" } }),
  untagPolicy: op("untagPolicy", { rename: { policyArn: "entityName" } }),
  listPolicyTags: op("listPolicyTags", { rename: { policyArn: "entityName" }, items: "tags" }),
  // Access keys.
  createAccessKey: op("createAccessKey"),
  updateAccessKey: op("updateAccessKey"),
  deleteAccessKey: op("deleteAccessKey"),
  listAccessKeys: op("listAccessKeys", { items: "accessKeys" }),
  getAccessKeyLastUsed: op("getAccessKeyLastUsed"),
  // Login profiles and passwords.
  createLoginProfile: op("createLoginProfile"),
  getLoginProfile: op("getLoginProfile"),
  updateLoginProfile: op("updateLoginProfile"),
  deleteLoginProfile: op("deleteLoginProfile"),
  changePassword: op("changePassword"),
  // MFA devices.
  createVirtualMfaDevice: op("createVirtualMfaDevice"),
  enableMfaDevice: op("enableMfaDevice"),
  deactivateMfaDevice: op("deactivateMfaDevice"),
  listMfaDevices: op("listMfaDevices", { items: "mfaDevices" }),
  deleteVirtualMfaDevice: op("deleteVirtualMfaDevice"),
  tagMfaDevice: op("tagMfaDevice", { rename: { serialNumber: "entityName" } }),
  untagMfaDevice: op("untagMfaDevice", { rename: { serialNumber: "entityName" } }),
  listMfaDeviceTags: op("listMfaDeviceTags", { rename: { serialNumber: "entityName" }, items: "tags" }),
  // Instance profiles.
  createInstanceProfile: op("createInstanceProfile"),
  getInstanceProfile: op("getInstanceProfile"),
  listInstanceProfiles: op("listInstanceProfiles", { items: "instanceProfiles" }),
  deleteInstanceProfile: op("deleteInstanceProfile"),
  addRoleToInstanceProfile: op("addRoleToInstanceProfile"),
  removeRoleFromInstanceProfile: op("removeRoleFromInstanceProfile"),
  listInstanceProfilesForRole: op("listInstanceProfilesForRole", { items: "instanceProfiles" }),
  tagInstanceProfile: op("tagInstanceProfile", { rename: { instanceProfileName: "entityName" } }),
  untagInstanceProfile: op("untagInstanceProfile", { rename: { instanceProfileName: "entityName" } }),
  listInstanceProfileTags: op("listInstanceProfileTags", {
    rename: { instanceProfileName: "entityName" },
    items: "tags",
  }),
  // OpenID Connect providers.
  createOpenIdConnectProvider: op("createOpenIdConnectProvider"),
  getOpenIdConnectProvider: op("getOpenIdConnectProvider"),
  listOpenIdConnectProviders: op("listOpenIdConnectProviders", { items: "openIdConnectProviderList" }),
  deleteOpenIdConnectProvider: op("deleteOpenIdConnectProvider"),
  addClientIdToOpenIdConnectProvider: op("addClientIdToOpenIdConnectProvider"),
  removeClientIdFromOpenIdConnectProvider: op("removeClientIdFromOpenIdConnectProvider"),
  updateOpenIdConnectProviderThumbprint: op("updateOpenIdConnectProviderThumbprint"),
  updateOpenIdConnectProviderJwks: op("updateOpenIdConnectProviderJwks"),
  tagOpenIdConnectProvider: op("tagOpenIdConnectProvider", { rename: { openIdConnectProviderArn: "entityName" } }),
  untagOpenIdConnectProvider: op("untagOpenIdConnectProvider", {
    rename: { openIdConnectProviderArn: "entityName" },
  }),
  listOpenIdConnectProviderTags: op("listOpenIdConnectProviderTags", {
    rename: { openIdConnectProviderArn: "entityName" },
    items: "tags",
  }),
  // Stored resource policies.
  putResourcePolicy: op("putResourcePolicy"),
  getResourcePolicy: op("getResourcePolicy"),
  deleteResourcePolicy: op("deleteResourcePolicy"),
  listResourcePolicies: op("listResourcePolicies", { items: "resourcePolicies" }),
  // The audit trail (CloudTrail's LookupEvents); `gatehouse audit lookup` is the friendlier CLI.
  lookupEvents: op("lookupEvents", { items: "events" }),
  generateCredentialReport: op("generateCredentialReport"),
  getCredentialReport: op("getCredentialReport"),
} as const;

/** The SDK's IAM method names (`createUser`, `putUserPolicy`, …). */
export type IamOperationName = keyof typeof iamOperations;

type Hidden = "clientRequestToken" | "page";

/** Marker and page size, for operations that page. */
export interface PageInput {
  /** The `marker` of the previous page; absent for the first. */
  readonly marker?: string;
  /** 1..1000 items per page (default 100). */
  readonly maxItems?: number;
}

/** The input of an operation: its request's fields under AWS's names, all optional. */
export type InputOf<S> =
  S extends IamOperationSpec<infer M, infer R, infer F>
    ? Partial<Omit<RequestOf<M>, Hidden | F | R[keyof R]>> & {
        [A in keyof R]?: RequestOf<M>[R[A] & keyof RequestOf<M>];
      } & ("page" extends keyof RequestOf<M> ? PageInput : unknown) & {
          /** Idempotency token for a write; the SDK makes one when absent, so its retries are safe. */
          clientRequestToken?: string;
        }
    : never;

/** The response of an operation (the generated message type). */
export type OutputOf<S> = S extends IamOperationSpec<infer M, infer _R, infer _F> ? ResponseOf<M> : never;

/** The item type an operation's pages hold, for those that name one. */
export type ItemOf<S> =
  S extends IamOperationSpec<infer M, infer _R, infer _F, infer K>
    ? K extends keyof ResponseOf<M>
      ? ResponseOf<M>[K] extends readonly (infer I)[]
        ? I
        : never
      : never
    : never;

/** Operations whose pages name their items (`iam.paginate.<name>`). */
export type ItemsOperationName = {
  [K in keyof typeof iamOperations]: (typeof iamOperations)[K]["items"] extends string ? K : never;
}[keyof typeof iamOperations];

/** Operations whose request takes a page (marker and size). */
export type PagedOperationName = {
  [K in IamOperationName]: "page" extends keyof RequestOf<(typeof iamOperations)[K]["rpc"]> ? K : never;
}[IamOperationName];

type MethodDef = { requestDeserialize(b: Buffer): object; path: string };

/** The generated method definition of an RPC (its path, serializers). */
export function methodOf(rpc: ControlMethod): MethodDef {
  return (ControlServiceService as unknown as Record<string, MethodDef>)[rpc] as MethodDef;
}

/** The request message's fields with their defaults. */
export function requestDefaults(rpc: ControlMethod): Record<string, unknown> {
  return methodOf(rpc).requestDeserialize(Buffer.alloc(0)) as Record<string, unknown>;
}

/** Whether an RPC writes: every write takes a client request token (and only writes do). */
export function isWrite(rpc: ControlMethod): boolean {
  return "clientRequestToken" in requestDefaults(rpc);
}

/** Whether an RPC's request pages. */
export function isPaged(rpc: ControlMethod): boolean {
  return "page" in requestDefaults(rpc);
}

/** The input field names an operation takes (AWS names, without the page fields and the token). */
export function inputFieldsOf(spec: IamOperationSpec): string[] {
  const renamedTo = new Set(Object.values(spec.rename));
  const fields = Object.keys(requestDefaults(spec.rpc)).filter(
    (f) => f !== "clientRequestToken" && f !== "page" && !(f in spec.fixed) && !renamedTo.has(f),
  );
  return [...Object.keys(spec.rename), ...fields];
}

/**
 * Builds an operation's request message from its input: AWS names to request fields, fixed
 * fields, the page, and a client request token for a write when the input has none. An input
 * field the operation does not take is refused (a typo would otherwise be dropped silently).
 */
export function buildRequest(
  spec: IamOperationSpec,
  input: Record<string, unknown>,
  newToken: () => string,
): Record<string, unknown> {
  const request: Record<string, unknown> = { ...requestDefaults(spec.rpc) };
  const accepted = new Set(inputFieldsOf(spec));
  const paged = "page" in request;
  const page: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (paged && (key === "marker" || key === "maxItems")) page[key] = value;
    else if (key === "clientRequestToken" && "clientRequestToken" in request) request[key] = value;
    else if (accepted.has(key)) request[spec.rename[key] ?? key] = value;
    else throw new TypeError(`unknown input field "${key}"; this operation takes: ${[...accepted].join(", ")}`);
  }
  Object.assign(request, spec.fixed);
  if (paged && Object.keys(page).length > 0) request.page = { marker: "", maxItems: 0, ...page };
  if (
    "clientRequestToken" in request &&
    (request.clientRequestToken === "" || request.clientRequestToken === undefined)
  ) {
    request.clientRequestToken = newToken();
  }
  return request;
}
