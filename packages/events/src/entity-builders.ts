// Builders of entity states for tests and benchmarks (`@gatehouse/events/testing`, not the main
// entry point): one place for the defaults every fixture repeats, so a field added to a state
// schema is added here once. Pure (no I/O), so a benchmark in a runtime package can use them too.
import type { AccessKeyState, GroupState, PolicyState, RoleState, UserState } from "./entity-state.ts";

/** A user entity whose state is present (not a tombstone). */
export type UserEntity = { readonly kind: "user"; readonly id: string; readonly state: UserState };
/** A group entity whose state is present. */
export type GroupEntity = { readonly kind: "group"; readonly id: string; readonly state: GroupState };
/** A role entity whose state is present. */
export type RoleEntity = { readonly kind: "role"; readonly id: string; readonly state: RoleState };
/** A managed policy entity whose state is present (its ARN and id for `attachedPolicies`). */
export type PolicyEntity = { readonly kind: "policy"; readonly id: string; readonly state: PolicyState };
/** An access key entity whose state is present. */
export type AccessKeyEntity = { readonly kind: "access-key"; readonly id: string; readonly state: AccessKeyState };

/** An empty policy document (`Statement: []`): what {@link EntityBuilders.policy} holds by default. */
export const EMPTY_POLICY_DOCUMENT = '{"Version":"2012-10-17","Statement":[]}';

/** Builders of one account's entities; each field of the state can be overridden. */
export interface EntityBuilders {
  /** The account the entities belong to. */
  readonly accountId: string;
  /** A user at path `/`, created at 1 ms, with no tags, groups, policies or boundary. */
  user(name: string, overrides?: Partial<UserState>): UserEntity;
  /** A group at path `/` with no policies. */
  group(name: string, overrides?: Partial<GroupState>): GroupEntity;
  /** A role at path `/` trusting nobody (`{}`), one-hour sessions, no tags, policies or boundary. */
  role(name: string, overrides?: Partial<RoleState>): RoleEntity;
  /** A customer managed policy with one default version `v1` holding `document`. */
  policy(name: string, document?: string, overrides?: Partial<PolicyState>): PolicyEntity;
  /** An active access key of `user` (the entity's id is the access key id). */
  accessKey(accessKeyId: string, user: UserEntity, overrides?: Partial<AccessKeyState>): AccessKeyEntity;
}

/** Options of {@link entityBuilders}. */
export interface EntityBuilderOptions {
  /**
   * Appended to every id (`AIDA` + upper-cased name + suffix), so tests with several accounts may
   * repeat names across them. Default `""`.
   */
  readonly idSuffix?: string;
  /** Every entity's `createdAtMs` (and a policy's `updatedAtMs`). Default 1. */
  readonly createdAtMs?: number;
}

/**
 * Builders of `accountId`'s entities, with ARNs under it and AWS-shaped ids: `AIDA`/`AGPA`/`AROA`/
 * `ANPA` + the upper-cased name + `idSuffix`.
 * @example
 * const acct = entityBuilders("111122223333");
 * const p = acct.policy("read", doc);
 * await view.applyRevision(acct.accountId, 1, "e1", [
 *   p,
 *   acct.user("alice", { attachedPolicies: [policyRef(p)] }),
 * ]);
 */
export function entityBuilders(accountId: string, options: EntityBuilderOptions = {}): EntityBuilders {
  const suffix = options.idSuffix ?? "";
  const createdAtMs = options.createdAtMs ?? 1;
  const arnOf = (kind: string, name: string) => `arn:aws:iam::${accountId}:${kind}/${name}`;
  const idOf = (prefix: string, name: string) => `${prefix}${name.toUpperCase()}${suffix}`;
  return {
    accountId,
    user(name, overrides = {}) {
      const state: UserState = {
        accountId,
        userId: idOf("AIDA", name),
        userName: name,
        path: "/",
        arn: arnOf("user", name),
        createdAtMs,
        tags: [],
        permissionsBoundaryArn: null,
        groups: [],
        attachedPolicies: [],
        inlinePolicies: [],
        ...overrides,
      };
      return { kind: "user", id: state.userId, state };
    },
    group(name, overrides = {}) {
      const state: GroupState = {
        accountId,
        groupId: idOf("AGPA", name),
        groupName: name,
        path: "/",
        arn: arnOf("group", name),
        createdAtMs,
        attachedPolicies: [],
        inlinePolicies: [],
        ...overrides,
      };
      return { kind: "group", id: state.groupId, state };
    },
    role(name, overrides = {}) {
      const state: RoleState = {
        accountId,
        roleId: idOf("AROA", name),
        roleName: name,
        path: "/",
        arn: arnOf("role", name),
        createdAtMs,
        assumeRolePolicyDocument: "{}",
        description: "",
        maxSessionDuration: 3600,
        tags: [],
        permissionsBoundaryArn: null,
        attachedPolicies: [],
        inlinePolicies: [],
        ...overrides,
      };
      return { kind: "role", id: state.roleId, state };
    },
    policy(name, document = EMPTY_POLICY_DOCUMENT, overrides = {}) {
      const state: PolicyState = {
        accountId,
        policyId: idOf("ANPA", name),
        policyName: name,
        path: "/",
        arn: arnOf("policy", name),
        description: "",
        defaultVersionId: "v1",
        createdAtMs,
        updatedAtMs: createdAtMs,
        tags: [],
        versions: [{ versionId: "v1", document, isDefault: true, createdAtMs }],
        ...overrides,
      };
      return { kind: "policy", id: state.policyId, state };
    },
    accessKey(accessKeyId, user, overrides = {}) {
      const state: AccessKeyState = {
        accessKeyId,
        accountId,
        userId: user.state.userId,
        userName: user.state.userName,
        principalArn: user.state.arn,
        status: "Active",
        createdAtMs,
        ...overrides,
      };
      return { kind: "access-key", id: accessKeyId, state };
    },
  };
}

/** The reference a user, group or role's `attachedPolicies` holds for `policy`. */
export function policyRef(policy: PolicyEntity): { policyId: string; policyArn: string } {
  return { policyId: policy.state.policyId, policyArn: policy.state.arn };
}
