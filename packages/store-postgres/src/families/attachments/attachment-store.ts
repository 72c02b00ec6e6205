import { IamError } from "@gatehouse/core";
import { principalColumn } from "../../lookups.ts";
import { pageQuery, toPage } from "../../paging.ts";
import type {
  AttachedPolicyRecord,
  Mutation,
  Page,
  PageInput,
  PrincipalKind,
  PrincipalRef,
  RequestToken,
} from "../../records.ts";
import { principalState } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { callWrite, failInOrder, mutate, tokenSpec } from "../../write-path.ts";
import { AWS_MANAGED_ACCOUNT } from "../policies/builtin-policies.ts";
import { releasedPolicies } from "../policies/policy-references.ts";
import { POLICY_SELECT, type PolicyArnParts, type PolicyRow, toPolicy } from "../policies/policy-rows.ts";

/** Managed policies attached to users, groups and roles. */
export interface AttachmentStore {
  attachPolicy(
    accountId: string,
    principal: PrincipalRef,
    policyArn: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  detachPolicy(
    accountId: string,
    principal: PrincipalRef,
    policyArn: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /**
   * One page of the principal's attached policies whose path starts with `page.pathPrefix`; the
   * marker is the last policy's lower-cased name and owning account (a local policy may share its
   * name with an AWS managed one).
   */
  listAttachedPolicies(
    accountId: string,
    principal: PrincipalRef,
    page: PageInput,
  ): Promise<Page<AttachedPolicyRecord>>;
}

// A principal's attached policies, as its paged list reads them: rows strictly
// after the sort key `after` (from a marker; null: from the start), at most `limit` (null: all),
// ordered by that same sort key so markers resume exactly where the last page ended.

async function attachedTo(
  q: Queryable,
  kind: PrincipalKind,
  principalId: string,
  p: { after: string | null; limit: number | null; pathLike: string },
): Promise<PolicyRow[]> {
  const [afterName = null, afterOwner = ""] = p.after === null ? [] : p.after.split("\n");
  const r = await q.query<PolicyRow>(
    `${POLICY_SELECT} JOIN policy_attachments a ON a.policy_id = p.policy_id
     WHERE a.${principalColumn(kind)} = $1 AND p.path LIKE $2
       AND ($3::text IS NULL OR (lower(p.policy_name), p.account_id) > ($3::text, $4::text))
     ORDER BY lower(p.policy_name), p.account_id LIMIT $5`,
    [principalId, p.pathLike, afterName, afterOwner, p.limit],
  );
  return r.rows;
}

/** The {@link AttachmentStore} part of the store. */
export function createAttachmentStore(ctx: StoreContext): AttachmentStore {
  const { find } = ctx;
  const { partition, quotas } = ctx.options;

  return {
    attachPolicy: async (accountId, principal, policyArn, token) => {
      const spec = { operation: "AttachPolicy", request: { principal, policyArn }, ...tokenSpec(token) };
      let policy: PolicyArnParts;
      try {
        policy = find.policyArn(accountId, policyArn);
      } catch (e) {
        // The principal is looked up before the policy, as DetachPolicy does.
        return failInOrder<null>(ctx, accountId, spec, e, (q) => find.principalId(q, accountId, principal));
      }
      return callWrite<null>(ctx, accountId, spec, "gh_attach_policy", [
        principal.kind,
        principal.name,
        policy.accountId,
        policy.path,
        policy.name,
        policyArn,
        quotas.attachedPoliciesPerEntity,
      ]);
    },

    detachPolicy: (accountId, principal, policyArn, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DetachPolicy", request: { principal, policyArn }, ...tokenSpec(token) },
        async (q) => {
          const id = await find.principalId(q, accountId, principal);
          const policy = await find.policy(q, accountId, policyArn);
          const col = principalColumn(principal.kind);
          const r = await q.query(`DELETE FROM policy_attachments WHERE ${col} = $1 AND policy_id = $2`, [
            id,
            policy.policy_id,
          ]);
          if (r.rowCount === 0) {
            throw new IamError(
              "NoSuchEntity",
              `policy ${policyArn} is not attached to ${principal.kind} ${JSON.stringify(principal.name)}`,
              { field: "policyArn" },
            );
          }
          // Only an AWS managed policy can leave the account's state by being detached.
          const released =
            policy.account_id === AWS_MANAGED_ACCOUNT ? await releasedPolicies(q, accountId, [policy.policy_id]) : [];
          return { value: null, events: [await principalState(q, partition, principal.kind, id), ...released] };
        },
      ),

    listAttachedPolicies: (accountId, principal, page) =>
      read(ctx, "ListAttachedPolicies", async (q) => {
        const p = pageQuery(page);
        const id = await find.principalId(q, accountId, principal);
        const rows = await attachedTo(q, principal.kind, id, { ...p, limit: p.limit + 1 });
        const cut = toPage(rows, p.limit, (x) => `${x.policy_name.toLowerCase()}\n${x.account_id}`);
        return {
          ...cut,
          items: cut.items.map((x) => ({ policyArn: toPolicy(x, partition).arn, policyName: x.policy_name })),
        };
      }),
  };
}
