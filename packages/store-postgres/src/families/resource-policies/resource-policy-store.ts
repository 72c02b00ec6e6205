import { IamError } from "@gatehouse/core";
import { EntityKind } from "@gatehouse/events";
import { pageQuery, toPage } from "../../paging.ts";
import type { Mutation, Page, PageInput, RequestToken } from "../../records.ts";
import type { StateEvent } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec } from "../../write-path.ts";

/** The policy stored for one resource, as GetResourcePolicy returns it and its events carry it. */
export interface ResourcePolicyRecord {
  /** The resource's ARN as it was put (the key, matched exactly). */
  readonly resourceArn: string;
  /** The owner: the account that put it (also for an ARN without an account component). */
  readonly accountId: string;
  /** Minified, as validated by the caller. */
  readonly policyDocument: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** Input of {@link ResourcePolicyStore.putResourcePolicy}, validated by the caller. */
export interface PutResourcePolicyInput extends RequestToken {
  readonly resourceArn: string;
  readonly policyDocument: string;
}

/** Paging of {@link ResourcePolicyStore.listResourcePolicies}: the usual marker and size, and an ARN prefix. */
export interface ResourcePolicyPageInput extends Pick<PageInput, "marker" | "maxItems"> {
  /** Only ARNs starting with this text, compared exactly; "" or absent lists all. */
  readonly resourceArnPrefix?: string | undefined;
}

/** Resource policies (bucket, queue, key policies) an account keeps, one per resource ARN. */
export interface ResourcePolicyStore {
  /**
   * Creates or replaces the resource's policy; the same document again changes nothing (no
   * revision). AccessDenied (field `resourceArn`) when another account holds a policy on the ARN
   * (only possible for ARNs without an account component); LimitExceeded past the
   * `resourcePoliciesPerAccount` quota when it creates one.
   */
  putResourcePolicy(accountId: string, input: PutResourcePolicyInput): Promise<Mutation<ResourcePolicyRecord>>;
  /** NoSuchEntity (field `resourceArn`) when the account holds no policy for the ARN. */
  getResourcePolicy(accountId: string, resourceArn: string): Promise<ResourcePolicyRecord>;
  /** NoSuchEntity (field `resourceArn`) when the account holds no policy for the ARN. */
  deleteResourcePolicy(accountId: string, resourceArn: string, token?: RequestToken): Promise<Mutation<null>>;
  /** The account's policies in ARN (byte) order. */
  listResourcePolicies(accountId: string, page: ResourcePolicyPageInput): Promise<Page<ResourcePolicyRecord>>;
}

/** A row of `resource_policies` (migration 0026). */
interface ResourcePolicyRow {
  resource_arn: string;
  account_id: string;
  policy_document: string;
  created_at: Date;
  updated_at: Date;
}

function toResourcePolicy(row: ResourcePolicyRow): ResourcePolicyRecord {
  return {
    resourceArn: row.resource_arn,
    accountId: row.account_id,
    policyDocument: row.policy_document,
    createdAtMs: row.created_at.getTime(),
    updatedAtMs: row.updated_at.getTime(),
  };
}

/**
 * The state a `resource-policy` event and an export carry (entity id = the resource ARN, so a
 * region finds the policy of a resource by its key), or a tombstone once it is gone.
 */
export async function resourcePolicyState(q: Queryable, resourceArn: string): Promise<StateEvent<"resource-policy">> {
  const r = await q.query<ResourcePolicyRow>("SELECT * FROM resource_policies WHERE resource_arn = $1", [resourceArn]);
  const row = r.rows[0];
  return {
    kind: EntityKind.resourcePolicy,
    id: resourceArn,
    payload: row === undefined ? null : toResourcePolicy(row),
  };
}

function noSuchPolicy(resourceArn: string): IamError {
  return new IamError("NoSuchEntity", `no resource policy is stored for ${JSON.stringify(resourceArn)}`, {
    field: "resourceArn",
  });
}

/** The {@link ResourcePolicyStore} part of the store. */
export function createResourcePolicyStore(ctx: StoreContext): ResourcePolicyStore {
  const quota = () => ctx.options.quotas.resourcePoliciesPerAccount;

  /** The account's row for the ARN, locked for the write; another account's row is not the caller's. */
  const ownRow = async (q: Queryable, accountId: string, resourceArn: string) => {
    const r = await q.query<ResourcePolicyRow>(
      "SELECT * FROM resource_policies WHERE resource_arn = $1 AND account_id = $2 FOR UPDATE",
      [resourceArn, accountId],
    );
    return r.rows[0];
  };

  return {
    putResourcePolicy: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "PutResourcePolicy",
          request: { resourceArn: input.resourceArn, policyDocument: input.policyDocument },
          ...tokenSpec(input),
        },
        async (q) => {
          const { resourceArn, policyDocument } = input;
          const current = await ownRow(q, accountId, resourceArn);
          if (current !== undefined) {
            if (current.policy_document === policyDocument) return { value: toResourcePolicy(current), events: [] };
            await q.query(
              "UPDATE resource_policies SET policy_document = $2, updated_at = now() WHERE resource_arn = $1",
              [resourceArn, policyDocument],
            );
          } else {
            // Another account's lock does not cover this account's insert: the primary key
            // decides a race between two owners, and ON CONFLICT turns the loser into no row.
            const r = await q.query<{ inserted: boolean; over_quota: boolean }>(
              `WITH quota AS (SELECT count(*) >= $4 AS over_quota FROM resource_policies WHERE account_id = $2),
                    ins AS (
                      INSERT INTO resource_policies (resource_arn, account_id, policy_document)
                      SELECT $1, $2, $3 FROM quota WHERE NOT over_quota
                      ON CONFLICT (resource_arn) DO NOTHING RETURNING 1)
               SELECT EXISTS (SELECT 1 FROM ins) AS inserted, (SELECT over_quota FROM quota) AS over_quota`,
              [resourceArn, accountId, policyDocument, quota()],
            );
            const outcome = r.rows[0];
            if (outcome?.over_quota === true) {
              throw new IamError("LimitExceeded", `too many resource policies in the account (quota ${quota()})`, {
                field: "resourceArn",
              });
            }
            if (outcome?.inserted !== true) {
              throw new IamError(
                "AccessDenied",
                `the resource policy of ${JSON.stringify(resourceArn)} belongs to another account`,
                { field: "resourceArn" },
              );
            }
          }
          const state = await resourcePolicyState(q, resourceArn);
          if (state.payload === null) throw noSuchPolicy(resourceArn);
          return { value: state.payload, events: [state] };
        },
      ),

