import { IamError } from "@gatehouse/core";
import type { Mutation, RequestToken } from "../../records.ts";
import { accountState } from "../../state.ts";
import { read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec } from "../../write-path.ts";

/** A guardrail attached to an account: the policy's ARN and the document copied at attach time. */
export interface GuardrailRecord {
  readonly policyArn: string;
  readonly document: string;
  readonly attachedAtMs: number;
}

/** Account guardrails (service-control-policy-like), managed by the operator. */
export interface GuardrailStore {
  /** Attaches (or re-attaches, refreshing the copied document) a guardrail; at most 5 per account. */
  attachAccountGuardrail(
    accountId: string,
    policyArn: string,
    document: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  detachAccountGuardrail(accountId: string, policyArn: string, token?: RequestToken): Promise<Mutation<null>>;
  listAccountGuardrails(accountId: string): Promise<GuardrailRecord[]>;
}

/** AWS allows five service control policies per target: the default of the `guardrailsPerAccount` quota. */
export const MAX_GUARDRAILS_PER_ACCOUNT = 5;

/** The {@link GuardrailStore} part of the store. */
export function createGuardrailStore(ctx: StoreContext): GuardrailStore {
  const max = ctx.options.quotas.guardrailsPerAccount;
  return {
    attachAccountGuardrail: (accountId, policyArn, document, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "AttachAccountGuardrail",
          request: { policyArn, document },
          ...tokenSpec(token),
        },
        async (q) => {
          const r = await q.query(
            `INSERT INTO account_guardrails (account_id, policy_arn, document) VALUES ($1, $2, $3)
             ON CONFLICT (account_id, policy_arn) DO UPDATE SET document = EXCLUDED.document, attached_at = now()
             WHERE account_guardrails.document <> EXCLUDED.document`,
            [accountId, policyArn, document],
          );
          if (r.rowCount === 0) return { value: null, events: [] };
          const n = await q.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM account_guardrails WHERE account_id = $1",
            [accountId],
          );
          if ((n.rows[0]?.n ?? 0) > max) {
            throw new IamError("LimitExceeded", `account ${accountId} already has ${max} guardrails (quota ${max})`, {
              field: "policyArn",
            });
          }
          return { value: null, events: [await accountState(q, accountId)] };
        },
      ),

    detachAccountGuardrail: (accountId, policyArn, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DetachAccountGuardrail", request: { policyArn }, ...tokenSpec(token) },
        async (q) => {
          const r = await q.query("DELETE FROM account_guardrails WHERE account_id = $1 AND policy_arn = $2", [
            accountId,
            policyArn,
          ]);
          if (r.rowCount === 0) {
            throw new IamError("NoSuchEntity", `${policyArn} is not a guardrail of account ${accountId}`, {
              field: "policyArn",
            });
          }
          return { value: null, events: [await accountState(q, accountId)] };
        },
      ),

    listAccountGuardrails: (accountId) =>
      read(ctx, "ListAccountGuardrails", async (q) => {
        const r = await q.query<{ policy_arn: string; document: string; attached_at: Date }>(
          "SELECT * FROM account_guardrails WHERE account_id = $1 ORDER BY policy_arn",
          [accountId],
        );
        return r.rows.map((x) => ({
          policyArn: x.policy_arn,
          document: x.document,
          attachedAtMs: x.attached_at.getTime(),
        }));
      }),
  };
}
