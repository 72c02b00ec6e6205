import { IamError } from "@gatehouse/core";
import { CHANGE_EVENT_SCHEMA_VERSION, changeEvent, encodeAccountSnapshot } from "@gatehouse/events";
import { toWire } from "../mappers.ts";
import { checkEntityFilter } from "../validation.ts";
import { forAccount, forAnyCaller, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { pageOf } from "./paging.ts";

/**
 * The account's state as a whole. ExportAccount: an account's state (now, or at a revision) as one snapshot of change events. The
 * operator may export any account, with sealed secrets when it asks; an account's principals
 * export their own, authorized as `iam:ExportAccount` on the account root.
 * GetAccountAuthorizationDetails: the same state documents in AWS's shape, a page at a time,
 * authorized as `iam:GetAccountAuthorizationDetails` on `*` (AWS's action has no resource type).
 */
export function exportOperations({ store, authorizer, arns }: OperationDeps) {
  return {
    exportAccount: forAnyCaller("ExportAccount", async (r, ctx) => {
      const { caller } = ctx;
      const accountId = r.accountId !== "" ? r.accountId : caller.kind === "operator" ? "" : caller.accountId;
      if (!/^\d{12}$/.test(accountId)) {
        throw new IamError("ValidationError", `accountId ${JSON.stringify(accountId)} must be 12 digits`, {
          field: "accountId",
        });
      }
      if (caller.kind !== "operator") {
        // Users and the root alike: the root within the account's guardrails, as everywhere.
        await authorizer.authorize(caller, {
          action: "iam:ExportAccount",
          resource: arns.root(accountId),
          accountId,
          context: ctx.sourceIpContext(),
        });
      }
      // Sealed secrets leave only to the operator, and only when asked for (backups, migrations).
      if (r.includeSealedSecrets && caller.kind !== "operator") {
        throw new IamError(
          "AccessDenied",
          `${caller.arn} cannot export sealed secrets: includeSealedSecrets is for the operator credential only`,
          { field: "includeSealedSecrets" },
        );
      }
      const exported = await store.exportAccount(accountId, r.atRevision === 0 ? undefined : r.atRevision, {
        includeSealedSecrets: r.includeSealedSecrets && caller.kind === "operator",
      });
      const snapshot = encodeAccountSnapshot({
        schemaVersion: CHANGE_EVENT_SCHEMA_VERSION,
        accountId,
        revision: exported.revision,
        entities: exported.entities.map((e) =>
          changeEvent({ accountId, revision: exported.revision, kind: e.kind, id: e.id, state: e.state }),
        ),
      });
      return {
        revision: { accountId, revision: exported.revision, epoch: exported.epoch },
        snapshot,
        epoch: exported.epoch,
      };
    }),
    getAccountAuthorizationDetails: forAccount("GetAccountAuthorizationDetails", async (r, ctx) => {
      const filter = checkEntityFilter(r.filter);
      await ctx.authorize("GetAccountAuthorizationDetails", () => "*");
      const d = await store.getAccountAuthorizationDetails(ctx.accountId, { filter, ...pageOf(r.page) });
      return {
        userDetailList: d.users.map(toWire.userDetail),
        groupDetailList: d.groups.map(toWire.groupDetail),
        roleDetailList: d.roles.map(toWire.roleDetail),
        policies: d.policies.map(toWire.managedPolicyDetail),
        page: { isTruncated: d.isTruncated, marker: d.marker },
      };
    }),
  } satisfies OperationFamily;
}
