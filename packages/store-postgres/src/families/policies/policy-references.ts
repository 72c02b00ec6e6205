import { EntityKind, policyState } from "../../state.ts";
import type { OutboxEvent, Queryable } from "../../tx.ts";
import { AWS_MANAGED_ACCOUNT } from "./builtin-policies.ts";
import { type PolicyRow, REFERENCED_IN_ACCOUNT } from "./policy-rows.ts";

// What an account's stream carries of the AWS managed policies it uses: such a policy belongs to
// no account, so the account that attaches it (or makes it a boundary) carries its state, and
// tombstones it when the last reference goes.

/** The path of a user, group, role or policy created without one. */
export const DEFAULT_PATH = "/";

/**
 * The state event of an AWS managed policy an account puts to use (attached, or as a permissions
 * boundary): such policies belong to no account's stream, so the account using one carries it.
 * A policy of the account's own is on its stream already: no event.
 */
export async function carriedPolicy(q: Queryable, partition: string, policy: PolicyRow): Promise<OutboxEvent[]> {
  return policy.account_id === AWS_MANAGED_ACCOUNT ? [await policyState(q, partition, policy.policy_id)] : [];
}

/**
 * The counterpart of {@link carriedPolicy}, for a write that dropped references to `policyIds`
 * (detached, a boundary removed or replaced, its user or role deleted): a tombstone on the
 * account's stream for each of them that is AWS managed and no longer referenced anywhere in the
 * account. It means "this account no longer carries the policy", not that the policy is gone.
 * One query, run after the write's own statements.
 */
export async function releasedPolicies(
  q: Queryable,
  accountId: string,
  policyIds: readonly (string | null)[],
): Promise<OutboxEvent[]> {
  const ids = policyIds.filter((id) => id !== null);
  if (ids.length === 0) return [];
  const r = await q.query<{ policy_id: string }>(
    `SELECT p.policy_id FROM managed_policies p
     WHERE p.policy_id = ANY($2::text[]) AND p.account_id = '${AWS_MANAGED_ACCOUNT}' AND NOT ${REFERENCED_IN_ACCOUNT}
     ORDER BY p.policy_id`,
    [accountId, ids],
  );
  return r.rows.map((x) => ({ kind: EntityKind.policy, id: x.policy_id, payload: null }));
}
