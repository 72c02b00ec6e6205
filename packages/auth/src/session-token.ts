import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from "node:crypto";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import { z } from "zod";
import { secretKeyId } from "./secret-box.ts";

/**
 * Self-verifying session tokens: what STS hands out as `SessionToken`. A token is the AEAD
 * (AES-256-GCM) of a compact JSON payload ({@link SessionClaims}: who the session is, its session
 * policies, tags, MFA, issue and expiry times, and the session's secret access key) under one key
 * of the regions' STS key set, whose id travels in clear so any region holding the set opens it
 * without asking anyone:
 *
 * `base64url( version (1) || keyId (8) || iv (12) || ciphertext || tag (16) )`
 *
 * The version byte and key id are the AEAD's additional data, so neither can be swapped.
 */

/** The only token format this code writes and reads. */
export const SESSION_TOKEN_VERSION = 1;
const ID_BYTES = 8;
const HEADER = 1 + ID_BYTES;
const IV = 12;
const TAG = 16;
/** Tokens longer than this (base64url characters) are refused before any decoding. */
export const MAX_SESSION_TOKEN_LENGTH = 16_384;

const TagSchema = z.strictObject({ key: z.string(), value: z.string() });

/** Who a session acts as. */
const SessionPrincipalSchema = z.discriminatedUnion("kind", [
  /** AssumeRole / AssumeRoleWithWebIdentity: `arn:…:sts::A:assumed-role/ROLE/SESSION`. */
  z.strictObject({
    kind: z.literal("assumed-role"),
    roleArn: z.string(),
    roleId: z.string(),
    roleName: z.string(),
    sessionName: z.string(),
  }),
  /** GetSessionToken of an IAM user: the session acts as the user. */
  z.strictObject({ kind: z.literal("user"), userArn: z.string(), userId: z.string(), userName: z.string() }),
  /** GetSessionToken of the account root. */
  z.strictObject({ kind: z.literal("root") }),
]);

/** What a session token carries, authenticated and encrypted. */
export const SessionClaimsSchema = z.strictObject({
  principal: SessionPrincipalSchema,
  accountId: z.string().regex(/^\d{12}$/),
  /** The session's access key id (`ASIA…`): a token is only good with its own key id. */
  accessKeyId: z.string().regex(/^ASIA[A-Z2-7]{16}$/),
  /** The session's secret access key: the verifier checks SigV4 signatures with it. */
  secretAccessKey: z.string().min(1),
  issuedAtMs: z.int(),
  expiresAtMs: z.int(),
  /** Set when the session was issued with an MFA code (or chained from one that was): when. */
  mfaAuthTimeMs: z.int().optional(),
  /** The inline session policy as given (minified), if any. */
  sessionPolicy: z.string().optional(),
  /** Managed session policy ARNs (at most 10). */
  policyArns: z.array(z.string()).max(10).default([]),
  /** Session tags (they become `aws:PrincipalTag/*`, over the role's own tags with the same key). */
  tags: z.array(TagSchema).default([]),
  /** Keys of the session tags that pass on to sessions this one assumes (role chaining). */
  transitiveTagKeys: z.array(z.string()).default([]),
  /**
   * What signed the call that created the session: role chaining (a session) caps the next at 1 h.
   * `console`: the control plane's console sign-in (a password, or the root's key); unlike
   * GetSessionToken's sessions these call IAM without MFA, as AWS console sessions do.
   */
  source: z.enum(["long-term", "session", "web-identity", "console"]),
  /**
   * GetSessionToken: the long-term access key that signed the request; the session ends when it
   * is deactivated or deleted (and with the user behind it).
   */
  sourceAccessKeyId: z.string().optional(),
  /**
   * AssumeRoleWithWebIdentity: the OIDC provider's ARN, `aws:FederatedProvider` in the session's
   * requests (the IAM User Guide: present in the role session of a role assumed through an OIDC
   * provider). Not passed on to sessions this one assumes (AWS does not carry it through chaining).
   */
  federatedProvider: z.string().optional(),
  /**
   * AssumeRoleWithWebIdentity: the token's claims the trust policy saw, keyed as AWS names them
   * (`<provider url>:sub`, `:aud`, `:amr`), also in the session's later requests, where the IAM
   * User Guide's web identity keys are available (`${<provider>:sub}` in permission policies).
   */
  webIdentityClaims: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  /**
   * AWS's source identity: set once (AssumeRole's `SourceIdentity`, a web identity token's
   * `https://aws.amazon.com/source_identity` claim), then carried unchanged through role chaining;
   * `aws:SourceIdentity` in every request of the session. Optional, so tokens sealed before it
   * existed still open (same format version); a region older than this field refuses a token that
   * carries one (strict schema) rather than dropping it.
   */
  sourceIdentity: z.string().optional(),
});

