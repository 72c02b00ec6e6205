import { ControlServiceService } from "@gatehouse/proto";
import type { IamStore } from "@gatehouse/store-postgres";
import type { Logger } from "pino";
import { describe, expect, it } from "vitest";
import type { Authenticator } from "../authenticator.ts";
import type { Authorizer } from "../authorizer.ts";
import { createOperationTable } from "../control-service.ts";
import { accessKeyOperations } from "./access-keys.ts";
import { accountOperations } from "./accounts.ts";
import { attachmentOperations } from "./attachments.ts";
import { auditOperations } from "./audit.ts";
import { boundaryOperations } from "./boundaries.ts";
import { credentialReportOperations } from "./credential-reports.ts";
import { exportOperations } from "./export.ts";
import { groupOperations } from "./groups.ts";
import { guardrailOperations } from "./guardrails.ts";
import { inlinePolicyOperations } from "./inline-policies.ts";
import { instanceProfileOperations } from "./instance-profiles.ts";
import { loginProfileOperations } from "./login-profiles.ts";
import { mfaOperations } from "./mfa.ts";
import { oidcProviderOperations } from "./oidc-providers.ts";
import { createOperationDeps } from "./operation-deps.ts";
import { policyOperations } from "./policies.ts";
import { resourcePolicyOperations } from "./resource-policies.ts";
import { roleOperations } from "./roles.ts";
import { stsKeyOperations } from "./sts-keys.ts";
import { tagOperations } from "./tags.ts";
import { userOperations } from "./users.ts";

// Building the table only captures its dependencies; nothing here is called.
const deps = createOperationDeps({
  store: {} as IamStore,
  authenticator: {} as Authenticator,
  authorizer: {} as Authorizer,
  partition: "aws",
  oidcFetch: { timeoutMs: 1000, allowHttpLoopback: false },
  logger: {} as Logger,
});
const table = createOperationTable(deps);

describe("the operation table", () => {
  it("has one operation per ControlService RPC, named as the RPC", () => {
    const rpcs = Object.entries(ControlServiceService).map(([method, d]) => [method, d.path.split("/").pop()]);
    const operations = Object.entries(table).map(([method, op]) => [method, op.name]);
    expect(operations.sort()).toEqual(rpcs.sort());
  });

  it("gets each RPC from exactly one family (a spread would hide a duplicate)", () => {
    const families = [
      accountOperations,
      guardrailOperations,
      userOperations,
      groupOperations,
      roleOperations,
      policyOperations,
      attachmentOperations,
      inlinePolicyOperations,
      boundaryOperations,
      accessKeyOperations,
      loginProfileOperations,
      mfaOperations,
      instanceProfileOperations,
      oidcProviderOperations,
      resourcePolicyOperations,
      tagOperations,
      exportOperations,
      stsKeyOperations,
      auditOperations,
      credentialReportOperations,
    ];
    const methods = families.flatMap((family) => Object.keys(family(deps)));
    expect(methods.length).toBe(new Set(methods).size);
    expect(methods.length).toBe(Object.keys(ControlServiceService).length);
  });

  it("admits only account principals except where the operator or an IAM user is meant", () => {
    const rules = Object.entries(table)
      .filter(([, op]) => op.callers !== "account")
      .map(([method, op]) => `${method}:${op.callers}`);
    expect(rules.sort()).toEqual([
      "attachAccountGuardrail:operator",
      "changePassword:user",
      "createAccount:operator",
      "detachAccountGuardrail:operator",
      "exportAccount:any",
      "listAccountGuardrails:operator",
      "listAccounts:operator",
      "lookupEvents:any",
      "rotateStsKeys:operator",
    ]);
  });
});
