import { sourceIdentityContext, webIdentityContext } from "@gatehouse/auth";
import { type Clock, IamError, systemClock, tryParseArn } from "@gatehouse/core";
import { type ContextValue, compilePolicySet, type PolicyInput } from "@gatehouse/policy";
import type { PrincipalPolicies } from "@gatehouse/store-postgres";
import type { Logger } from "pino";
import type { Caller } from "./caller.ts";

/** One authorization question about the control plane's own API. */
export interface ApiRequest {
  /** `iam:CreateUser`, … */
  readonly action: string;
  /** The target ARN: the stored (canonical) ARN of the entity acted on, never one as sent. */
  readonly resource: string;
  /** The account owning the target. */
  readonly accountId: string;
  /**
   * The operation's condition keys (`iam:PolicyARN`, `aws:RequestTag/…`, `aws:ResourceTag/…`,
   * `aws:SourceIp`, …), from canonical values. The principal's own keys (`aws:username`,
   * `aws:PrincipalTag/…`, …) are added by the authorizer and cannot be overridden here.
   */
  readonly context?: Readonly<Record<string, ContextValue>>;
  /**
   * The account's settings grant this call by themselves (ChangePassword with
   * AllowUsersToChangePassword): no identity policy is needed, but the guardrails still bound it.
   */
  readonly allowedByAccountSetting?: boolean;
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

/**
 * The part of the store the authorizer reads: the port it depends on, so that it can be tested
 * with a small in-memory implementation and run on the Postgres store.
 */
export interface AuthorizerStore {
  listAccountGuardrails(accountId: string): Promise<readonly { readonly document: string }[]>;
  /** The user's identity policies, permissions boundary and tags. */
  getUserPolicies(accountId: string, userId: string): Promise<PrincipalPolicies>;
  /** A role's (for its sessions); undefined when the role is gone. */
  getRolePolicies(accountId: string, roleId: string): Promise<PrincipalPolicies | undefined>;
  /** Managed session policies' default documents by ARN. */
  getPolicyDocuments(policyArns: readonly string[]): Promise<Map<string, string>>;
}

/** How long an account's guardrails are cached; other control-plane instances see changes this late. */
const GUARDRAIL_CACHE_MS = 1000;
const EMPTY_POLICY = '{"Version":"2012-10-17","Statement":[]}';
const ALLOW_ALL = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
});

function denied(caller: { arn: string }, request: ApiRequest): IamError {
  return new IamError(
    "AccessDenied",
    `${caller.arn} is not authorized to perform ${request.action} on resource ${request.resource}`,
  );
}

/**
 * IAM authorization of the API, as AWS does it: the operator may only do operator things (checked
 * once for every call by the caller-kind layer, `operations/call-layers.ts`), an account's root may do anything in its own account, and a user is evaluated
 * by the policy engine with its own and its groups' policies and its permissions boundary, with
 * `aws:username`, `aws:userid`, `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalTag/…`
 * and `aws:CurrentTime` in the request context, next to the operation's own keys. The account's
 * guardrails (SCP-like, attached by the operator) bound every caller of the account, its root
 * included, through the engine's `guardrails` input.
 */
