/**
 * SigV4 for gRPC, shared by the SDK and the services: sign a call's canonical form (method path,
 * `:authority`, `x-amz-date`, SHA-256 of the serialized request) with `@smithy/signature-v4`, and
 * verify it with a ±5 minute skew and a constant-time comparison.
 */

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