/** See {@link SessionClaimsSchema}. */
export type SessionClaims = z.infer<typeof SessionClaimsSchema>;
/** Input form of {@link SessionClaims} (lists may be left out). */
export type SessionClaimsInput = z.input<typeof SessionClaimsSchema>;
/** See {@link SessionClaimsSchema}'s `principal`. */
export type SessionPrincipal = SessionClaims["principal"];

/** One STS key: 32 random bytes and the id derived from them ({@link secretKeyId}). */
export interface StsKey {
  readonly keyId: string;
  readonly key: Uint8Array;
}

/** Seals and opens session tokens with a key set: the newest key seals, every key opens. */
export interface SessionTokenCodec {
  /** A token for `claims`, sealed with the set's current key. */
  seal(claims: SessionClaimsInput): string;
  /**
   * The claims of a token this set can open, unexpired at the clock's now. Throws
   * `InvalidClientTokenId` for anything malformed, tampered with, truncated or under a key the set
   * does not hold, and `ExpiredToken` once `expiresAtMs` is past (unless `acceptExpired`: for a
   * verifier that checks the signature first and the expiry itself).
   */
  open(token: string, options?: { readonly acceptExpired?: boolean }): SessionClaims;
  /** The id of the key that seals. */
  readonly keyId: string;
}

/** Options of {@link createSessionTokenCodec}. */
export interface SessionTokenCodecOptions {
  /** The key that seals new tokens. */
  readonly current: StsKey;
  /** Keys that still open tokens (rotated out, or not yet current). */
  readonly verifying?: readonly StsKey[];
  readonly clock?: Clock;
}

/** A new STS key (32 bytes from the CSPRNG). */
export function newStsKey(): StsKey {
  const key = randomBytes(32);
  return { keyId: secretKeyId(key), key };
}

/** The key with the id derived from `key`. */
export function stsKey(key: Uint8Array): StsKey {
  if (key.length !== 32) throw new Error(`an STS key must be 32 bytes, got ${key.length}`);
  return { keyId: secretKeyId(key), key };
}

/** Opened tokens a codec remembers (oldest dropped first). */
const MAX_OPENED = 50_000;

function expired(): IamError {
  return new IamError("ExpiredToken", "the security token included in the request is expired", {
    field: "sessionToken",
  });
}

