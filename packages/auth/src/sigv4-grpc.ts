import { createHash, createHmac, createSecretKey, type Hash, type Hmac, type KeyObject } from "node:crypto";
import { type Clock, IamError, systemClock } from "@gatehouse/core";
import { SignatureV4 } from "@smithy/signature-v4";
import { parseAuthorization, SigV4Headers, type VerificationKey, verifySignedRequest } from "./sigv4-request.ts";

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
export const SigV4Metadata = SigV4Headers;

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

/** Options of {@link verifyGrpcCall}. */
export interface VerifyOptions extends SigningScope {
  /**
   * Looks up the secret of an access key id (with the call's session token, when it carried one
   * and `acceptSessionTokens` is set); `undefined` when the key is unknown.
   */
  lookup(accessKeyId: string, sessionToken?: string): Promise<VerificationKey | undefined>;
  /** Whether calls signed with temporary credentials may verify. Default false (InvalidClientTokenId). */
  acceptSessionTokens?: boolean;
  clock?: Clock;
  /** Allowed clock skew in ms. Default 5 minutes. */
  maxSkewMs?: number;
}

/**
 * Verifies a SigV4-signed gRPC call and returns the access key id that signed it: the call's
 * canonical form (POST, the method path, `host` = `:authority`, the SHA-256 of the body) checked
 * by {@link verifySignedRequest}, which also names the errors. A session token is part of the
 * canonical request when present; calls carrying one fail with InvalidClientTokenId unless
 * `acceptSessionTokens` is set.
 */
export async function verifyGrpcCall(
  call: GrpcCallToSign,
  metadata: Readonly<Record<string, string | undefined>>,
  options: VerifyOptions,
): Promise<{ accessKeyId: string; signedAtMs: number; sessionToken?: string }> {
  const authorization = metadata[SigV4Metadata.authorization];
  parseAuthorization(authorization);
  const amzDate = metadata[SigV4Metadata.date];
  const claimedHash = metadata[SigV4Metadata.contentSha256];
  if (amzDate === undefined)
    throw new IamError("IncompleteSignature", "x-amz-date is missing", { field: SigV4Metadata.date });
  // The payload hash is what ties the signature to the request body: a call without it is not
  // completely signed, whatever its signature says.
  if (claimedHash === undefined || claimedHash === "") {
    throw new IamError("IncompleteSignature", "x-amz-content-sha256 is missing", {
      field: SigV4Metadata.contentSha256,
    });
  }
  const token = metadata[SigV4Metadata.securityToken];
  return verifySignedRequest(
    {
      method: "POST",
      path: call.method,
      query: "",
      headers: {
        host: call.authority,
        [SigV4Metadata.date]: amzDate,
        [SigV4Metadata.contentSha256]: claimedHash,
        ...(token === undefined ? {} : { [SigV4Metadata.securityToken]: token }),
      },
      payloadHash: sha256Hex(call.body),
    },
    authorization,
    {
      lookup: (id, sessionToken) => options.lookup(id, sessionToken),
      requiredSignedHeaders: [SigV4Metadata.contentSha256],
      // gRPC method paths hold only unreserved characters; the signer leaves them as they are.
      uriEscapePath: false,
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.service === undefined ? {} : { service: options.service }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
      ...(options.acceptSessionTokens === undefined ? {} : { acceptSessionTokens: options.acceptSessionTokens }),
    },
  );
}

/**
 * Signs a request given by its parts (as an AWS SDK does, with `@smithy/signature-v4`): for
 * callers of a region's Authenticate and for tests. Returns the headers to add (`authorization`,
 * `x-amz-date`, and `x-amz-security-token` with temporary credentials, which the signature covers).
 *
 * @example
 * const added = await signRequest({ method: "GET", path: "/", query: "Action=ListUsers", headers: { host }, body }, creds, { region: "eu-west-1", service: "iam" });
 */
export async function signRequest(
  request: {
    method: string;
    path: string;
    query?: Readonly<Record<string, string>>;
    headers: Readonly<Record<string, string>>;
    body: Uint8Array | string;
  },
  credentials: Credentials,
  options: SigningScope & { clock?: Clock } = {},
): Promise<Record<string, string>> {
  const s = new SignatureV4({
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
    },
    region: options.region ?? "us-east-1",
    service: options.service ?? "iam",
    sha256: NodeSha256,
  });
  const host = request.headers.host ?? "";
  const signed = await s.sign(
    {
      method: request.method,
      protocol: "https:",
      hostname: host,
      path: request.path,
      query: { ...(request.query ?? {}) },
      headers: { ...request.headers },
      body: request.body,
    },
    { signingDate: new Date((options.clock ?? systemClock).now()) },
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers as Record<string, string>)) {
    if (request.headers[k] === undefined) out[k] = v;
  }
  return out;
}
