import { timingSafeEqual } from "node:crypto";
import type { SessionClaims } from "@gatehouse/auth";
import { claimedAccessKeyId, createFailureLimiter, verifyGrpcCall } from "@gatehouse/auth";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import type { AccessKeyCredential, IamStore } from "@gatehouse/store-postgres";
import type { Caller } from "./caller.ts";
import type { LastUsedRecorder } from "./last-used-recorder.ts";
import type { SessionVerifier } from "./session-verifier.ts";

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  store: Pick<IamStore, "getAccessKeyCredential">;
  /** The operator credential from config: may create accounts, belongs to no account. */
  operator: { accessKeyId: string; secretAccessKey: string };
  region: string;
  clock?: Clock;
  /**
   * Opens the session tokens of calls signed with temporary credentials (`ASIA…` with
   * `x-amz-security-token`); none: such calls fail with InvalidClientTokenId.
   */
  sessions?: SessionVerifier;
  /**
   * Where accepted calls signed with an account's access key are noted as the key's last use
   * (in memory; written in batches, off the call's path). None: last use is not tracked.
   */
  lastUsed?: Pick<LastUsedRecorder, "record">;
  /**
   * How long an active key's unsealed secret is reused without asking Postgres. Default 2000 ms;
   * 0 disables. Keys changed through this process are forgotten at once; changes made by another
   * control-plane replica apply within this time (IAM is eventually consistent the same way).
   */
  cacheTtlMs?: number;
  /**
   * How long an access key id the store does not know is answered as unknown without asking
   * Postgres again, so a flood of calls with a bad key id costs one query. Default 5000 ms; 0
   * disables. A key created since is found at most this late by a replica that saw it missing.
   */
  unknownKeyCacheMs?: number;
  /**
   * Failed authentications one access key id may cause: a token bucket per key id refilled at
   * `failuresPerSecond` up to `failureBurst`. While a key id's bucket is empty its calls are
   * refused with Throttling before any lookup or HMAC; other key ids are unaffected. Defaults 1
   * and 10.
   */
  failuresPerSecond?: number;
  failureBurst?: number;
}

