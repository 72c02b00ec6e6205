import {
  claimedAccessKeyId,
  createFailureLimiter,
  deriveSigningKey,
  type SecretBox,
  type SignedRequestParts,
  type VerificationKey,
  verifySignedRequest,
} from "@gatehouse/auth";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import type { RegionView } from "@gatehouse/view-redis";
import type { Logger } from "pino";
import type { Decider } from "./decider.ts";
import type { SessionCredentialResolver, SessionPrincipal } from "./session-credentials.ts";

/** A request to authenticate, as the calling service received it. */
export interface AuthenticationInput {
  readonly parts: SignedRequestParts;
  readonly authorization: string;
  /** The calling service's signing name, which the credential scope must name. */
  readonly service: string;
  /** Where the request came from (the client's address as the calling service saw it). */
  readonly source: string;
  /** SigV4's path rule for every service but S3 (normalize, encode again); false: S3's. */
  readonly uriEscapePath: boolean;
}

/** Who signed a request. */
export interface AuthenticatedPrincipal {
  /** `arn:aws:iam::ACCOUNT:user/NAME`, `arn:aws:iam::ACCOUNT:root`, or a session's ARN. */
  readonly arn: string;
  readonly accountId: string;
  /** The user's id, the account id for the root, `ROLEID:SESSION` for a session. */
  readonly userId: string;
  /** The user's name; empty for the root and sessions. */
  readonly userName: string;
  readonly type: "user" | "root" | SessionPrincipal["type"];
  readonly tags: readonly { readonly key: string; readonly value: string }[];
  readonly mfaPresent: boolean;
  readonly accessKeyId: string;
  readonly signedAtMs: number;
}

/** Options of {@link createRequestAuthenticator}. */
export interface RequestAuthenticatorOptions {
  readonly view: Pick<RegionView, "readAccessKey">;
  /** Principals (for tags) and the view's notifications (to evict changed keys). */
  readonly decider: Pick<Decider, "principal" | "addListener">;
  /** Opens the sealed secrets the view holds (the control plane's key set). */
  readonly secretBox: SecretBox;
  /** The region signatures must be scoped to. */
  readonly region: string;
  readonly logger: Logger;
  /** Temporary credentials (`ASIA…`); none: they fail with InvalidClientTokenId. */
  readonly sessions?: SessionCredentialResolver;
  readonly clock?: Clock;
  /**
   * Called with every long-term access key that authenticated a request and the service it was
   * signed for (the access key's last use). Must not block (the region's audit sink buffers).
   */
  readonly onKeyUse?: (accessKeyId: string, service: string) => void;
  /** Allowed clock skew of `x-amz-date`. Default 15 minutes (AWS's). */
  readonly maxSkewMs?: number;
  /** Failures one access key id may cause from one source: bucket refill/s and size. Defaults 1, 10. */
  readonly keyFailuresPerSecond?: number;
  readonly keyFailureBurst?: number;
  /** Failures one source may cause over all key ids. Defaults 5, 50. */
  readonly sourceFailuresPerSecond?: number;
  readonly sourceFailureBurst?: number;
}

/** SigV4 authentication against the region's view of access keys. */
export interface RequestAuthenticator {
  authenticate(input: AuthenticationInput): Promise<AuthenticatedPrincipal>;
  /** Access keys (known, inactive or absent) cached in memory. */
  readonly cachedKeys: number;
}

/** What the region knows of a key id: nothing, an inactive key, or an active one with its secret. */
type KeyEntry =
  | { readonly kind: "absent" }
  | { readonly kind: "inactive" }
  | {
      readonly kind: "active";
      readonly accountId: string;
      readonly principalArn: string;
      readonly userId: string | null;
      readonly userName: string | null;
      readonly secret: string;
      /** Derived signing keys by scope date (at most a few: today, yesterday across midnight). */
      readonly signingKeys: Map<string, Buffer>;
    };

const MAX_KEYS = 100_000;
const MAX_MARKS = 100_000;
const ABSENT: KeyEntry = { kind: "absent" };
const INACTIVE: KeyEntry = { kind: "inactive" };

function notValid(): IamError {
  // The same answer for unknown, deleted, inactive keys and unresolvable sessions: AWS says no more.
  return new IamError("InvalidClientTokenId", "the access key id in the request is not valid or not active", {
    field: "authorization",
  });
}

/**
 * Creates the region's authenticator. Access keys are read from the view once and kept in memory
 * (their secrets unsealed only there, with their derived signing keys), evicted exactly when an
 * applied revision names the key; absent key ids are remembered the same way, so a flood of one
 * unknown id costs one Redis read. Failures are throttled per (access key id, source) and per
 * source, never per key id alone: a bad client cannot lock the key's owner out.
 */
