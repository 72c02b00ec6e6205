import { timingSafeEqual } from "node:crypto";
import { verifyGrpcCall } from "@gatehouse/auth";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import type { IamStore } from "@gatehouse/store-postgres";
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
}

/** Turns a signed call into a {@link Caller}, or throws an UNAUTHENTICATED IamError. */
export interface Authenticator {
  authenticate(
    call: { method: string; authority: string; body: Uint8Array },
    metadata: Readonly<Record<string, string | undefined>>,
  ): Promise<Caller>;
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
  return {
    async authenticate(call, metadata) {
      let found: Awaited<ReturnType<IamStore["getAccessKeyCredential"]>>;
      const { accessKeyId } = await verifyGrpcCall(call, metadata, {
        region,
        clock,
        lookup: async (id) => {
          if (sameText(id, operator.accessKeyId)) return { secretAccessKey: operator.secretAccessKey, active: true };
          found = await store.getAccessKeyCredential(id);
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
