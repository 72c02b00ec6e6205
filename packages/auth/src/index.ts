/**
 * Authentication pieces shared by the SDK, the control plane and the regions, with no Postgres or
 * Kafka dependency:
 * - SigV4 verification of a request from its parts ({@link verifySignedRequest}): what a region's
 *   Authenticate does for a calling service's request, and what {@link verifyGrpcCall} does for a
 *   gRPC call's metadata (the control plane); a session token is part of the canonical request.
 * - SigV4 signing of gRPC calls and of requests given by parts (`@smithy/signature-v4`).
 * - A failure limiter (token buckets of failed authentications per key id, per source).
 * - The secret box: AES-256-GCM sealing of secrets at rest (access-key secrets, MFA seeds) whose
 *   sealed form names its key id, so keys rotate; the control plane seals, the regions open the
 *   access-key secrets that change events carry.
 */

export { createFailureLimiter, type FailureLimiter } from "./failure-limiter.ts";
export { createSecretBox, type SecretBox, secretKeyId } from "./secret-box.ts";
export {
  createSessionTokenCodec,
  MAX_SESSION_TOKEN_LENGTH,
  newStsKey,
  SESSION_TOKEN_VERSION,
  type SessionClaims,
  type SessionClaimsInput,
  SessionClaimsSchema,
  type SessionPrincipal,
  type SessionTokenCodec,
  type SessionTokenCodecOptions,
  type StsKey,
  sessionArn,
  sessionUserId,
  sourceIdentityContext,
  stsKey,
  webIdentityContext,
} from "./session-token.ts";
export { createSigningInterceptor, type SigningInterceptorOptions } from "./signing-interceptor.ts";
export {
  type Credentials,
  type GrpcCallToSign,
  type SigningScope,
  SigV4Metadata,
  signGrpcCall,
  signRequest,
  type VerifyOptions,
  verifyGrpcCall,
} from "./sigv4-grpc.ts";
export {
  claimedAccessKeyId,
  deriveSigningKey,
  type ParsedAuthorization,
  parseAuthorization,
  type SignedRequestParts,
  SigV4Headers,
  stringToSign,
  type VerificationKey,
  type VerifiedRequest,
  type VerifyRequestOptions,
  verifySignedRequest,
} from "./sigv4-request.ts";
