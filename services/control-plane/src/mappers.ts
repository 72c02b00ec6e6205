import type { GroupState, UserState } from "@gatehouse/events";
import type {
  AccessKeyLastUsed,
  AccessKeyMetadata,
  AttachedPermissionsBoundary,
  AttachedPolicy,
  Group,
  GroupDetail,
  InstanceProfile,
  LoginProfile,
  ManagedPolicy,
  ManagedPolicyDetail,
  PageResponse,
  PolicyDetail,
  PolicyVersion,
  Revision,
  Role,
  RoleDetail,
  Tag,
  User,
  UserDetail,
} from "@gatehouse/proto";
import type {
  AccessKeyRecord,
  GroupRecord,
  InstanceProfileRecord,
  LoginProfileRecord,
  ManagedPolicyDetailRecord,
  ManagedPolicyRecord,
  Mutation,
  Page,
  PolicyVersionRecord,
  RoleDetailRecord,
  RoleRecord,
  TagRecord,
  UserRecord,
} from "@gatehouse/store-postgres";

/** The inline and attached policies every principal's state document carries. */
interface PrincipalPolicies {
  readonly attachedPolicies: readonly { readonly policyArn: string }[];
  readonly inlinePolicies: readonly { readonly policyName: string; readonly policyDocument: string }[];
}

const inlineDetails = (p: PrincipalPolicies): PolicyDetail[] =>
  p.inlinePolicies.map((x) => ({ policyName: x.policyName, policyDocument: x.policyDocument }));
// A managed policy's name is its ARN's last segment (`policy/<path><name>`, names have no "/").
const attachedDetails = (p: PrincipalPolicies): AttachedPolicy[] =>
  p.attachedPolicies.map((x) => ({
    policyName: x.policyArn.slice(x.policyArn.lastIndexOf("/") + 1),
    policyArn: x.policyArn,
  }));
const boundaryDetail = (arn: string | null): AttachedPermissionsBoundary | undefined =>
  arn === null ? undefined : { permissionsBoundaryType: "PermissionsBoundaryPolicy", permissionsBoundaryArn: arn };

