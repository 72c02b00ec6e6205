import { IamError } from "@gatehouse/core";
import { compilePolicySet, type PolicyInput } from "@gatehouse/policy";
import type { IamStore } from "@gatehouse/store-postgres";
import type { Logger } from "pino";
import type { Caller } from "./caller.ts";

/** One authorization question about the control plane's own API. */
export interface ApiRequest {
  /** `iam:CreateUser`, … */
  readonly action: string;
  /** The target ARN. */
  readonly resource: string;
  /** The account owning the target. */
  readonly accountId: string;
}

/** Decides whether a caller may perform an API operation. */
export interface Authorizer {
  /** Resolves when allowed; throws `AccessDenied` otherwise. */
  authorize(caller: Caller, request: ApiRequest): Promise<void>;
}

function denied(caller: Caller, request: ApiRequest): IamError {
  return new IamError(
    "AccessDenied",
    `${caller.arn} is not authorized to perform ${request.action} on resource ${request.resource}`,
  );
}

/**
 * IAM authorization of the API, as AWS does it: the operator may only do operator things (checked
 * by the handlers), an account's root may do anything in its own account, and a user is evaluated
 * by the policy engine with its own and its groups' policies and its permissions boundary, with
 * `aws:username`, `aws:userid`, `aws:PrincipalArn`, `aws:PrincipalAccount` and `aws:CurrentTime`
 * in the request context.
 */
export function createAuthorizer(options: { store: IamStore; logger: Logger; region: string }): Authorizer {
  const { store, region } = options;
  const log = options.logger.child({ component: "authorizer" });
  return {
    async authorize(caller, request) {
      if (caller.kind === "operator") throw denied(caller, request);
      if (caller.accountId !== request.accountId) throw denied(caller, request);
      if (caller.kind === "root") return;
      const policies = await store.getUserPolicies(caller.accountId, caller.userId);
      if (policies.identityPolicies.length === 0) throw denied(caller, request);
      let decision: string;
      try {
        const set = compilePolicySet({
          identityPolicies: policies.identityPolicies.map((p) => p.document as PolicyInput),
          ...(policies.permissionsBoundary === null
            ? {}
            : { permissionBoundary: policies.permissionsBoundary.document as PolicyInput }),
        });
        const now = new Date();
        decision = set.evaluate(
          { arn: caller.arn, accountId: caller.accountId },
          {
            action: request.action,
            resource: request.resource,
            resourceAccount: request.accountId,
            context: {
              "aws:username": caller.userName,
              "aws:userid": caller.userId,
              "aws:PrincipalArn": caller.arn,
              "aws:PrincipalAccount": caller.accountId,
              "aws:PrincipalType": "User",
              "aws:CurrentTime": now.toISOString(),
              "aws:EpochTime": String(Math.floor(now.getTime() / 1000)),
              "aws:RequestedRegion": region,
            },
          },
        ).decision;
      } catch (e) {
        // Stored documents were validated on write; a failure here is a bug, and fails closed.
        log.error({ err: e, user: caller.arn }, "policy evaluation failed; denying");
        throw denied(caller, request);
      }
      if (decision !== "Allow") throw denied(caller, request);
    },
  };
}
