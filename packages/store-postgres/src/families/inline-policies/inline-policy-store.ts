import { IamError } from "@gatehouse/core";
import { principalColumn } from "../../lookups.ts";
import type { StoreQuotas } from "../../options.ts";
import { pageQuery, toPage } from "../../paging.ts";
import type {
  InlinePolicyRecord,
  Mutation,
  Page,
  PageInput,
  PrincipalKind,
  PrincipalRef,
  RequestToken,
} from "../../records.ts";
import { principalState } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { callWrite, mutate, tokenSpec } from "../../write-path.ts";

/** Policies embedded in a user, group or role. */
export interface InlinePolicyStore {
  putInlinePolicy(
    accountId: string,
    principal: PrincipalRef,
    policyName: string,
    policyDocument: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  getInlinePolicy(accountId: string, principal: PrincipalRef, policyName: string): Promise<InlinePolicyRecord>;
  /** One page of the principal's inline policy names; the marker is the last name. `pathPrefix` is ignored. */
  listInlinePolicies(accountId: string, principal: PrincipalRef, page: PageInput): Promise<Page<string>>;
  deleteInlinePolicy(
    accountId: string,
    principal: PrincipalRef,
    policyName: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
}

/** AWS's aggregate inline-policy size quota for each kind of principal. */
const INLINE_CHARS_QUOTA: Readonly<Record<PrincipalKind, (q: StoreQuotas) => number>> = {
  user: (q) => q.inlinePolicyCharsPerUser,
  group: (q) => q.inlinePolicyCharsPerGroup,
  role: (q) => q.inlinePolicyCharsPerRole,
};

async function inlinePolicyNames(
  q: Queryable,
  kind: PrincipalKind,
  principalId: string,
  after: string | null,
  limit: number | null,
): Promise<string[]> {
  const r = await q.query<{ policy_name: string }>(
    `SELECT policy_name FROM inline_policies WHERE ${principalColumn(kind)} = $1
       AND ($2::text IS NULL OR policy_name > $2) ORDER BY policy_name LIMIT $3`,
    [principalId, after, limit],
  );
  return r.rows.map((x) => x.policy_name);
}

/** The {@link InlinePolicyStore} part of the store. */
export function createInlinePolicyStore(ctx: StoreContext): InlinePolicyStore {
  const { find } = ctx;
  const { partition, quotas } = ctx.options;

  return {
    putInlinePolicy: (accountId, principal, policyName, policyDocument, token) =>
      callWrite<null>(
        ctx,
        accountId,
        {
          operation: "PutInlinePolicy",
          request: { principal, policyName, policyDocument },
          ...tokenSpec(token),
        },
        "gh_put_inline_policy",
        [
          principal.kind,
          principal.name,
          policyName,
          policyDocument,
          quotas.inlinePoliciesPerEntity,
          INLINE_CHARS_QUOTA[principal.kind](quotas),
        ],
      ),

    getInlinePolicy: (accountId, principal, policyName) =>
      read(ctx, "GetInlinePolicy", async (q) => {
        const id = await find.principalId(q, accountId, principal);
        const r = await q.query<{ document: string }>(
          `SELECT document FROM inline_policies WHERE ${principalColumn(principal.kind)} = $1 AND policy_name = $2`,
          [id, policyName],
        );
        const row = r.rows[0];
        if (row === undefined) {
          throw new IamError(
            "NoSuchEntity",
            `${principal.kind} ${JSON.stringify(principal.name)} has no inline policy ${JSON.stringify(policyName)}`,
            { field: "policyName" },
          );
        }
        return { principal, policyName, document: row.document };
      }),

    listInlinePolicies: (accountId, principal, page) =>
      read(ctx, "ListInlinePolicies", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        const id = await find.principalId(q, accountId, principal);
        return toPage(await inlinePolicyNames(q, principal.kind, id, p.after, p.limit + 1), p.limit, (name) => name);
      }),

    deleteInlinePolicy: (accountId, principal, policyName, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteInlinePolicy", request: { principal, policyName }, ...tokenSpec(token) },
        async (q) => {
          const id = await find.principalId(q, accountId, principal);
          const r = await q.query(
            `DELETE FROM inline_policies WHERE ${principalColumn(principal.kind)} = $1 AND policy_name = $2`,
            [id, policyName],
          );
          if (r.rowCount === 0) {
            throw new IamError(
              "NoSuchEntity",
              `${principal.kind} ${JSON.stringify(principal.name)} has no inline policy ${JSON.stringify(policyName)}`,
              { field: "policyName" },
            );
          }
          return { value: null, events: [await principalState(q, partition, principal.kind, id)] };
        },
      ),
  };
}