/** Store records → wire messages. */
export const toWire = {
  revision: (m: Pick<Mutation<unknown>, "accountId" | "revision" | "epoch">): Revision => ({
    accountId: m.accountId,
    revision: m.revision,
    epoch: m.epoch,
  }),
  tags: (tags: readonly TagRecord[]): Tag[] => tags.map((t) => ({ key: t.key, value: t.value })),
  user: (u: UserRecord): User => ({
    userName: u.userName,
    userId: u.userId,
    arn: u.arn,
    path: u.path,
    createDateMs: u.createdAtMs,
    tags: toWire.tags(u.tags),
    permissionsBoundaryArn: u.permissionsBoundaryArn ?? "",
    passwordLastUsedMs: u.passwordLastUsedMs ?? 0,
  }),
  group: (g: GroupRecord): Group => ({
    groupName: g.groupName,
    groupId: g.groupId,
    arn: g.arn,
    path: g.path,
    createDateMs: g.createdAtMs,
  }),
  role: (r: RoleRecord): Role => ({
    roleName: r.roleName,
    roleId: r.roleId,
    arn: r.arn,
    path: r.path,
    createDateMs: r.createdAtMs,
    assumeRolePolicyDocument: r.assumeRolePolicyDocument,
    description: r.description,
    maxSessionDuration: r.maxSessionDuration,
    tags: toWire.tags(r.tags),
    permissionsBoundaryArn: r.permissionsBoundaryArn ?? "",
  }),
  policy: (p: ManagedPolicyRecord): ManagedPolicy => ({
    policyName: p.policyName,
    policyId: p.policyId,
    arn: p.arn,
    path: p.path,
    defaultVersionId: p.defaultVersionId,
    attachmentCount: p.attachmentCount,
    createDateMs: p.createdAtMs,
    updateDateMs: p.updatedAtMs,
    description: p.description,
    tags: toWire.tags(p.tags),
  }),
  policyVersion: (v: PolicyVersionRecord): PolicyVersion => ({
    versionId: v.versionId,
    document: v.document,
    isDefaultVersion: v.isDefault,
    createDateMs: v.createdAtMs,
  }),
  // GetAccountAuthorizationDetails: the state documents in AWS's detail shapes.
  userDetail: (u: UserState): UserDetail => ({
    path: u.path,
    userName: u.userName,
    userId: u.userId,
    arn: u.arn,
    createDateMs: u.createdAtMs,
    userPolicyList: inlineDetails(u),
    groupList: u.groups.map((g) => g.groupName),
    attachedManagedPolicies: attachedDetails(u),
    permissionsBoundary: boundaryDetail(u.permissionsBoundaryArn),
    tags: toWire.tags(u.tags),
  }),
  groupDetail: (g: GroupState): GroupDetail => ({
    path: g.path,
    groupName: g.groupName,
    groupId: g.groupId,
    arn: g.arn,
    createDateMs: g.createdAtMs,
    groupPolicyList: inlineDetails(g),
    attachedManagedPolicies: attachedDetails(g),
  }),
  roleDetail: ({ role: r, instanceProfiles }: RoleDetailRecord): RoleDetail => ({
    path: r.path,
    roleName: r.roleName,
    roleId: r.roleId,
    arn: r.arn,
    createDateMs: r.createdAtMs,
    assumeRolePolicyDocument: r.assumeRolePolicyDocument,
    instanceProfileList: instanceProfiles.map((p) => toWire.instanceProfile(p)),
    rolePolicyList: inlineDetails(r),
    attachedManagedPolicies: attachedDetails(r),
    permissionsBoundary: boundaryDetail(r.permissionsBoundaryArn),
    tags: toWire.tags(r.tags),
  }),
  managedPolicyDetail: ({ policy: p, ...counts }: ManagedPolicyDetailRecord): ManagedPolicyDetail => ({
    policyName: p.policyName,
    policyId: p.policyId,
    arn: p.arn,
    path: p.path,
    defaultVersionId: p.defaultVersionId,
    attachmentCount: counts.attachmentCount,
    permissionsBoundaryUsageCount: counts.permissionsBoundaryUsageCount,
    // Every managed policy here may be attached (AWS marks only some retired AWS managed ones not).
    isAttachable: true,
    description: p.description,
    createDateMs: p.createdAtMs,
    updateDateMs: p.updatedAtMs,
    policyVersionList: p.versions.map((v) => toWire.policyVersion(v)),
  }),
  accessKey: (k: AccessKeyRecord): AccessKeyMetadata => ({
    userName: k.userName ?? "",
    accessKeyId: k.accessKeyId,
    status: k.status,
    createDateMs: k.createdAtMs,
    lastUsedDateMs: k.lastUsed?.atMs ?? 0,
    lastUsedService: k.lastUsed?.service ?? "",
    lastUsedRegion: k.lastUsed?.region ?? "",
  }),
  /** AWS's AccessKeyLastUsed: "N/A" service and region (and no date) for a key never used. */
  accessKeyLastUsed: (k: AccessKeyRecord): AccessKeyLastUsed =>
    k.lastUsed === null
      ? { lastUsedDateMs: 0, serviceName: "N/A", region: "N/A" }
      : { lastUsedDateMs: k.lastUsed.atMs, serviceName: k.lastUsed.service, region: k.lastUsed.region },
  loginProfile: (p: LoginProfileRecord): LoginProfile => ({
    userName: p.userName,
    createDateMs: p.createdAtMs,
    passwordResetRequired: p.passwordResetRequired,
  }),
  instanceProfile: (p: InstanceProfileRecord): InstanceProfile => ({
    instanceProfileName: p.instanceProfileName,
    instanceProfileId: p.instanceProfileId,
    arn: p.arn,
    path: p.path,
    createDateMs: p.createdAtMs,
    roles: p.roles.map((r) => toWire.role(r)),
    tags: toWire.tags(p.tags),
  }),
  page: (p: Page<unknown>): PageResponse => ({ isTruncated: p.isTruncated, marker: p.marker }),
};
