import { IamError } from "@gatehouse/core";
import { SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import type { AccountExport, ExportedEntity } from "../../records.ts";
import {
  accessKeyState,
  accountState,
  EntityKind,
  groupState,
  instanceProfileState,
  loginProfileState,
  mfaDeviceState,
  oidcProviderState,
  policyState,
  policyStates,
  roleState,
  userState,
} from "../../state.ts";
import { type OutboxEvent, type Queryable, readSnapshot, type StoreContext } from "../../tx.ts";
import { EPOCH_SQL } from "../outbox/outbox.ts";
import { assertExportable } from "../outbox/outbox-compaction.ts";
import { AWS_MANAGED_ACCOUNT } from "../policies/builtin-policies.ts";
import { REFERENCED_IN_ACCOUNT } from "../policies/policy-rows.ts";
import { resourcePolicyState } from "../resource-policies/resource-policy-store.ts";
import { stsKeySetState } from "../sts-keys/sts-key-store.ts";
import {
  type AuthorizationDetails,
  type AuthorizationDetailsInput,
  readAuthorizationDetails,
} from "./authorization-details.ts";

/** An account's full state, now or at a past revision. */
export interface ExportStore {
  /**
   * The account's full state at one revision, on one snapshot: the current revision, or a past
   * `atRevision` rebuilt from the outbox (InvalidInput when the account never had it, or when it is
   * below the account's outbox compaction horizon). Access keys' sealed secrets
   * (`secretCiphertext`) are left out unless `includeSealedSecrets` (for the operator only).
   */
  exportAccount(
    accountId: string,
    atRevision?: number,
    options?: { readonly includeSealedSecrets?: boolean },
  ): Promise<AccountExport>;
  /**
   * GetAccountAuthorizationDetails: one page of the account's users, groups, roles and managed
   * policies (the account's own, and the AWS managed ones it uses) with their relationships, from
   * the same state documents as the export, on one snapshot. InvalidInput for a bad marker or
   * maxItems.
   */
  getAccountAuthorizationDetails(accountId: string, input: AuthorizationDetailsInput): Promise<AuthorizationDetails>;
}

/** The {@link ExportStore} part of the store. */
export function createExportStore(ctx: StoreContext): ExportStore {
  const { partition } = ctx.options;

  /** An exported entity without sealed material: an access key's state loses `secretCiphertext`. */
  function unsealed(e: ExportedEntity): ExportedEntity {
    if (e.state === null || typeof e.state !== "object") return e;
    if (e.kind === EntityKind.accessKey) {
      const { secretCiphertext: _, ...rest } = e.state as Record<string, unknown>;
      return { ...e, state: rest };
    }
    if (e.kind === EntityKind.mfaDevice) {
      const { seedCiphertext: _, ...rest } = e.state as Record<string, unknown>;
      return { ...e, state: rest };
    }
    // The STS key set is nothing but sealed keys: without sealed material it travels keyless.
    if (e.kind === EntityKind.stsKeySet) return { ...e, state: { keys: [] } };
    return e;
  }

  function exportAll(accountId: string, atRevision: number | undefined): Promise<AccountExport> {
    return readSnapshot(ctx, "ExportAccount", async (q) => {
      const account = await q.query<{ revision: string; epoch: string }>(
        `SELECT revision, ${EPOCH_SQL} AS epoch FROM accounts WHERE account_id = $1`,
        [accountId],
      );
      const row = account.rows[0];
      if (row === undefined) {
        throw new IamError("NoSuchEntity", `account ${JSON.stringify(accountId)} does not exist`, {
          field: "accountId",
        });
      }
      const current = Number(row.revision);
      if (atRevision !== undefined && atRevision !== current) {
        if (!Number.isSafeInteger(atRevision) || atRevision < 1 || atRevision > current) {
          throw new IamError(
            "InvalidInput",
            `atRevision ${atRevision} is not a revision of account ${accountId} (1..${current})`,
            { field: "atRevision" },
          );
        }
        await assertExportable(q, accountId, atRevision);
        return {
          accountId,
          revision: atRevision,
          epoch: row.epoch,
          entities: await entitiesAtRevision(q, accountId, atRevision),
        };
      }
      const ids = async (sql: string) => (await q.query<{ id: string }>(sql, [accountId])).rows.map((r) => r.id);
      const events: OutboxEvent[] = [await accountState(q, accountId)];
      // Its own policies, and the AWS managed ones it references (which its stream carries).
      for (const id of await ids(
        `SELECT policy_id AS id FROM managed_policies WHERE account_id = $1
           UNION ALL SELECT p.policy_id FROM managed_policies p
             WHERE p.account_id = '${AWS_MANAGED_ACCOUNT}' AND ${REFERENCED_IN_ACCOUNT}
           ORDER BY id`,
      )) {
        events.push(await policyState(q, partition, id));
      }
      for (const id of await ids("SELECT group_id AS id FROM groups WHERE account_id = $1 ORDER BY group_id")) {
        events.push(await groupState(q, partition, id));
      }
      for (const id of await ids("SELECT user_id AS id FROM users WHERE account_id = $1 ORDER BY user_id")) {
        events.push(await userState(q, partition, id));
      }
      for (const id of await ids("SELECT role_id AS id FROM roles WHERE account_id = $1 ORDER BY role_id")) {
        events.push(await roleState(q, partition, id));
      }
      for (const id of await ids(
        "SELECT access_key_id AS id FROM access_keys WHERE account_id = $1 ORDER BY access_key_id",
      )) {
        events.push(await accessKeyState(q, partition, id));
      }
      for (const id of await ids("SELECT user_id AS id FROM login_profiles WHERE account_id = $1 ORDER BY user_id")) {
        events.push(await loginProfileState(q, id));
      }
      for (const id of await ids(
        "SELECT serial_number AS id FROM mfa_devices WHERE account_id = $1 ORDER BY serial_number",
      )) {
        events.push(await mfaDeviceState(q, id));
      }
      for (const id of await ids(
        "SELECT instance_profile_id AS id FROM instance_profiles WHERE account_id = $1 ORDER BY instance_profile_id",
      )) {
        events.push(await instanceProfileState(q, partition, id));
      }
      for (const id of await ids("SELECT arn AS id FROM oidc_providers WHERE account_id = $1 ORDER BY arn")) {
        events.push(await oidcProviderState(q, id));
      }
      for (const id of await ids(
        'SELECT resource_arn AS id FROM resource_policies WHERE account_id = $1 ORDER BY resource_arn COLLATE "C"',
      )) {
        events.push(await resourcePolicyState(q, id));
      }
      if (accountId === SYSTEM_ACCOUNT_ID) {
        events.push(await stsKeySetState(q));
        // Every AWS managed policy the system stream carries (seeding puts each on it), so a
        // region bootstrapped or healed from exports holds all of them, as one fed by the stream.
        const carried = await q.query<{ id: string }>(
          `SELECT policy_id AS id FROM managed_policies
           WHERE account_id = '${AWS_MANAGED_ACCOUNT}' AND system_carried_revision IS NOT NULL ORDER BY policy_id`,
        );
        events.push(
          ...(await policyStates(
            q,
            partition,
            carried.rows.map((x) => x.id),
          )),
        );
      }
      const entities: ExportedEntity[] = events.map((e) => ({ kind: e.kind, id: e.id, state: e.payload }));
      return { accountId, revision: Number(row.revision), epoch: row.epoch, entities };
    });
  }

  /**
   * An account's entities as they stood at a past revision, rebuilt from the outbox: every row
   * carries its entity's full state (or a tombstone), so the newest row per entity at or below the
   * revision is that entity's state then. Compaction keeps that newest row for every revision at or
   * above the account's horizon, which the caller checked.
   */
  async function entitiesAtRevision(q: Queryable, accountId: string, revision: number): Promise<ExportedEntity[]> {
    const r = await q.query<{ entity_kind: string; entity_id: string; payload: unknown }>(
      `SELECT * FROM (
         SELECT DISTINCT ON (entity_kind, entity_id) entity_kind, entity_id, payload
         FROM outbox WHERE account_id = $1 AND revision <= $2
         ORDER BY entity_kind, entity_id, revision DESC, id DESC) latest
       WHERE payload IS NOT NULL ORDER BY entity_kind, entity_id`,
      [accountId, revision],
    );
    return r.rows.map((x) => ({ kind: x.entity_kind, id: x.entity_id, state: x.payload }));
  }

  return {
    getAccountAuthorizationDetails: (accountId, input) =>
      readSnapshot(ctx, "GetAccountAuthorizationDetails", (q) =>
        readAuthorizationDetails(q, partition, accountId, input),
      ),
    exportAccount: async (accountId, atRevision, options) => {
      const exported = await exportAll(accountId, atRevision);
      return options?.includeSealedSecrets === true
        ? exported
        : { ...exported, entities: exported.entities.map(unsealed) };
    },
  };
}
