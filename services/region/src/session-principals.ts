import type { SessionClaims } from "@gatehouse/auth";
import { IamError, tryParseArn } from "@gatehouse/core";
import { SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import type { RegionView } from "@gatehouse/view-redis";
import { type CompiledPrincipal, compilePrincipal } from "./compile-principal.ts";
import type { StsKeyring } from "./sts-keyring.ts";

/*
 * STS sessions as a decider's principals: a session token opened and checked against what it
 * stands on, and the principal it narrows compiled with its session policies.
 */

const EMPTY_POLICY = '{"Version":"2012-10-17","Statement":[]}';
/** The owner in AWS managed policies' ARNs (`arn:aws:iam::aws:policy/…`). */
const AWS_MANAGED_OWNER = "aws";

/** What {@link createSessionPrincipals} reads. */
export interface SessionPrincipalsOptions {
  readonly view: RegionView;
  /** Per account, the highest applied revision whose notification was processed. */
  readonly notified: ReadonlyMap<string, number>;
  /** The decider's principal at `atLeast` or later (L1, else one shared load). */
  readonly principalAt: (accountId: string, arn: string, atLeast: number) => Promise<CompiledPrincipal>;
  /** Opens session tokens (absent: the region serves no sessions). */
  readonly keyring?: StsKeyring;
}

/** Sessions as principals: see the decider's `openSession`. */
export interface SessionPrincipals {
  /**
   * A session's claims if it is still live here: its token opens and is unexpired, and what it
   * stands on still exists (the role, or the user and the access key that made it). Throws
   * `InvalidClientTokenId` / `ExpiredToken` otherwise.
   */
  openSession(accessKeyId: string, sessionToken: string): Promise<SessionClaims>;
  /** `base` narrowed by the session's policies (itself when it has none), compiled once per revision. */
  withSessionPolicies(base: CompiledPrincipal, claims: SessionClaims): Promise<CompiledPrincipal>;
}

/** Opens and compiles sessions for one decider. */
export function createSessionPrincipals(options: SessionPrincipalsOptions): SessionPrincipals {
  const { view, notified, principalAt } = options;
  const invalidToken = (message: string) =>
    new IamError("InvalidClientTokenId", `the security token included in the request is invalid: ${message}`, {
      field: "sessionToken",
    });

  const openSession = async (accessKeyId: string, sessionToken: string): Promise<SessionClaims> => {
    if (options.keyring === undefined) throw invalidToken("this region verifies no session tokens");
    if (sessionToken === "") throw invalidToken("an ASIA access key id needs its session token");
    const claims = options.keyring.codec().open(sessionToken);
    if (claims.accessKeyId !== accessKeyId) throw invalidToken("it belongs to another access key id");
    const p = claims.principal;
    if (p.kind === "assumed-role") {
      const role = await principalAt(claims.accountId, p.roleArn, 0).catch(() => undefined);
      if (role === undefined || role.uniqueId !== p.roleId) throw invalidToken("the role it was issued for is gone");
    } else if (p.kind === "user") {
      const user = await principalAt(claims.accountId, p.userArn, 0).catch(() => undefined);
      if (user === undefined || user.uniqueId !== p.userId) throw invalidToken("the user it was issued to is gone");
      if (claims.sourceAccessKeyId !== undefined) {
        const key = await view.readAccessKey(claims.sourceAccessKeyId);
        if (key === undefined || key.status !== "Active") {
          throw invalidToken("the access key it was issued with is no longer active");
        }
      }
    }
    return claims;
  };

  /** Session policies compiled over the principal they narrow, per compiled principal (so per revision). */
  const sessionCompiled = new WeakMap<CompiledPrincipal, Map<string, CompiledPrincipal>>();
  const withSessionPolicies = async (base: CompiledPrincipal, claims: SessionClaims): Promise<CompiledPrincipal> => {
    if (claims.sessionPolicy === undefined && claims.policyArns.length === 0) return base;
    // A managed session policy counts at its current default version, as in AWS: the compiled
    // form is keyed by the applied revisions (as notified) of the accounts holding its policies,
    // so a new default version, or a deleted policy, applies from the next decision after its
    // revision is notified. Taken before the documents are read, which are then at least as new.
    let stamp = "";
    if (claims.policyArns.length > 0) {
      const aws = claims.policyArns.some((a) => tryParseArn(a)?.accountId === AWS_MANAGED_OWNER);
      stamp = `${notified.get(claims.accountId) ?? 0}/${aws ? (notified.get(SYSTEM_ACCOUNT_ID) ?? 0) : ""}`;
    }
    const key = JSON.stringify([claims.sessionPolicy ?? "", claims.policyArns, stamp]);
    let byKey = sessionCompiled.get(base);
    const hit = byKey?.get(key);
    if (hit !== undefined) return hit;
    const documents: { document: string; id: string }[] = [];
    if (claims.sessionPolicy !== undefined) documents.push({ document: claims.sessionPolicy, id: "sessionPolicy" });
    for (const arn of claims.policyArns) {
      documents.push({ document: (await managedPolicyDocument(arn, claims.accountId)) ?? EMPTY_POLICY, id: arn });
    }
    const compiled = compilePrincipal(await view.readPrincipal(base.accountId, base.arn), {
      identityPolicies: [],
      sessionPolicies: documents,
    });
    if (compiled === undefined) throw invalidToken("the principal it was issued for is gone");
    const narrowed = { ...compiled, revision: base.revision };
    if (byKey === undefined) {
      byKey = new Map();
      sessionCompiled.set(base, byKey);
    }
    if (byKey.size >= 256) byKey.delete(byKey.keys().next().value as string);
    byKey.set(key, narrowed);
    return narrowed;
  };

  /**
   * A managed session policy's default document, or undefined (it then allows nothing). AWS takes
   * managed session policies from the role's account or AWS's own: a customer managed one is read
   * from `sessionAccount` only (another account's policy is never read for it); an AWS managed one
   * (`arn:…:iam::aws:policy/…`) from the system account's stream, which carries all of them, else
   * from the account's own stream (which carries those it uses, e.g. while the system stream has
   * not brought it yet).
   */
  const managedPolicyDocument = async (policyArn: string, sessionAccount: string): Promise<string | undefined> => {
    const arn = tryParseArn(policyArn);
    if (arn === undefined) return undefined;
    let p: Awaited<ReturnType<RegionView["readByArn"]>>;
    if (arn.accountId === AWS_MANAGED_OWNER) {
      p = (await view.readByArn(SYSTEM_ACCOUNT_ID, policyArn)) ?? (await view.readByArn(sessionAccount, policyArn));
    } else if (arn.accountId === sessionAccount) {
      p = await view.readByArn(sessionAccount, policyArn);
    }
    if (p?.kind !== "policy" || p.state === null) return undefined;
    const state = p.state;
    return state.versions.find((v) => v.versionId === state.defaultVersionId)?.document;
  };

  return { openSession, withSessionPolicies };
}
