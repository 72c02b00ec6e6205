import { IamError } from "@gatehouse/core";
import { principalColumn } from "../../lookups.ts";
import type { Mutation, PrincipalRef, RequestToken } from "../../records.ts";
import { principalState } from "../../state.ts";
import type { StoreContext } from "../../tx.ts";
import { mutate, tokenSpec } from "../../write-path.ts";
import { carriedPolicy, releasedPolicies } from "../policies/policy-references.ts";

/** Permissions boundaries of users and roles. */
export interface BoundaryStore {
  /** Sets (or with `null` removes) a user's or role's permissions boundary. */
  putPermissionsBoundary(
    accountId: string,
    principal: PrincipalRef,
    policyArn: string | null,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
}

/** The {@link BoundaryStore} part of the store. */
export function createBoundaryStore(ctx: StoreContext): BoundaryStore {
  const { find } = ctx;
  const { partition } = ctx.options;

  return {
    putPermissionsBoundary: (accountId, principal, policyArn, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "PutPermissionsBoundary", request: { principal, policyArn }, ...tokenSpec(token) },
        async (q) => {
          if (principal.kind === "group") {
            throw new IamError("InvalidInput", "permissions boundaries apply to users and roles, not groups", {
              field: "entityType",
            });
          }
          // Read under the account lock: its boundary is the one this write replaces.
          const row =
            principal.kind === "user"
              ? await find.user(q, accountId, principal.name)
              : await find.role(q, accountId, principal.name);
          const id = "user_id" in row ? row.user_id : row.role_id;
          const policy =
            policyArn === null ? null : await find.policy(q, accountId, policyArn, "permissionsBoundaryArn");
          const table = principal.kind === "user" ? "users" : "roles";
          const col = principalColumn(principal.kind);
          const r = await q.query(
            `UPDATE ${table} SET permissions_boundary_id = $2 WHERE ${col} = $1 AND permissions_boundary_id IS DISTINCT FROM $2`,
            [id, policy?.policy_id ?? null],
          );
          if (r.rowCount === 0) {
            if (policy === null) {
              throw new IamError(
                "NoSuchEntity",
                `${principal.kind} ${JSON.stringify(principal.name)} has no permissions boundary`,
                {
                  field: "entityName",
                },
              );
            }
            return { value: null, events: [] };
          }
          const carried = policy === null ? [] : await carriedPolicy(q, partition, policy);
          const released = await releasedPolicies(q, accountId, [row.permissions_boundary_id]);
          return {
            value: null,
            events: [await principalState(q, partition, principal.kind, id), ...carried, ...released],
          };
        },
      ),
  };
}