    getResourcePolicy: (accountId, resourceArn) =>
      read(ctx, "GetResourcePolicy", async (q) => {
        const r = await q.query<ResourcePolicyRow>(
          "SELECT * FROM resource_policies WHERE resource_arn = $1 AND account_id = $2",
          [resourceArn, accountId],
        );
        const row = r.rows[0];
        if (row === undefined) throw noSuchPolicy(resourceArn);
        return toResourcePolicy(row);
      }),

    deleteResourcePolicy: (accountId, resourceArn, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteResourcePolicy", request: { resourceArn }, ...tokenSpec(token) },
        async (q) => {
          if ((await ownRow(q, accountId, resourceArn)) === undefined) throw noSuchPolicy(resourceArn);
          await q.query("DELETE FROM resource_policies WHERE resource_arn = $1", [resourceArn]);
          return { value: null, events: [await resourcePolicyState(q, resourceArn)] };
        },
      ),

    listResourcePolicies: (accountId, page) =>
      read(ctx, "ListResourcePolicies", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        const prefix = page.resourceArnPrefix ?? "";
        const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        const r = await q.query<ResourcePolicyRow>(
          `SELECT * FROM resource_policies WHERE account_id = $1
             AND ($2::text IS NULL OR resource_arn > $2 COLLATE "C") AND resource_arn LIKE $3
           ORDER BY resource_arn COLLATE "C" LIMIT $4`,
          [accountId, p.after, like, p.limit + 1],
        );
        return toPage(r.rows.map(toResourcePolicy), p.limit, (x) => x.resourceArn);
      }),
  };
}
