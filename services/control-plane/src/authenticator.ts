import { timingSafeEqual } from "node:crypto";
import { verifyGrpcCall } from "@gatehouse/auth";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import type { AccessKeyCredential, IamStore } from "@gatehouse/store-postgres";
import type { Caller } from "./caller.ts";

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  store: IamStore;
  /** The operator credential from config: may create accounts, belongs to no account. */
  operator: { accessKeyId: string; secretAccessKey: string };
  region: string;
  clock?: Clock;
  /** Minimum interval between "last used" stamps of one key. Default 60 s. */
  lastUsedEveryMs?: number;
  /**
   * How long an active key's unsealed secret is reused without asking Postgres. Default 2000 ms;
   * 0 disables. Keys changed through this process are forgotten at once; changes made by another
   * control-plane replica apply within this time (IAM is eventually consistent the same way).
   */
  cacheTtlMs?: number;
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
 * secrets the store unseals only for this). Stamps keys' "last used" at most once a minute.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { store, operator, region } = options;
  const clock = options.clock ?? systemClock;
  const every = options.lastUsedEveryMs ?? 60_000;
  const stamped = new Map<string, number>();
  const ttl = options.cacheTtlMs ?? 2000;
  const cache = new Map<string, { credential: AccessKeyCredential; until: number }>();
  const credentialOf = async (id: string): Promise<AccessKeyCredential | undefined> => {
    const now = clock.now();
    const hit = cache.get(id);
    if (hit !== undefined && hit.until > now) return hit.credential;
    const credential = await store.getAccessKeyCredential(id);
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
    },
    async authenticate(call, metadata) {
      let found: AccessKeyCredential | undefined;
      const { accessKeyId } = await verifyGrpcCall(call, metadata, {
        region,
        clock,
        lookup: async (id) => {
          if (sameText(id, operator.accessKeyId)) return { secretAccessKey: operator.secretAccessKey, active: true };
          found = await credentialOf(id);
          return found === undefined
            ? undefined
            : { secretAccessKey: found.secretAccessKey, active: found.status === "Active" };
        },
      });
      if (found === undefined) return { kind: "operator", accessKeyId, arn: "arn:aws:iam::operator:root" };
      const now = clock.now();
      if ((stamped.get(accessKeyId) ?? 0) + every <= now) {
        stamped.set(accessKeyId, now);
        void store.recordAccessKeyUse(accessKeyId, "iam", region).catch(() => {});
      }
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
    },
  };
}

/** The error for calls whose credentials are valid but belong to no account (the operator). */
export function operatorCannot(operation: string): IamError {
  return new IamError("AccessDenied", `the operator credential can only create and export accounts, not ${operation}`);
}
