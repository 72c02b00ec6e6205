import { createSessionTokenCodec, type SessionClaims, type SessionTokenCodec } from "@gatehouse/auth";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import type { IamStore } from "@gatehouse/store-postgres";

/** How long the control plane reuses the STS key set it read; a token under a newer key reloads it. */
const KEYS_TTL_MS = 60_000;
/** A token naming a key the set lacks reloads it at most this often (key ids are caller-chosen). */
const RELOAD_MIN_MS = 1000;

/**
 * The STS key set as Postgres holds it (the control plane owns the set and unseals the keys only
 * here, in memory), as a session-token codec: the newest active key seals, every key opens.
 * Reloaded after {@link KEYS_TTL_MS}, or sooner when a token names a key the set lacks.
 */
export interface StsKeySet {
  /**
   * The codec over the set as of now (or undefined while the set is empty). `keyId`, a key a
   * token names, reloads the set when it lacks that key (at most once a second).
   */
  codec(keyId?: string): Promise<SessionTokenCodec | undefined>;
}

/** A {@link StsKeySet} over the store's key set. */
export function createStsKeySet(options: { store: Pick<IamStore, "getStsKeys">; clock?: Clock }): StsKeySet {
  const clock = options.clock ?? systemClock;
  let codec: SessionTokenCodec | undefined;
  let loadedAtMs = Number.NEGATIVE_INFINITY;
  let keyIds = new Set<string>();
  const load = async () => {
    const keys = await options.store.getStsKeys();
    loadedAtMs = clock.now();
    keyIds = new Set(keys.map((k) => k.keyId));
    const now = clock.now();
    const active = keys.filter((k) => k.activatesAtMs <= now);
    const current = active[active.length - 1] ?? keys[0];
    codec =
      current === undefined
        ? undefined
        : createSessionTokenCodec({
            current: { keyId: current.keyId, key: current.key },
            verifying: keys.filter((k) => k !== current).map((k) => ({ keyId: k.keyId, key: k.key })),
            clock,
          });
  };
  return {
    async codec(keyId) {
      const now = clock.now();
      const stale = now - loadedAtMs > KEYS_TTL_MS;
      const unknownKey = keyId !== undefined && keyId !== "" && !keyIds.has(keyId) && now - loadedAtMs > RELOAD_MIN_MS;
      if (codec === undefined || stale || unknownKey) await load();
      return codec;
    },
  };
}

/**
 * Opens the session tokens the regions issue, with the STS key set as Postgres holds it, so calls
 * signed with temporary credentials are verified here as in every region.
 */
export interface SessionVerifier {
  /**
   * The claims of a token issued for `accessKeyId`, unexpired at the clock's now; throws
   * InvalidClientTokenId (or ExpiredToken) for anything else, without saying which check failed
   * beyond the message.
   */
  open(accessKeyId: string, sessionToken: string): Promise<SessionClaims>;
}

/** A {@link SessionVerifier} over the store's key set (or a {@link StsKeySet} shared with the sign-in). */
export function createSessionVerifier(options: {
  store: Pick<IamStore, "getStsKeys">;
  clock?: Clock;
  keys?: StsKeySet;
}): SessionVerifier {
  const keys = options.keys ?? createStsKeySet(options);
  return {
    async open(accessKeyId, sessionToken) {
      const named = /^[A-Za-z0-9_-]{12}/.test(sessionToken)
        ? Buffer.from(sessionToken.slice(0, 12), "base64url").subarray(1, 9).toString("hex")
        : "";
      const codec = await keys.codec(named);
      if (codec === undefined) {
        throw new IamError("InvalidClientTokenId", "the security token included in the request is invalid", {
          field: "x-amz-security-token",
        });
      }
      const claims = codec.open(sessionToken);
      if (claims.accessKeyId !== accessKeyId) {
        throw new IamError(
          "InvalidClientTokenId",
          "the security token included in the request is invalid: it belongs to another access key id",
          { field: "x-amz-security-token" },
        );
      }
      return claims;
    },
  };
}
