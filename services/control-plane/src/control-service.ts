import type { IamStore } from "@gatehouse/store-postgres";
import { SIGNATURE_FAILURES, TELEMETRY_DISABLED, type Telemetry } from "@gatehouse/telemetry";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Authenticator } from "./authenticator.ts";
import type { Authorizer } from "./authorizer.ts";
import { unary } from "./grpc-handler.ts";
import type { OidcFetchOptions } from "./oidc-keys.ts";
import { accessKeyOperations } from "./operations/access-keys.ts";
import { accountOperations } from "./operations/accounts.ts";
import { attachmentOperations } from "./operations/attachments.ts";
import { auditOperations } from "./operations/audit.ts";
import { boundaryOperations } from "./operations/boundaries.ts";
import { createCallPipeline, type RoutedOperation } from "./operations/call-layers.ts";
import { credentialReportOperations } from "./operations/credential-reports.ts";
import { exportOperations } from "./operations/export.ts";
import { groupOperations } from "./operations/groups.ts";
import { guardrailOperations } from "./operations/guardrails.ts";
import { inlinePolicyOperations } from "./operations/inline-policies.ts";
import { instanceProfileOperations } from "./operations/instance-profiles.ts";
import { loginProfileOperations } from "./operations/login-profiles.ts";
import { mfaOperations } from "./operations/mfa.ts";
import { oidcProviderOperations } from "./operations/oidc-providers.ts";
import type { OperationTable } from "./operations/operation.ts";
import { createOperationDeps, type OperationDeps } from "./operations/operation-deps.ts";
import { policyOperations } from "./operations/policies.ts";
import { resourcePolicyOperations } from "./operations/resource-policies.ts";
import { roleOperations } from "./operations/roles.ts";
import { stsKeyOperations } from "./operations/sts-keys.ts";
import { tagOperations } from "./operations/tags.ts";
import { userOperations } from "./operations/users.ts";

/** Options of {@link createControlService}. */
export interface ControlServiceOptions {
  store: IamStore;
  authenticator: Authenticator;
  authorizer: Authorizer;
  logger: Logger;
  partition: string;
  /** Server spans per call (child of the caller's `traceparent`) and signature-failure counts. Default off. */
  telemetry?: Telemetry;
  /** How CreateOpenIDConnectProvider reads an issuer's keys when given none. */
  oidcFetch: OidcFetchOptions;
}

/**
 * Every ControlService RPC and its operation, family by family (`src/operations/<family>.ts`).
 * `satisfies OperationTable` makes a missing RPC fail `tsc`; each family's own `satisfies`
 * catches a misspelled one.
 */
export function createOperationTable(deps: OperationDeps) {
  return {
    ...accountOperations(deps),
    ...guardrailOperations(deps),
    ...userOperations(deps),
    ...groupOperations(deps),
    ...roleOperations(deps),
    ...policyOperations(deps),
    ...attachmentOperations(deps),
    ...inlinePolicyOperations(deps),
    ...boundaryOperations(deps),
    ...accessKeyOperations(deps),
    ...loginProfileOperations(deps),
    ...mfaOperations(deps),
    ...instanceProfileOperations(deps),
    ...oidcProviderOperations(deps),
    ...resourcePolicyOperations(deps),
    ...tagOperations(deps),
    ...exportOperations(deps),
    ...stsKeyOperations(deps),
    ...auditOperations(deps),
    ...credentialReportOperations(deps),
  } satisfies OperationTable;
}

/**
 * The ControlService implementation: each call is authenticated (SigV4), admitted by its caller
 * rule (operator only, an account's principals, an IAM user, anyone), then handled by its
 * operation, which authorizes `iam:<Operation>` on the target's canonical ARN, validates with AWS's
 * rules, calls the store and maps to the wire. Every mutating response carries the account's new
 * revision. The table and the layers are built here once; a call allocates only its context.
 */
export function createControlService(options: ControlServiceOptions): UntypedServiceImplementation {
  const { store, authenticator, authorizer, logger, partition, oidcFetch } = options;
  const telemetry = options.telemetry ?? TELEMETRY_DISABLED;
  const log = logger.child({ component: "control-service" });
  const table: OperationTable = createOperationTable(
    createOperationDeps({ store, authenticator, authorizer, partition, oidcFetch, logger: log }),
  );
  const pipeline = createCallPipeline({ authenticator, authorizer, audit: store });
  const implementation: UntypedServiceImplementation = {};
  for (const [method, entry] of Object.entries(table)) {
    // The table is typed per RPC; the layers carry any operation, and the caller-rule layer is
    // what guarantees each handler the context of its rule.
    const operation = entry as unknown as RoutedOperation;
    implementation[method] = unary(
      operation.name,
      log,
      telemetry.enabled
        ? (request, info) =>
            telemetry
              .serverSpan(info.method, info.metadata, () => pipeline(request, { info, operation }))
              .catch((e: unknown) => {
                const name = (e as { awsName?: unknown }).awsName;
                if (typeof name === "string" && SIGNATURE_FAILURES.has(name)) {
                  telemetry.metrics.signatureFailures.add(1, { service: "control-plane", error: name });
                }
                throw e;
              })
        : (request, info) => pipeline(request, { info, operation }),
    );
  }
  return implementation;
}
