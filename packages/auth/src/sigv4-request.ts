import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { type Clock, IamError, systemClock } from "@gatehouse/core";

/** Header names SigV4 gives a meaning to (lower case). */
export const SigV4Headers = Object.freeze({
  authorization: "authorization",
  date: "x-amz-date",
  contentSha256: "x-amz-content-sha256",
  securityToken: "x-amz-security-token",
} as const);

/**
 * A signed request as the service that received it saw it: everything SigV4's canonical request
 * is built from. The verifier derives the canonical request itself; the caller never supplies it.
 */
export interface SignedRequestParts {
  /** The HTTP method (`GET`, `POST`, …); gRPC calls are `POST`. */
  readonly method: string;
  /** The path as sent on the wire (percent-encoded as the client sent it), e.g. `/a/b%20c`. */
  readonly path: string;
  /** The raw query string without `?` (`""` when none), percent-encoded as sent. */
  readonly query: string;
  /**
   * Header values by lower-case name: at least every header the signature's `SignedHeaders` names
   * (`host` and `x-amz-date` always), and `x-amz-security-token` when the request carried one.
   * Repeated headers are joined with `,` as HTTP does.
   */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /**
   * Lower-case hex SHA-256 of the body as received, computed by the receiver (or
   * `UNSIGNED-PAYLOAD` where the receiving service allows unsigned bodies).
   */
  readonly payloadHash: string;
}

/** A parsed `Authorization: AWS4-HMAC-SHA256 …` value. */
export interface ParsedAuthorization {
  readonly accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  /** Lower-case header names, as listed (sorted by a well-behaved signer). */
  readonly signedHeaders: readonly string[];
  /** 64 lower-case hex digits. */
  readonly signature: string;
}

/**
 * The secret of an access key, as the verifier's lookup returns it. `signingKey`, when given,
 * returns the derived SigV4 signing key of a scope date (`YYYYMMDD`) for the verifier's region and
 * service, so a caller can cache derived keys; otherwise the verifier derives it from the secret.
 */
export interface VerificationKey {
  readonly secretAccessKey: string;
  readonly active: boolean;
  readonly signingKey?: (scopeDate: string) => Uint8Array;
}

/** Options of {@link verifySignedRequest}. */
export interface VerifyRequestOptions {
  /** The region signatures must be scoped to. Default `us-east-1`. */
  readonly region?: string;
  /** The service signatures must be scoped to. Default `iam`. */
  readonly service?: string;
  /**
   * Looks up an access key id (with the request's session token when it carried one);
   * `undefined` when the key is unknown (or the token does not belong to it).
   */
  lookup(accessKeyId: string, sessionToken: string | undefined): Promise<VerificationKey | undefined>;
  /**
   * Whether a request carrying `x-amz-security-token` may be verified (temporary credentials).
   * Default false: such a request fails with InvalidClientTokenId before any lookup.
   */
  readonly acceptSessionTokens?: boolean;
  /** Headers that must be among the signed ones besides `host` and `x-amz-date`. */
  readonly requiredSignedHeaders?: readonly string[];
  /**
   * Whether the canonical URI is the path normalized and URI-encoded again (SigV4 for every
   * AWS service but S3). Default true; false takes the path as it is (S3, gRPC method paths).
   */
  readonly uriEscapePath?: boolean;
  readonly clock?: Clock;
  /** Allowed clock skew in ms. Default 5 minutes. */
  readonly maxSkewMs?: number;
}

/** What a verified request proves. */
export interface VerifiedRequest {
  readonly accessKeyId: string;
  readonly signedAtMs: number;
  /** The session token the signature covers, when the request carried one. */
  readonly sessionToken?: string;
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const PAYLOAD_HASH = /^([0-9a-f]{64}|UNSIGNED-PAYLOAD)$/;

function incomplete(message: string, field: string = SigV4Headers.authorization): IamError {
  return new IamError("IncompleteSignature", message, { field });
}

/** The access key id an `Authorization` value claims (unverified), or undefined; for throttling. */
export function claimedAccessKeyId(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]{1,128})\//.exec(authorization ?? "")?.[1];
}

/**
 * Parses an `Authorization` value strictly. Throws MissingAuthenticationToken when it is absent
 * or empty, IncompleteSignature when it is not an `AWS4-HMAC-SHA256` signature.
 */
