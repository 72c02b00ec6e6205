import { type Credentials, createSigningInterceptor } from "@gatehouse/auth";
import { AuthorizerServiceClient, ControlServiceClient, ErrorDetail } from "@gatehouse/proto";
import {
  type CallOptions,
  type ClientUnaryCall,
  credentials as grpcCredentials,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";

/** The trailer both services put their {@link ErrorDetail} in. */
const ERROR_DETAIL_TRAILER = "gatehouse-error-bin";

/** A grpc-js unary method in its (request, metadata, options, callback) form. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * Calls a unary method with a deadline and returns its response.
 * @example
 * const users = await rpc(client.listUsers.bind(client), ListUsersRequest.fromPartial({}));
 */
export function rpc<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) =>
      error === null ? resolve(response) : reject(error),
    );
  });
}

/** The AWS-style error name of a failed call (`NoSuchEntity`, …), or undefined. */
export function awsNameOf(e: unknown): string | undefined {
  const raw = (e as ServiceError | undefined)?.metadata?.get?.(ERROR_DETAIL_TRAILER)[0];
  return raw instanceof Buffer ? ErrorDetail.decode(raw).awsName : undefined;
}

/** A ControlService client signing each call with `credentials` (SigV4, scope `region`). */
export function controlClient(address: string, credentials: Credentials, region: string): ControlServiceClient {
  return new ControlServiceClient(address, grpcCredentials.createInsecure(), {
    interceptors: [createSigningInterceptor({ credentials, authority: address, region })],
  });
}

/** An AuthorizerService client of one decider. */
export function authorizerClient(address: string): AuthorizerServiceClient {
  return new AuthorizerServiceClient(address, grpcCredentials.createInsecure());
}
