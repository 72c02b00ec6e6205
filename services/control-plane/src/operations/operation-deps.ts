import { iamArn } from "@gatehouse/core";
import type { IamStore } from "@gatehouse/store-postgres";
import type { Logger } from "pino";
import type { Authenticator } from "../authenticator.ts";
import type { Authorizer } from "../authorizer.ts";
import type { OidcFetchOptions } from "../oidc-keys.ts";
import { checkIamArn, createTargets, type Targets } from "../targets.ts";

/** ARNs of this endpoint's partition: built for new entities, or checked when a request names one. */
export interface RequestArns {
  readonly partition: string;
  /** The ARN an entity of `type` with this path and name gets (`name` "" gives a path prefix's ARN). */
  of(accountId: string, type: string, path: string, name: string): string;
  /** The account root's ARN. */
  root(accountId: string): string;
  /** A managed policy ARN of this partition with an empty region (not checked for existence). */
  policy(arn: string, field?: string): string;
  /** An OIDC provider ARN of this partition with an empty region (not checked for existence). */
  oidcProvider(arn: string, field?: string): string;
  /** A virtual MFA device's serial number (its ARN) of this partition. */
  mfa(arn: string, field?: string): string;
}

/** What the operation families share, made once per service (never per call). */
export interface OperationDeps {
  readonly store: IamStore;
  /** Its key cache is dropped when a key is deactivated or deleted. */
  readonly authenticator: Authenticator;
  /** For its guardrail cache and the grants of account settings (ChangePassword, ExportAccount). */
  readonly authorizer: Authorizer;
  /** The canonical ARNs and condition keys of the entities a request names. */
  readonly targets: Targets;
  readonly arns: RequestArns;
  /** How CreateOpenIDConnectProvider reads an issuer's keys when given none. */
  readonly oidcFetch: OidcFetchOptions;
  /** For what an operation does besides its answer (an issuer's keys that could not be read). */
  readonly logger: Logger;
}

/** Options of {@link createOperationDeps}. */
export interface OperationDepsOptions {
  readonly store: IamStore;
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly partition: string;
  readonly oidcFetch: OidcFetchOptions;
  readonly logger: Logger;
}

/** Builds the {@link OperationDeps} of a service. */
export function createOperationDeps(options: OperationDepsOptions): OperationDeps {
  const { store, authenticator, authorizer, partition, oidcFetch, logger } = options;
  const arns: RequestArns = {
    partition,
    of: (accountId, type, path, name) => iamArn(accountId, type, path, name, partition),
    root: (accountId) => `arn:${partition}:iam::${accountId}:root`,
    policy: (arn, field = "policyArn") => checkIamArn(arn, "policy", partition, field),
    oidcProvider: (arn, field = "openIdConnectProviderArn") => checkIamArn(arn, "oidc-provider", partition, field),
    mfa: (arn, field = "serialNumber") => checkIamArn(arn, "mfa", partition, field),
  };
  return Object.freeze({
    store,
    authenticator,
    authorizer,
    targets: createTargets(store, partition),
    arns,
    oidcFetch,
    logger,
  });
}
