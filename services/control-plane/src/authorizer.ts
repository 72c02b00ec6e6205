import { type Clock, IamError, systemClock } from "@gatehouse/core";
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
  /** Whether the account has guardrails (cached for a second): root calls need evaluating only then. */
  hasGuardrails(accountId: string): Promise<boolean>;
  /** Drops an account's cached guardrails (after this process attached or detached one). */
  forgetGuardrails(accountId: string): void;
}

/** How long an account's guardrails are cached; other control-plane instances see changes this late. */
const GUARDRAIL_CACHE_MS = 1000;
const ALLOW_ALL = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
});

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
 * in the request context. The account's guardrails (SCP-like, attached by the operator) bound
 * every caller of the account, its root included, through the engine's `guardrails` input.
 */
export function createAuthorizer(options: {
  store: IamStore;
  logger: Logger;
  region: string;
  /** Time for `aws:CurrentTime`/`aws:EpochTime` and the guardrail cache; defaults to the wall clock. */
  clock?: Clock;
}): Authorizer {
  const { store, region } = options;
  const clock = options.clock ?? systemClock;
  const log = options.logger.child({ component: "authorizer" });
  const guardrailCache = new Map<string, { atMs: number; documents: string[] }>();
  const guardrailsOf = async (accountId: string): Promise<string[]> => {
    const cached = guardrailCache.get(accountId);
    if (cached !== undefined && clock.now() - cached.atMs < GUARDRAIL_CACHE_MS) return cached.documents;
    const documents = (await store.listAccountGuardrails(accountId)).map((g) => g.document);
    guardrailCache.set(accountId, { atMs: clock.now(), documents });
    return documents;
  };
  return {
    hasGuardrails: async (accountId) => (await guardrailsOf(accountId)).length > 0,
    forgetGuardrails: (accountId) => {
      guardrailCache.delete(accountId);
    },
    async authorize(caller, request) {
      if (caller.kind === "operator") throw denied(caller, request);
      if (caller.accountId !== request.accountId) throw denied(caller, request);
      const guardrails = await guardrailsOf(caller.accountId);
      // The account root may do anything in its account, within the account's guardrails.
      if (caller.kind === "root" && guardrails.length === 0) return;
      const policies =
        caller.kind === "root"
          ? { identityPolicies: [{ id: "root", document: ALLOW_ALL }], permissionsBoundary: null }
          : await store.getUserPolicies(caller.accountId, caller.userId);
      if (policies.identityPolicies.length === 0) throw denied(caller, request);
      let decision: string;
      try {
        const set = compilePolicySet({
          identityPolicies: policies.identityPolicies.map((p) => p.document as PolicyInput),
          ...(policies.permissionsBoundary === null
            ? {}
            : { permissionBoundary: policies.permissionsBoundary.document as PolicyInput }),
          ...(guardrails.length === 0 ? {} : { guardrails: guardrails as PolicyInput[] }),
        });
        const now = new Date(clock.now());
        const principal: Record<string, string> =
          caller.kind === "user"
            ? { "aws:username": caller.userName, "aws:userid": caller.userId, "aws:PrincipalType": "User" }
            : { "aws:userid": caller.accountId, "aws:PrincipalType": "Account" };
        decision = set.evaluate(
          { arn: caller.arn, accountId: caller.accountId },
          {
            action: request.action,
            resource: request.resource,
            resourceAccount: request.accountId,
            context: {
              ...principal,
              "aws:PrincipalArn": caller.arn,
              "aws:PrincipalAccount": caller.accountId,
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