export function createRequestAuthenticator(options: RequestAuthenticatorOptions): RequestAuthenticator {
  const { view, decider, secretBox, region, logger, sessions } = options;
  const clock = options.clock ?? systemClock;
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000;
  const keyFailures = createFailureLimiter(options.keyFailuresPerSecond ?? 1, options.keyFailureBurst ?? 10);
  const sourceFailures = createFailureLimiter(options.sourceFailuresPerSecond ?? 5, options.sourceFailureBurst ?? 50);
  const keys = new Map<string, KeyEntry>();
  /** Per key id, the sequence number of the last notification naming it; loads begun before are not cached. */
  const marks = new Map<string, number>();
  let seq = 0;
  let floor = 0;

  decider.addListener({
    applied(n) {
      if (n.accessKeys.length === 0) return;
      seq++;
      if (marks.size + n.accessKeys.length > MAX_MARKS) {
        marks.clear();
        floor = seq;
      }
      for (const id of n.accessKeys) {
        keys.delete(id);
        marks.set(id, seq);
      }
    },
    reset() {
      seq++;
      keys.clear();
      marks.clear();
      floor = seq;
    },
  });

  const load = async (accessKeyId: string): Promise<KeyEntry> => {
    const hit = keys.get(accessKeyId);
    if (hit !== undefined) return hit;
    const startedAt = seq;
    const state = await view.readAccessKey(accessKeyId);
    let entry: KeyEntry;
    if (state === undefined) entry = ABSENT;
    else if (state.status !== "Active") entry = INACTIVE;
    else if (state.secretCiphertext === undefined) {
      // Only exports without sealed secrets lack it; the key cannot be verified here.
      logger.warn({ accessKeyId }, "access key in the view has no sealed secret; it cannot authenticate");
      entry = INACTIVE;
    } else {
      entry = {
        kind: "active",
        accountId: state.accountId,
        principalArn: state.principalArn,
        userId: state.userId,
        userName: state.userName,
        // Throws (logged, INTERNAL) when the region's key set cannot open it: a configuration error.
        secret: secretBox.open(Buffer.from(state.secretCiphertext, "base64"), accessKeyId),
        signingKeys: new Map(),
      };
    }
    if (startedAt >= floor && (marks.get(accessKeyId) ?? 0) <= startedAt) {
      if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value as string);
      keys.set(accessKeyId, entry);
    }
    return entry;
  };

  const signingKeyOf =
    (entry: { signingKeys: Map<string, Buffer>; secret: string }, service: string) =>
    (scopeDate: string): Buffer => {
      const cacheKey = `${scopeDate}/${service}`;
      let k = entry.signingKeys.get(cacheKey);
      if (k === undefined) {
        if (entry.signingKeys.size >= 4) entry.signingKeys.clear();
        k = deriveSigningKey(entry.secret, scopeDate, region, service);
        entry.signingKeys.set(cacheKey, k);
      }
      return k;
    };

  const verified = async (input: AuthenticationInput): Promise<AuthenticatedPrincipal> => {
    let found: Extract<KeyEntry, { kind: "active" }> | undefined;
    let session: SessionPrincipal | undefined;
    let expiresAtMs = Number.POSITIVE_INFINITY;
    const lookup = async (accessKeyId: string, token: string | undefined): Promise<VerificationKey | undefined> => {
      if (token !== undefined || accessKeyId.startsWith("ASIA")) {
        if (sessions === undefined) {
          throw new IamError("InvalidClientTokenId", "temporary credentials are not accepted by this region yet", {
            field: "securityToken",
          });
        }
        if (token === undefined || token === "" || !accessKeyId.startsWith("ASIA")) return undefined;
        const resolved = await sessions.resolve(accessKeyId, token);
        if (resolved === undefined) return undefined;
        session = resolved.principal;
        expiresAtMs = resolved.expiresAtMs;
        return { secretAccessKey: resolved.secretAccessKey, active: true };
      }
      const entry = await load(accessKeyId);
      if (entry.kind !== "active") return undefined;
      found = entry;
      return { secretAccessKey: entry.secret, active: true, signingKey: signingKeyOf(entry, input.service) };
    };
    const v = await verifySignedRequest(input.parts, input.authorization, {
      region,
      service: input.service,
      lookup,
      acceptSessionTokens: true,
      clock,
      maxSkewMs,
      uriEscapePath: input.uriEscapePath,
    });
    if (session !== undefined) {
      if (clock.now() >= expiresAtMs) {
        throw new IamError("ExpiredToken", "the security token included in the request is expired", {
          field: "securityToken",
        });
      }
      return { ...session, userName: "", accessKeyId: v.accessKeyId, signedAtMs: v.signedAtMs };
    }
    if (found === undefined) throw notValid();
    options.onKeyUse?.(v.accessKeyId, input.service);
    const base = {
      accountId: found.accountId,
      accessKeyId: v.accessKeyId,
      signedAtMs: v.signedAtMs,
      mfaPresent: false,
    };
    if (found.userId === null || found.userName === null) {
      return { ...base, arn: found.principalArn, userId: found.accountId, userName: "", type: "root", tags: [] };
    }
    const principal = await decider.principal(found.accountId, found.principalArn).catch((e: unknown) => {
      // A key the view holds whose owner it no longer has (deleted in a later revision).
      if (IamError.is(e) && e.awsName === "NoSuchEntity") throw notValid();
      throw e;
    });
    return {
      ...base,
      arn: found.principalArn,
      userId: found.userId,
      userName: found.userName,
      type: "user",
      tags: principal.tags,
    };
  };

  return {
    get cachedKeys() {
      return keys.size;
    },
    async authenticate(input) {
      const claimed = claimedAccessKeyId(input.authorization);
      const now = clock.now();
      const pair = `${claimed ?? ""}\n${input.source}`;
      if (sourceFailures.exhausted(input.source, now) || (claimed !== undefined && keyFailures.exhausted(pair, now))) {
        throw new IamError("Throttling", "too many failed authentications from this source; retry later", {
          field: "authorization",
          retriable: true,
        });
      }
      try {
        return await verified(input);
      } catch (e) {
        if (IamError.is(e) && e.code === "UNAUTHENTICATED") {
          const at = clock.now();
          sourceFailures.fail(input.source, at);
          if (claimed !== undefined) keyFailures.fail(pair, at);
        }
        throw e;
      }
    },
  };
}
