import { parseAuthorization } from "@gatehouse/auth";
import type { AuthenticateRequest, AuthenticateResponse } from "@gatehouse/proto";

/**
 * A SigV4-signed request as the calling service received it. The region rebuilds the canonical
 * request from these parts and checks the signature itself; the service hashes the body it
 * received (never a hash the client claims).
 */
export interface SignedRequestInput {
  /** `GET`, `POST`, … */
  readonly method: string;
  /** The path as sent, percent-encoded as sent (`/a/b%20c`), without the query. */
  readonly path: string;
  /** The raw query string as sent, without `?` (default none). */
  readonly query?: string;
  /** The request's headers by lower-case name (Node's `request.headers`); the signed ones are sent. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Lower-case hex SHA-256 of the body received, or `UNSIGNED-PAYLOAD` where the service allows it. */
  readonly payloadSha256: string;
  /** The signing name the credential scope must name (the calling service's, e.g. `queues`). */
  readonly service: string;
  /** Where the request came from (the client's IP): failed authentications are throttled per source. */
  readonly source?: string;
  /** S3's path rule (the path taken as it is) instead of every other service's. */
  readonly pathSingleEncoded?: boolean;
}

/** Who signed a request, as the region established it. */
export interface AuthenticatedPrincipal {
  /** `arn:aws:iam::ACCOUNT:user/NAME`, `…:root`, or `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
  readonly arn: string;
  readonly accountId: string;
  /** `AIDA…` for a user, the account id for the root, `ROLEID:SESSION` for a session. */
  readonly userId: string;
  readonly principalType: "user" | "root" | "assumed-role";
  readonly tags: Readonly<Record<string, string>>;
  /** Whether the credentials were issued after an MFA check. */
  readonly mfaPresent: boolean;
  readonly accessKeyId: string;
  /** The user's name (absent for the root and sessions). */
  readonly userName?: string;
  /** When the request was signed (epoch ms). */
  readonly signedAtMs: number;
}

function headerValue(v: string | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : v.join(",");
}

/**
 * The region whose credential scope signed the request (`Credential=AKIA…/20261205/eu-west-1/…`):
 * the region that must verify it. Undefined when the header is missing or malformed (the
 * configured region then says what is wrong with it).
 */
export function signingRegionOf(authorization: string | undefined): string | undefined {
  try {
    return parseAuthorization(authorization).region;
  } catch {
    return undefined;
  }
}

/** The Authenticate request for a received request: its parts and every header it signed. */
export function toAuthenticateRequest(input: SignedRequestInput): AuthenticateRequest {
  const authorization = headerValue(input.headers.authorization) ?? "";
  let signed: readonly string[] = [];
  try {
    signed = parseAuthorization(authorization).signedHeaders;
  } catch {
    // Malformed or missing: the region names the problem (IncompleteSignature, MissingAuthenticationToken).
  }
  const signedHeaders: Record<string, string> = {};
  for (const name of signed) {
    const v = headerValue(input.headers[name]);
    if (v !== undefined) signedHeaders[name] = v;
  }
  const amzDate = headerValue(input.headers["x-amz-date"]);
  const token = headerValue(input.headers["x-amz-security-token"]);
  return {
    authorization,
    // Given once: in signed_headers when signed, else here (the region refuses both differing).
    amzDate: signedHeaders["x-amz-date"] === undefined ? (amzDate ?? "") : "",
    securityToken: signedHeaders["x-amz-security-token"] === undefined ? (token ?? "") : "",
    method: input.method,
    path: input.path,
    host: signedHeaders.host === undefined ? (headerValue(input.headers.host) ?? "") : "",
    payloadSha256: input.payloadSha256,
    query: input.query ?? "",
    signedHeaders,
    service: input.service,
    source: input.source ?? "",
    pathSingleEncoded: input.pathSingleEncoded ?? false,
  };
}

/** The SDK's shape of an AuthenticateResponse. */
export function toPrincipal(r: AuthenticateResponse): AuthenticatedPrincipal {
  return {
    arn: r.arn,
    accountId: r.accountId,
    userId: r.userId,
    principalType: r.principalType as AuthenticatedPrincipal["principalType"],
    tags: Object.fromEntries(r.tags.map((t) => [t.key, t.value])),
    mfaPresent: r.mfaPresent,
    accessKeyId: r.accessKeyId,
    ...(r.userName === "" ? {} : { userName: r.userName }),
    signedAtMs: r.signedAtMs,
  };
}