export function createAuthorizer(options: {
  store: AuthorizerStore;
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
      // Stryker disable next-line StringLiteral: equivalent, the operator has no account, so the next check denies it too
      if (caller.kind === "operator") throw denied(caller, request);
      if (caller.accountId !== request.accountId) throw denied(caller, request);
      const guardrails = await guardrailsOf(caller.accountId);
      const unrestricted = caller.kind === "root" || request.allowedByAccountSetting === true;
      // The account root may do anything in its account, within the account's guardrails.
      if (unrestricted && guardrails.length === 0) return;
      const session = caller.session;
      // AWS: GetSessionToken's credentials call IAM only with MFA in the session (console sign-in
      // sessions are not GetSessionToken's: IAM policies alone decide, as in AWS's console).
      if (
        session !== undefined &&
        caller.kind !== "role-session" &&
        session.source !== "console" &&
        session.mfaAuthTimeMs === undefined
      ) {
        throw new IamError(
          "AccessDenied",
          `${caller.arn} is not authorized to perform ${request.action}: credentials from GetSessionToken need MFA to call IAM`,
        );
      }
      let policies: PrincipalPolicies | undefined = NO_POLICIES;
      if (caller.kind === "user") policies = await store.getUserPolicies(caller.accountId, caller.userId);
      else if (caller.kind === "role-session") policies = await store.getRolePolicies(caller.accountId, caller.roleId);
      if (policies === undefined) throw denied(caller, request);
      const identityPolicies = unrestricted ? [ALLOW_ALL] : policies.identityPolicies.map((p) => p.document);
      if (identityPolicies.length === 0) throw denied(caller, request);
      const boundary = unrestricted ? null : policies.permissionsBoundary;
      const sessionPolicies: string[] = [];
      if (session?.sessionPolicy !== undefined) sessionPolicies.push(session.sessionPolicy);
      if (session !== undefined && session.policyArns.length > 0) {
        // Only the session's account's policies or AWS managed ones, as the regions read them.
        const documents = await store.getPolicyDocuments(
          session.policyArns.filter((arn) => {
            const owner = tryParseArn(arn)?.accountId;
            return owner === session.accountId || owner === "aws";
          }),
        );
        // A managed session policy that is gone allows nothing (the session keeps its narrowing).
        for (const arn of session.policyArns) sessionPolicies.push(documents.get(arn) ?? EMPTY_POLICY);
      }
      let decision: string;
      try {
        const set = compilePolicySet({
          identityPolicies: identityPolicies as PolicyInput[],
          ...(boundary === null ? {} : { permissionBoundary: boundary.document as PolicyInput }),
          ...(sessionPolicies.length === 0 ? {} : { sessionPolicies: sessionPolicies as PolicyInput[] }),
          ...(guardrails.length === 0 ? {} : { guardrails: guardrails as PolicyInput[] }),
        });
        const now = new Date(clock.now());
        const tags = Object.fromEntries(policies.principalTags.map((t) => [`aws:PrincipalTag/${t.key}`, t.value]));
        const principal: Record<string, ContextValue> =
          caller.kind === "user"
            ? { ...tags, "aws:username": caller.userName, "aws:userid": caller.userId, "aws:PrincipalType": "User" }
            : caller.kind === "role-session"
              ? {
                  ...tags,
                  "aws:userid": `${caller.roleId}:${caller.session.principal.kind === "assumed-role" ? caller.session.principal.sessionName : ""}`,
                  "aws:PrincipalType": "AssumedRole",
                }
              : { "aws:userid": caller.accountId, "aws:PrincipalType": "Account" };
        if (session !== undefined) {
          // Session tags over the principal's own; the session's times and MFA, never the caller's.
          for (const t of session.tags) principal[`aws:PrincipalTag/${t.key}`] = t.value;
          principal["aws:TokenIssueTime"] = new Date(session.issuedAtMs).toISOString();
          principal["aws:MultiFactorAuthPresent"] = session.mfaAuthTimeMs !== undefined;
          if (session.mfaAuthTimeMs !== undefined) {
            principal["aws:MultiFactorAuthAge"] = String(
              Math.max(0, Math.floor((now.getTime() - session.mfaAuthTimeMs) / 1000)),
            );
          }
          // A web identity session: aws:FederatedProvider and the token's claims, as in the regions.
          Object.assign(principal, webIdentityContext(session));
          // Its source identity (aws:SourceIdentity), as in the regions: never the caller's.
          Object.assign(principal, sourceIdentityContext(session));
        }
        decision = set.evaluate(
          {
            arn: caller.arn,
            accountId: caller.accountId,
            ...(caller.kind === "role-session" ? { roleArn: caller.roleArn } : {}),
          },
          {
            action: request.action,
            resource: request.resource,
            resourceAccount: request.accountId,
            context: {
              // The operation's keys first: nothing it carries can pose as the principal's.
              ...withoutPrincipalKeys(request.context),
              ...principal,
              "aws:PrincipalArn": caller.kind === "role-session" ? caller.roleArn : caller.arn,
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

// Stryker disable next-line ObjectLiteral,ArrayDeclaration: equivalent, only the root gets these, and being unrestricted it reads none of them
const NO_POLICIES: PrincipalPolicies = { identityPolicies: [], permissionsBoundary: null, principalTags: [] };

/** Keys only the authorizer sets: the principal's identity and tags, and the request's time. */
const PRINCIPAL_KEY =
  /^aws:(principal|user(name|id)$|currenttime$|epochtime$|requestedregion$|tokenissuetime$|federatedprovider$|sourceidentity$|multifactorauth(present|age)$)/i;

function withoutPrincipalKeys(
  context: Readonly<Record<string, ContextValue>> | undefined,
): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = {};
  for (const [k, v] of Object.entries(context ?? {})) if (!PRINCIPAL_KEY.test(k)) out[k] = v;
  return out;
}
