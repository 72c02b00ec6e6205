import { createSessionTokenCodec, type SessionClaims, type SessionTokenCodec } from "@gatehouse/auth";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import type { IamStore } from "@gatehouse/store-postgres";

/** How long the control plane reuses the STS key set it read; a token under a newer key reloads it. */
const KEYS_TTL_MS = 60_000;
/** A token naming a key the set lacks reloads it at most this often (key ids are caller-chosen). */
const RELOAD_MIN_MS = 1000;

/**
 * Opens the session tokens the regions issue, with the STS key set as Postgres holds it (the
 * control plane owns the set; it unseals the keys only here, in memory), so calls signed with
 * temporary credentials are verified here as in every region.
 */
export interface SessionVerifier {
  /**
   * The claims of a token issued for `accessKeyId`, unexpired at the clock's now; throws
   * InvalidClientTokenId (or ExpiredToken) for anything else, without saying which check failed
   * beyond the message.
   */
  open(accessKeyId: string, sessionToken: string): Promise<SessionClaims>;
}

/** A {@link SessionVerifier} over the store's key set. */
export function createSessionVerifier(options: {
  store: Pick<IamStore, "getStsKeys">;
  clock?: Clock;
}): SessionVerifier {
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
    async open(accessKeyId, sessionToken) {
      const now = clock.now();
      const named = /^[A-Za-z0-9_-]{12}/.test(sessionToken)
        ? Buffer.from(sessionToken.slice(0, 12), "base64url").subarray(1, 9).toString("hex")
        : "";
      const stale = now - loadedAtMs > KEYS_TTL_MS;
      const unknownKey = named !== "" && !keyIds.has(named) && now - loadedAtMs > RELOAD_MIN_MS;
      if (codec === undefined || stale || unknownKey) await load();
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