function invalid(message: string, cause?: unknown): IamError {
  return new IamError("InvalidClientTokenId", `the security token included in the request is invalid: ${message}`, {
    field: "sessionToken",
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * A codec over a key set.
 * @example
 * const codec = createSessionTokenCodec({ current: newStsKey() });
 * const token = codec.seal(claims);
 * codec.open(token).principal; // the claims, or InvalidClientTokenId / ExpiredToken
 */
export function createSessionTokenCodec(options: SessionTokenCodecOptions): SessionTokenCodec {
  const clock = options.clock ?? systemClock;
  // KeyObjects, made once: a cipher from one costs a third of one from raw key bytes.
  const keys = new Map<string, KeyObject>();
  for (const k of [options.current, ...(options.verifying ?? [])]) {
    if (k.key.length !== 32) throw new Error(`STS key ${k.keyId} must be 32 bytes, got ${k.key.length}`);
    keys.set(k.keyId, createSecretKey(Buffer.from(k.key)));
  }
  const current = keys.get(options.current.keyId) as KeyObject;
  // Tokens this codec opened, by their text (immutable, authenticated): a session signs many
  // calls, and each later one skips the decryption. Expiry is still checked on every open; the
  // cache dies with the codec (a key set change builds a new one).
  const opened = new Map<string, SessionClaims>();
  const header = Buffer.concat([Buffer.from([SESSION_TOKEN_VERSION]), Buffer.from(options.current.keyId, "hex")]);
  if (header.length !== HEADER) throw new Error(`STS key id ${options.current.keyId} must be ${ID_BYTES} bytes of hex`);
  return {
    keyId: options.current.keyId,
    seal(input) {
      const claims = SessionClaimsSchema.parse(input);
      const iv = randomBytes(IV);
      const cipher = createCipheriv("aes-256-gcm", current, iv);
      cipher.setAAD(header);
      const ct = Buffer.concat([cipher.update(JSON.stringify(claims), "utf8"), cipher.final()]);
      return Buffer.concat([header, iv, ct, cipher.getAuthTag()]).toString("base64url");
    },
    open(token, openOptions) {
      const acceptExpired = openOptions?.acceptExpired === true;
      const hit = opened.get(token);
      if (hit !== undefined) {
        if (!acceptExpired && clock.now() >= hit.expiresAtMs) throw expired();
        return hit;
      }
      if (token.length === 0) throw invalid("it is empty");
      if (token.length > MAX_SESSION_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid("it is malformed");
      const buf = Buffer.from(token, "base64url");
      if (buf.length < HEADER + IV + TAG + 2) throw invalid("it is truncated");
      if (buf[0] !== SESSION_TOKEN_VERSION) throw invalid(`format version ${buf[0]} is not supported`);
      const keyId = buf.subarray(1, HEADER).toString("hex");
      const key = keys.get(keyId);
      if (key === undefined) throw invalid(`it names key ${keyId}, which this region does not hold`);
      let plain: string;
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, buf.subarray(HEADER, HEADER + IV), {
          authTagLength: TAG,
        });
        decipher.setAAD(buf.subarray(0, HEADER));
        decipher.setAuthTag(buf.subarray(buf.length - TAG));
        plain = Buffer.concat([
          decipher.update(buf.subarray(HEADER + IV, buf.length - TAG)),
          decipher.final(),
        ]).toString("utf8");
      } catch (e) {
        throw invalid("it does not authenticate", e);
      }
      let claims: SessionClaims;
      try {
        claims = SessionClaimsSchema.parse(JSON.parse(plain));
      } catch (e) {
        // Authentic but unreadable: a writer of another payload version under the same key.
        throw invalid("its payload is not one this region reads", e);
      }
      if (!acceptExpired && clock.now() >= claims.expiresAtMs) throw expired();
      if (opened.size >= MAX_OPENED) opened.delete(opened.keys().next().value as string);
      opened.set(token, claims);
      return claims;
    },
  };
}

/** The ARN a session acts as (`aws:PrincipalArn` is the role's for assumed roles; this is the caller ARN). */
export function sessionArn(claims: Pick<SessionClaims, "principal" | "accountId">, partition = "aws"): string {
  const p = claims.principal;
  switch (p.kind) {
    case "assumed-role":
      return `arn:${partition}:sts::${claims.accountId}:assumed-role/${p.roleName}/${p.sessionName}`;
    case "user":
      return p.userArn;
    case "root":
      return `arn:${partition}:iam::${claims.accountId}:root`;
  }
}

/** The session's `aws:userid` (`ROLEID:session` for assumed roles, as AWS has it). */
export function sessionUserId(claims: Pick<SessionClaims, "principal" | "accountId">): string {
  const p = claims.principal;
  switch (p.kind) {
    case "assumed-role":
      return `${p.roleId}:${p.sessionName}`;
    case "user":
      return p.userId;
    case "root":
      return claims.accountId;
  }
}

/**
 * The request-context keys a session's web identity fixes (`aws:FederatedProvider` and the
 * token's `<provider url>:sub|aud|amr`), for the deciders and the control plane to set on every
 * request the session makes: never taken from a caller. Empty for other sessions.
 */
export function webIdentityContext(
  claims: Pick<SessionClaims, "federatedProvider" | "webIdentityClaims">,
): Record<string, string | string[]> {
  if (claims.federatedProvider === undefined) return {};
  return { ...claims.webIdentityClaims, "aws:FederatedProvider": claims.federatedProvider };
}

/**
 * The request-context keys a session's source identity fixes (`aws:SourceIdentity`), for the
 * deciders and the control plane to set on every request the session makes: never taken from a
 * caller. Empty for a session without one.
 */
export function sourceIdentityContext(claims: Pick<SessionClaims, "sourceIdentity">): Record<string, string> {
  return claims.sourceIdentity === undefined ? {} : { "aws:SourceIdentity": claims.sourceIdentity };
}
