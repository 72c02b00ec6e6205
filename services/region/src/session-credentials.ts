/**
 * The principal a set of temporary credentials acts as, as a {@link SessionCredentialResolver}
 * states it (from its self-verifying session token, not from the caller).
 */
export interface SessionPrincipal {
  /** The session's ARN, e.g. `arn:aws:sts::111122223333:assumed-role/deploy/ci-run-7`. */
  readonly arn: string;
  /** The 12-digit account the session belongs to. */
  readonly accountId: string;
  /** AWS's `aws:userid` of the session, e.g. `AROAEXAMPLEID:ci-run-7`. */
  readonly userId: string;
  /**
   * An assumed role's session, or GetSessionToken's session of a user (acting as the user, its ARN
   * the user's) or of the root; a closed union to grow (federated-user, …).
   */
  readonly type: "assumed-role" | "user" | "root";
  /** Session (principal) tags, `aws:PrincipalTag/*` of the session. */
  readonly tags: readonly { readonly key: string; readonly value: string }[];
  /** Whether the credentials were issued after an MFA check (`aws:MultiFactorAuthPresent`). */
  readonly mfaPresent: boolean;
}

/** What a resolver returns for credentials it vouches for. */
export interface ResolvedSession {
  /** The temporary secret access key the request must have been signed with. */
  readonly secretAccessKey: string;
  readonly principal: SessionPrincipal;
  /** Epoch ms after which the credentials are expired; the region refuses them from then on. */
  readonly expiresAtMs: number;
}

/**
 * Resolves temporary credentials (access key ids beginning `ASIA`) for a region's Authenticate.
 * The STS side implements it from a self-verifying session token; a region composed without one
 * refuses every `ASIA…` key with InvalidClientTokenId.
 *
 * Contract, as the region's authenticator relies on it:
 * - `resolve` is called only for an access key id beginning `ASIA` whose request carries a
 *   non-empty `x-amz-security-token` covered by the signature's SignedHeaders, after the date,
 *   scope and failure-throttling checks and **before** the signature is checked: it must therefore
 *   treat `accessKeyId` and `sessionToken` as untrusted input.
 * - It returns `undefined` for any token that does not verify (bad integrity tag, another
 *   region's or an unknown signing key, malformed), that was not issued for `accessKeyId`, or that
 *   it otherwise refuses; the region then answers InvalidClientTokenId without saying why. It
 *   never throws for a bad token: a throw is logged and answered as an internal error.
 * - It returns `{ secretAccessKey, principal, expiresAtMs }` for a token it vouches for, even if
 *   expired: the region compares `expiresAtMs` with its own clock (the one it checks `x-amz-date`
 *   with) and answers ExpiredToken, so a resolver need not read a clock.
 * - It is called on every authenticated request with such a key (the region caches nothing of
 *   sessions), so it should answer from memory in microseconds; it must not return a secret for a
 *   token it could not verify, and must never log the token or the secret.
 *
 * @example
 * const sessions: SessionCredentialResolver = {
 *   async resolve(accessKeyId, sessionToken) {
 *     const claims = verifySessionToken(sessionToken); // the STS helper's own format
 *     if (claims === undefined || claims.accessKeyId !== accessKeyId) return undefined;
 *     return { secretAccessKey: claims.secret, principal: claims.principal, expiresAtMs: claims.exp };
 *   },
 * };
 */
export interface SessionCredentialResolver {
  resolve(accessKeyId: string, sessionToken: string): Promise<ResolvedSession | undefined>;
}
