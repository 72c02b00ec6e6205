import { findGroup, type GroupRow } from "./families/groups/group-rows.ts";
import {
  findPolicyByArn,
  type PolicyArnParts,
  type PolicyRow,
  parsePolicyArn,
} from "./families/policies/policy-rows.ts";
import { findRole, type RoleRow } from "./families/roles/role-rows.ts";
import { findUser, type UserRow } from "./families/users/user-rows.ts";
import type { PrincipalKind, PrincipalRef } from "./records.ts";
import type { Queryable } from "./tx.ts";

/**
 * The lookups by name that several families make, bound to the store's partition (the ARNs they
 * render and accept are in it). Each family's own `*-rows.ts` holds the unbound function; the
 * store's context carries this object as `ctx.find`.
 */
export interface Lookups {
  /** A user by name (case-insensitive); NoSuchEntity, field `userName`. */
  user(q: Queryable, accountId: string, userName: string): Promise<UserRow>;
  /** A group by name (case-insensitive); NoSuchEntity, field `groupName`. */
  group(q: Queryable, accountId: string, groupName: string): Promise<GroupRow>;
  /** A role by name (case-insensitive); NoSuchEntity, field `roleName`. */
  role(q: Queryable, accountId: string, roleName: string): Promise<RoleRow>;
  /** The unique id of a named user, group or role; NoSuchEntity names the right field. */
  principalId(q: Queryable, accountId: string, ref: PrincipalRef): Promise<string>;
  /** The checks of {@link Lookups.policy} that need no database (see `parsePolicyArn`). */
  policyArn(accountId: string, policyArn: string, field?: string, access?: "read" | "write"): PolicyArnParts;
  /** A managed policy of the account, or an AWS managed one to read (see `findPolicyByArn`). */
  policy(
    q: Queryable,
    accountId: string,
    policyArn: string,
    field?: string,
    access?: "read" | "write",
  ): Promise<PolicyRow>;
}

/** {@link Lookups} in `partition`. */
export function createLookups(partition: string): Lookups {
  const find: Lookups = {
    user: (q, accountId, userName) => findUser(q, partition, accountId, userName),
    group: (q, accountId, groupName) => findGroup(q, accountId, groupName),
    role: (q, accountId, roleName) => findRole(q, partition, accountId, roleName),
    principalId: async (q, accountId, ref) => {
      switch (ref.kind) {
        case "user":
          return (await find.user(q, accountId, ref.name)).user_id;
        case "group":
          return (await find.group(q, accountId, ref.name)).group_id;
        case "role":
          return (await find.role(q, accountId, ref.name)).role_id;
      }
    },
    policyArn: (accountId, policyArn, field, access) => parsePolicyArn(partition, accountId, policyArn, field, access),
    policy: (q, accountId, policyArn, field, access) =>
      findPolicyByArn(q, partition, accountId, policyArn, field, access),
  };
  return Object.freeze(find);
}

/** Column holding a principal's id in attachment and inline-policy tables. */
export function principalColumn(kind: PrincipalKind): "user_id" | "group_id" | "role_id" {
  return kind === "user" ? "user_id" : kind === "group" ? "group_id" : "role_id";
}
