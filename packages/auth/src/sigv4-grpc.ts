import {
  createHash,
  createHmac,
  createSecretKey,
  type Hash,
  type Hmac,
  type KeyObject,
  timingSafeEqual,
} from "node:crypto";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import { SignatureV4 } from "@smithy/signature-v4";

/** Long-term or temporary AWS-style credentials. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** The parts of a gRPC call that are signed. */
export interface GrpcCallToSign {
  /** The method path, e.g. `/gatehouse.v1.ControlService/CreateUser`. */
  readonly method: string;
  /** The `:authority` the client dials, e.g. `iam.example.com:443`. */
  readonly authority: string;
  /** The serialized request message, exactly as sent on the wire. */
  readonly body: Uint8Array;
}

/** Where and as what service a signature is scoped. */
export interface SigningScope {
  /** Default `us-east-1`. */
  readonly region?: string;
  /** Default `iam`. */
  readonly service?: string;
}

/** Metadata keys carrying the signature (lower case, as gRPC requires). */
export const SigV4Metadata = Object.freeze({
  authorization: "authorization",
  date: "x-amz-date",
  contentSha256: "x-amz-content-sha256",
  securityToken: "x-amz-security-token",
} as const);

const SIGNED_HEADERS = new Set(["host", SigV4Metadata.date, SigV4Metadata.contentSha256]);

function sha256Hex(body: Uint8Array): string {
  return createHash("sha256").update(body).digest("hex");
}

function bytes(x: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(x) ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : Buffer.from(x);
}

/** HMAC keys made so far from secrets given as text (access keys' secrets), at most this many. */
const MAX_TEXT_KEYS = 1024;
const textKeys = new Map<string, KeyObject>();
/**
 * HMAC keys made so far from binary secrets, by the secret's identity. The signer derives a
 * signing key per access key and day, keeps the same bytes in its own cache and never changes
 * them, so a key made once serves every call signed or verified with it; it goes when the
 * signer's cache lets the bytes go.
 */
const binaryKeys = new WeakMap<object, KeyObject>();

function hmacKey(secret: string | ArrayBuffer | ArrayBufferView): KeyObject {
  // The caches below only save making a KeyObject again (speed, memory), which no test can see:
  // their mutants are equivalent. A binary secret in the text map works alike (keyed by identity,
  // `Buffer.from(view, "utf8")` copies the same bytes), and an empty encoding name reads UTF-8.
  if (typeof secret === "string") {
    let key = textKeys.get(secret);
    if (key === undefined) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, see above
      if (textKeys.size >= MAX_TEXT_KEYS) textKeys.clear();
      // Stryker disable next-line StringLiteral: equivalent, see above
      key = createSecretKey(Buffer.from(secret, "utf8"));
      // Stryker disable next-line CallExpression: equivalent, see above
      textKeys.set(secret, key);
    }
    return key;
  }
  let key = binaryKeys.get(secret);
  if (key === undefined) {
    key = createSecretKey(bytes(secret));
    // Stryker disable next-line CallExpression: equivalent, see above
    binaryKeys.set(secret, key);
  }
  return key;
}

/**
 * SHA-256 and HMAC-SHA256 for the signer, on Node's native crypto (OpenSSL). HMAC keys are
 * KeyObjects: Node 24's `createHmac` probes a raw key for being a KeyObject and then a CryptoKey by
 * catching two exceptions, which costs ~30 µs per HMAC against ~8 µs this way, and a signature
 * takes two HMACs on each side of every call. Each KeyObject is made once per secret
 * ({@link hmacKey}): making one per HMAC cost more than the HMAC, and left native handles for the
 * garbage collector.
 */
class NodeSha256 {
  readonly #key: KeyObject | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#key = secret === undefined ? undefined : hmacKey(secret);
    this.#hash = this.#fresh();
  }

  #fresh(): Hash | Hmac {
    return this.#key === undefined ? createHash("sha256") : createHmac("sha256", this.#key);
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: equivalent, Hash.update hashes text as UTF-8 and views as their bytes, and bytes() of text is its UTF-8 too
    this.#hash.update(typeof data === "string" ? data : bytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.#hash.digest());
  }

  // Stryker disable next-line BlockStatement: @smithy/signature-v4 never resets a hash (it makes a new one per digest); kept for its Checksum interface
  reset(): void {
    this.#hash = this.#fresh();
  }
}