export function parseAuthorization(authorization: string | undefined): ParsedAuthorization {
  if (authorization === undefined || authorization === "") {
    // AWS's name for a request without credentials; IncompleteSignature is for a malformed one.
    throw new IamError("MissingAuthenticationToken", "the request is not signed: no authorization", {
      field: SigV4Headers.authorization,
    });
  }
  const m = AUTH.exec(authorization);
  if (m === null) throw incomplete("authorization is not an AWS4-HMAC-SHA256 signature");
  // Stryker disable next-line StringLiteral: equivalent, AUTH's groups are all mandatory
  const [, accessKeyId = "", scopeDate = "", region = "", service = "", signedHeaders = "", signature = ""] = m;
  return { accessKeyId, scopeDate, region, service, signedHeaders: signedHeaders.split(";"), signature };
}

/** RFC 3986 escaping as SigV4 (and `@smithy/signature-v4`) does it. */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(path: string, escaped: boolean): string {
  if (!escaped) return path === "" ? "/" : path;
  const segments: string[] = [];
  for (const s of path.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") segments.pop();
    else segments.push(s);
  }
  const trailing = segments.length > 0 && path.endsWith("/") ? "/" : "";
  return escapeUri(`/${segments.join("/")}${trailing}`).replace(/%2F/g, "/");
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new IamError("InvalidInput", `query has a malformed percent-encoding in ${JSON.stringify(s.slice(0, 100))}`, {
      field: "query",
    });
  }
}

function canonicalQuery(query: string): string {
  const byKey = new Map<string, string[]>();
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = escapeUri(decode(eq === -1 ? pair : pair.slice(0, eq)));
    if (key.toLowerCase() === "x-amz-signature") continue;
    const value = escapeUri(decode(eq === -1 ? "" : pair.slice(eq + 1)));
    const values = byKey.get(key) ?? [];
    values.push(`${key}=${value}`);
    byKey.set(key, values);
  }
  return [...byKey.keys()]
    .sort()
    .map((k) => (byKey.get(k) ?? []).sort().join("&"))
    .join("&");
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The SigV4 signing key of a secret for one scope: HMAC chain over `AWS4<secret>`, the date, the
 * region, the service and `aws4_request`. Deriving it costs four HMACs; callers verifying many
 * requests of one key cache it per scope date.
 */
