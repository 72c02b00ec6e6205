/**
 * Authentication pieces shared by the SDK, the control plane and the regions, with no Postgres or
 * Kafka dependency:
 * - SigV4 for gRPC: sign a call's canonical form (method path, `:authority`, `x-amz-date`, SHA-256
 *   of the serialized request) with `@smithy/signature-v4`, and verify it with a ±5 minute skew
 *   and a constant-time comparison.
 * - The secret box: AES-256-GCM sealing of secrets at rest (access-key secrets, MFA seeds) whose
 *   sealed form names its key id, so keys rotate; the control plane seals, the regions open the
 *   access-key secrets that change events carry.
 */

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
  stsKey,
} from "./session-token.ts";
export { createSigningInterceptor, type SigningInterceptorOptions } from "./signing-interceptor.ts";
export {
  type Credentials,
  type GrpcCallToSign,
  type SigningScope,
  SigV4Metadata,
  signGrpcCall,
  type VerificationKey,
  type VerifyOptions,
  verifyGrpcCall,
} from "./sigv4-grpc.ts";