function signer(credentials: Credentials, scope: SigningScope): SignatureV4 {
  return new SignatureV4({
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
    },
    region: scope.region ?? "us-east-1",
    service: scope.service ?? "iam",
    // Native crypto: the pure-JS default costs several times more CPU on both sides of every call.
    sha256: NodeSha256,
    // Stryker disable next-line BooleanLiteral: equivalent, gRPC method paths (`/package.Service/Method`) hold only unreserved characters, which escaping leaves as they are
    uriEscapePath: false,
    // Stryker disable next-line BooleanLiteral: equivalent, sign() always sets x-amz-content-sha256, and the signer only adds it when absent
    applyChecksum: true,
  });
}

async function sign(
  call: GrpcCallToSign,
  credentials: Credentials,
  scope: SigningScope,
  date: Date,
  payloadHash: string,
) {
  const signed = await signer(credentials, scope).sign(
    {
      method: "POST",
      // Stryker disable next-line StringLiteral: equivalent, the protocol is not part of SigV4's canonical request
      protocol: "https:",
      hostname: call.authority,
      path: call.method,
      query: {},
      headers: { host: call.authority, [SigV4Metadata.contentSha256]: payloadHash },
    },
    { signingDate: date, signableHeaders: SIGNED_HEADERS },
  );
  return signed.headers as Record<string, string>;
}

/**
 * Signs a gRPC call with AWS Signature Version 4 over its canonical form: POST, the method path,
 * `host` = `:authority`, `x-amz-date`, and the SHA-256 of the serialized request. Returns the
 * metadata to send.
 *
 * @example
 * const md = await signGrpcCall({ method, authority: "127.0.0.1:50051", body }, creds);
 * for (const [k, v] of Object.entries(md)) metadata.set(k, v);
 */
export async function signGrpcCall(
  call: GrpcCallToSign,
  credentials: Credentials,
  options: SigningScope & { clock?: Clock } = {},
): Promise<Record<string, string>> {
  const date = new Date((options.clock ?? systemClock).now());
  const headers = await sign(call, credentials, options, date, sha256Hex(call.body));
  // Stryker disable StringLiteral: equivalent, the signer always sets these three headers; the defaults are for strict indexing
  const out: Record<string, string> = {
    [SigV4Metadata.authorization]: headers.authorization ?? "",
    [SigV4Metadata.date]: headers[SigV4Metadata.date] ?? "",
    [SigV4Metadata.contentSha256]: headers[SigV4Metadata.contentSha256] ?? "",
  };
  // Stryker restore StringLiteral
  if (credentials.sessionToken !== undefined) out[SigV4Metadata.securityToken] = credentials.sessionToken;
  return out;
}

/** What a verifier learns about a caller's key from the key id. */
export interface VerificationKey {
  readonly secretAccessKey: string;
  readonly active: boolean;
}