/** Turns a signed call into a {@link Caller}, or throws an UNAUTHENTICATED IamError. */
export interface Authenticator {
  authenticate(
    call: { method: string; authority: string; body: Uint8Array },
    metadata: Readonly<Record<string, string | undefined>>,
  ): Promise<Caller>;
  /** Drops a key from the cache (after it is deactivated or deleted). */
  forget(accessKeyId: string): void;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * SigV4 authentication against the operator credential and the store's access keys (whose
 * secrets the store unseals only for this). Notes each accepted key's use with `lastUsed`.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { store, operator, region } = options;
  const clock = options.clock ?? systemClock;
  const unknownTtl = options.unknownKeyCacheMs ?? 5000;
  const unknown = new Map<string, number>();
  const failures = createFailureLimiter(options.failuresPerSecond ?? 1, options.failureBurst ?? 10);
  const lastUsed = options.lastUsed;
  const ttl = options.cacheTtlMs ?? 2000;
  const cache = new Map<string, { credential: AccessKeyCredential; until: number }>();
  const credentialOf = async (id: string): Promise<AccessKeyCredential | undefined> => {
    const now = clock.now();
    const hit = cache.get(id);
    if (hit !== undefined && hit.until > now) return hit.credential;
    const missing = unknown.get(id);
    if (missing !== undefined) {
      if (missing > now) return undefined;
      unknown.delete(id);
    }
    const credential = await store.getAccessKeyCredential(id);
    if (credential === undefined && unknownTtl > 0) {
      // Bounded: ids are attacker-chosen. Dropping the oldest only costs a query again.
      if (unknown.size >= MAX_UNKNOWN) unknown.delete(unknown.keys().next().value as string);
      unknown.set(id, now + unknownTtl);
    }
    // Only active keys are cached, so a new or re-activated key is never refused from the cache.
    if (credential !== undefined && credential.status === "Active" && ttl > 0) {
      if (cache.size > 10_000) cache.clear();
      cache.set(id, { credential, until: now + ttl });
    } else cache.delete(id);
    return credential;
  };
  return {
    forget(accessKeyId) {
      cache.delete(accessKeyId);
      unknown.delete(accessKeyId);
    },
    async authenticate(call, metadata) {
      const claimed = claimedAccessKeyId(metadata.authorization);
      if (claimed !== undefined && failures.exhausted(claimed, clock.now())) {
        throw new IamError("Throttling", `too many failed authentications with access key id ${claimed}; retry later`, {
          field: "authorization",
          retriable: true,
        });
      }
      try {
        return await verified(call, metadata);
      } catch (e) {
        if (claimed !== undefined && IamError.is(e) && e.code === "UNAUTHENTICATED")
          failures.fail(claimed, clock.now());
        throw e;
      }
    },
  };

  async function verified(
    call: { method: string; authority: string; body: Uint8Array },
    metadata: Readonly<Record<string, string | undefined>>,
  ): Promise<Caller> {
    let found: AccessKeyCredential | undefined;
    let session: SessionClaims | undefined;
    const { accessKeyId } = await verifyGrpcCall(call, metadata, {
      region,
      clock,
      acceptSessionTokens: options.sessions !== undefined,
      lookup: async (id, sessionToken) => {
        if (sessionToken !== undefined || id.startsWith("ASIA")) {
          if (options.sessions === undefined || sessionToken === undefined || !id.startsWith("ASIA")) return undefined;
          // Throws InvalidClientTokenId / ExpiredToken for a token that does not open, is for
          // another key id or is expired; its secret is what the call must be signed with.
          session = await options.sessions.open(id, sessionToken);
          return { secretAccessKey: session.secretAccessKey, active: true };
        }
        if (sameText(id, operator.accessKeyId)) return { secretAccessKey: operator.secretAccessKey, active: true };
        found = await credentialOf(id);
        return found === undefined
          ? undefined
          : { secretAccessKey: found.secretAccessKey, active: found.status === "Active" };
      },
    });
    if (session !== undefined) return sessionCaller(accessKeyId, session);
    if (found === undefined) return { kind: "operator", accessKeyId, arn: "arn:aws:iam::operator:root" };
    // A map update, no I/O: the recorder coalesces uses and writes them in batches.
    lastUsed?.record(accessKeyId, "iam", region);
    if (found.userId === null || found.userName === null) {
      return { kind: "root", accessKeyId, accountId: found.accountId, arn: found.principalArn };
    }
    return {
      kind: "user",
      accessKeyId,
      accountId: found.accountId,
      arn: found.principalArn,
      userId: found.userId,
      userName: found.userName,
    };
  }

  /** The caller a verified session signs as; a GetSessionToken session ends with its access key. */
  async function sessionCaller(accessKeyId: string, session: SessionClaims): Promise<Caller> {
    const p = session.principal;
    if (p.kind === "assumed-role") {
      return {
        kind: "role-session",
        accessKeyId,
        accountId: session.accountId,
        arn: `arn:aws:sts::${session.accountId}:assumed-role/${p.roleName}/${p.sessionName}`,
        roleArn: p.roleArn,
        roleId: p.roleId,
        session,
      };
    }
    if (session.sourceAccessKeyId !== undefined) {
      const source = await credentialOf(session.sourceAccessKeyId);
      if (source === undefined || source.status !== "Active" || source.accountId !== session.accountId) {
        throw new IamError("InvalidClientTokenId", "the security token included in the request is invalid", {
          field: "x-amz-security-token",
        });
      }
    }
    if (p.kind === "root") {
      return {
        kind: "root",
        accessKeyId,
        accountId: session.accountId,
        arn: `arn:aws:iam::${session.accountId}:root`,
        session,
      };
    }
    return {
      kind: "user",
      accessKeyId,
      accountId: session.accountId,
      arn: p.userArn,
      userId: p.userId,
      userName: p.userName,
      session,
    };
  }
}

const MAX_UNKNOWN = 10_000;
/** The error for calls whose credentials are valid but belong to no account (the operator). */
export function operatorCannot(operation: string): IamError {
  return new IamError("AccessDenied", `the operator credential can only create and export accounts, not ${operation}`);
}