export function deriveSigningKey(secretAccessKey: string, scopeDate: string, region: string, service: string): Buffer {
  let key = createHmac("sha256", `AWS4${secretAccessKey}`).update(scopeDate).digest();
  for (const part of [region, service, "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  return key;
}

/**
 * The SigV4 string to sign of a request (the canonical request hashed under its date and scope).
 * Exported for tests and for signers that need the exact bytes.
 */
export function stringToSign(
  parts: SignedRequestParts,
  signedHeaders: readonly string[],
  amzDate: string,
  scope: string,
  uriEscapePath = true,
): string {
  const names = [...signedHeaders].sort();
  const canonical = [
    parts.method.toUpperCase(),
    canonicalPath(parts.path, uriEscapePath),
    canonicalQuery(parts.query),
    ...names.map((h) => `${h}:${(parts.headers[h] ?? "").trim().replace(/\s+/g, " ")}`),
    "",
    names.join(";"),
    parts.payloadHash,
  ].join("\n");
  return ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
}

/**
 * Verifies a SigV4-signed request from its parts and returns the access key id that signed it.
 * Errors are AWS's and never hold a secret or the expected signature: `MissingAuthenticationToken`
 * (no signature), `IncompleteSignature` (malformed parts, a required header left unsigned, a
 * signed header without a value), `RequestExpired` (date outside the skew), `InvalidClientTokenId`
 * (unknown or inactive key; a session token where none is accepted), `SignatureDoesNotMatch`
 * (wrong secret, another scope, any tampered signed part or payload).
 *
 * @example
 * const { accessKeyId } = await verifySignedRequest(
 *   { method: "GET", path: "/", query: "Action=ListUsers", headers, payloadHash },
 *   headers.authorization,
 *   { region: "eu-west-1", service: "iam", lookup },
 * );
 */
export async function verifySignedRequest(
  parts: SignedRequestParts,
  authorization: string | undefined,
  options: VerifyRequestOptions,
): Promise<VerifiedRequest> {
  const auth = parseAuthorization(authorization);
  const amzDate = parts.headers[SigV4Headers.date];
  if (amzDate === undefined) throw incomplete("x-amz-date is missing", SigV4Headers.date);
  const d = AMZ_DATE.exec(amzDate);
  if (d === null) throw incomplete(`x-amz-date ${JSON.stringify(amzDate)} is not YYYYMMDDTHHMMSSZ`, SigV4Headers.date);
  const signedAtMs = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(d[4]), Number(d[5]), Number(d[6]));
  const now = (options.clock ?? systemClock).now();
  const skew = options.maxSkewMs ?? 5 * 60_000;
  if (Math.abs(now - signedAtMs) > skew) {
    throw new IamError(
      "RequestExpired",
      `the request was signed at ${amzDate}, more than ${skew / 1000} s from the server's time`,
      { field: SigV4Headers.date },
    );
  }
  const signed = new Set(auth.signedHeaders);
  const token = parts.headers[SigV4Headers.securityToken];
  const required = ["host", SigV4Headers.date, ...(options.requiredSignedHeaders ?? [])];
  // A session token the signature does not cover could be swapped for another one.
  if (token !== undefined && options.acceptSessionTokens === true) required.push(SigV4Headers.securityToken);
  for (const h of required) {
    if (!signed.has(h)) throw incomplete(`SignedHeaders must include ${h}`);
  }
  for (const h of auth.signedHeaders) {
    if (parts.headers[h] === undefined) throw incomplete(`signed header ${h} has no value in the request`);
  }
  const expectedRegion = options.region ?? "us-east-1";
  const expectedService = options.service ?? "iam";
  if (auth.scopeDate !== amzDate.slice(0, 8) || auth.region !== expectedRegion || auth.service !== expectedService) {
    throw new IamError(
      "SignatureDoesNotMatch",
      `the credential scope must be <date of x-amz-date>/${expectedRegion}/${expectedService}/aws4_request`,
      { field: SigV4Headers.authorization },
    );
  }
  if (token !== undefined && options.acceptSessionTokens !== true) {
    // Unverifiable here; ignoring it would let a caller believe it acts in a session it is not in.
    throw new IamError(
      "InvalidClientTokenId",
      "x-amz-security-token is not accepted: temporary credentials are not supported, sign with a long-term access key and no session token",
      { field: SigV4Headers.securityToken },
    );
  }
  if (!PAYLOAD_HASH.test(parts.payloadHash)) {
    throw new IamError("InvalidInput", "payload hash must be 64 lower-case hex digits or UNSIGNED-PAYLOAD", {
      field: "payloadHash",
    });
  }
  const key = await options.lookup(auth.accessKeyId, token);
  if (key === undefined || !key.active) {
    throw new IamError("InvalidClientTokenId", "the access key id in the request is not valid or not active", {
      field: SigV4Headers.authorization,
    });
  }
  const claimedHash = parts.headers[SigV4Headers.contentSha256];
  if (claimedHash !== undefined && claimedHash !== parts.payloadHash) {
    throw new IamError("SignatureDoesNotMatch", "the request body does not match the signed payload hash", {
      field: SigV4Headers.contentSha256,
    });
  }
  const scope = `${auth.scopeDate}/${expectedRegion}/${expectedService}/aws4_request`;
  const signingKey =
    key.signingKey?.(auth.scopeDate) ??
    deriveSigningKey(key.secretAccessKey, auth.scopeDate, expectedRegion, expectedService);
  const toSign = stringToSign(parts, auth.signedHeaders, amzDate, scope, options.uriEscapePath ?? true);
  const expected = createHmac("sha256", signingKey).update(toSign).digest();
  const given = Buffer.from(auth.signature, "hex");
  if (given.length !== expected.length || !timingSafeEqual(expected, given)) {
    throw new IamError(
      "SignatureDoesNotMatch",
      "the request signature does not match; check the secret access key and signing method",
      { field: SigV4Headers.authorization },
    );
  }
  return { accessKeyId: auth.accessKeyId, signedAtMs, ...(token === undefined ? {} : { sessionToken: token }) };
}