/** Options of {@link verifyGrpcCall}. */
export interface VerifyOptions extends SigningScope {
  /** Looks up the secret of an access key id; `undefined` when the key is unknown. */
  lookup(accessKeyId: string): Promise<VerificationKey | undefined>;
  clock?: Clock;
  /** Allowed clock skew in ms. Default 5 minutes. */
  maxSkewMs?: number;
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function incomplete(message: string, field = "authorization"): IamError {
  return new IamError("IncompleteSignature", message, { field });
}

/**
 * Verifies a SigV4-signed gRPC call and returns the access key id that signed it. Errors are
 * AWS's: `MissingAuthenticationToken` (no signature at all), `IncompleteSignature` (malformed
 * parts), `InvalidClientTokenId` also for any `x-amz-security-token` (no temporary credentials yet), `RequestExpired` (date outside the skew),
 * `InvalidClientTokenId` (unknown or inactive key), `SignatureDoesNotMatch` (wrong secret, other
 * body, other method or host). Messages never contain secrets or the expected signature.
 */
export async function verifyGrpcCall(
  call: GrpcCallToSign,
  metadata: Readonly<Record<string, string | undefined>>,
  options: VerifyOptions,
): Promise<{ accessKeyId: string; signedAtMs: number }> {
  const authorization = metadata[SigV4Metadata.authorization];
  const amzDate = metadata[SigV4Metadata.date];
  const claimedHash = metadata[SigV4Metadata.contentSha256];
  if (authorization === undefined || authorization === "") {
    // AWS's name for a request without credentials; IncompleteSignature is for a malformed one.
    throw new IamError("MissingAuthenticationToken", "the call is not signed: no authorization metadata", {
      field: "authorization",
    });
  }
  const m = AUTH.exec(authorization);
  if (m === null) throw incomplete("authorization is not an AWS4-HMAC-SHA256 signature");
  // Stryker disable next-line StringLiteral: equivalent, AUTH's groups are all mandatory, so the defaults (for strict indexing) never apply
  const [, accessKeyId = "", scopeDate, region, service, signedHeaders = "", signature = ""] = m;
  if (amzDate === undefined) throw incomplete("x-amz-date is missing", SigV4Metadata.date);
  // The payload hash is what ties the signature to the request body: a call without it is not
  // completely signed, whatever its signature says.
  if (claimedHash === undefined || claimedHash === "") {
    throw incomplete("x-amz-content-sha256 is missing", SigV4Metadata.contentSha256);
  }
  const d = AMZ_DATE.exec(amzDate);
  if (d === null) throw incomplete(`x-amz-date ${JSON.stringify(amzDate)} is not YYYYMMDDTHHMMSSZ`, SigV4Metadata.date);
  const signedAtMs = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(d[4]), Number(d[5]), Number(d[6]));
  const now = (options.clock ?? systemClock).now();
  const skew = options.maxSkewMs ?? 5 * 60_000;
  if (Math.abs(now - signedAtMs) > skew) {
    throw new IamError(
      "RequestExpired",
      `the request was signed at ${amzDate}, more than ${skew / 1000} s from the server's time`,
      {
        field: SigV4Metadata.date,
      },
    );
  }
  const headers = new Set(signedHeaders.split(";"));
  for (const h of SIGNED_HEADERS) {
    if (!headers.has(h)) throw incomplete(`SignedHeaders must include ${h}`);
  }
  const expectedRegion = options.region ?? "us-east-1";
  const expectedService = options.service ?? "iam";
  if (scopeDate !== amzDate.slice(0, 8) || region !== expectedRegion || service !== expectedService) {
    throw new IamError(
      "SignatureDoesNotMatch",
      `the credential scope must be <date of x-amz-date>/${expectedRegion}/${expectedService}/aws4_request`,
      { field: "authorization" },
    );
  }
  if (metadata[SigV4Metadata.securityToken] !== undefined) {
    // Only long-term keys exist until STS issues temporary credentials, so any session token is
    // unverifiable; ignoring it would let a caller believe it acts in a session it is not in.
    throw new IamError(
      "InvalidClientTokenId",
      "x-amz-security-token is not accepted: temporary credentials are not supported, sign with a long-term access key and no session token",
      { field: SigV4Metadata.securityToken },
    );
  }
  const key = await options.lookup(accessKeyId);
  if (key === undefined || !key.active) {
    throw new IamError("InvalidClientTokenId", "the access key id in the request is not valid or not active", {
      field: "authorization",
    });
  }
  const actualHash = sha256Hex(call.body);
  if (claimedHash !== actualHash) {
    throw new IamError("SignatureDoesNotMatch", "the request body does not match the signed payload hash", {
      field: SigV4Metadata.contentSha256,
    });
  }
  const expected = await sign(
    call,
    { accessKeyId, secretAccessKey: key.secretAccessKey },
    { region: expectedRegion, service: expectedService },
    new Date(signedAtMs),
    actualHash,
  );
  // Stryker disable next-line OptionalChaining,StringLiteral: equivalent, the signer's authorization always ends in its Signature, so the match never fails
  const expectedSig = /Signature=([0-9a-f]{64})$/.exec(expected.authorization ?? "")?.[1] ?? "";
  // Stryker disable next-line StringLiteral: equivalent, hex digits are the same bytes in any encoding
  const a = Buffer.from(expectedSig, "utf8");
  // Stryker disable next-line StringLiteral: equivalent, AUTH admits only hex digits here
  const b = Buffer.from(signature, "utf8");
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new IamError(
      "SignatureDoesNotMatch",
      "the request signature does not match; check the secret access key and signing method",
      { field: "authorization" },
    );
  }
  return { accessKeyId, signedAtMs };
}
