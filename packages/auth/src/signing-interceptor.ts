import type { Clock } from "@gatehouse/core";
import { InterceptingCall, type InterceptingListener, type Interceptor, type Metadata } from "@grpc/grpc-js";
import { type Credentials, signGrpcCall } from "./sigv4-grpc.ts";

/** Options of {@link createSigningInterceptor}. */
export interface SigningInterceptorOptions {
  /** The credentials to sign with, or a function returning the current ones (rotation). */
  credentials: Credentials | (() => Credentials);
  /** The `:authority` the channel uses (by default the `host:port` dialed). */
  authority: string;
  region?: string;
  service?: string;
  clock?: Clock;
}

/**
 * A grpc-js client interceptor that SigV4-signs every unary call: it holds back the call's start
 * until the message is known, serializes it with the method's own serializer, signs the bytes and
 * adds the signature metadata.
 *
 * @example
 * const client = new ControlServiceClient(address, grpc.credentials.createInsecure(), {
 *   interceptors: [createSigningInterceptor({ credentials, authority: address })],
 * });
 */
export function createSigningInterceptor(options: SigningInterceptorOptions): Interceptor {
  return (callOptions, nextCall) => {
    let metadata: Metadata | undefined;
    let listener: InterceptingListener | undefined;
    let startNext: ((md: Metadata, l: InterceptingListener) => void) | undefined;
    return new InterceptingCall(nextCall(callOptions), {
      start(md, l, next) {
        metadata = md;
        listener = l;
        startNext = next;
      },
      sendMessage(message, next) {
        const def = callOptions.method_definition;
        const body = def.requestSerialize(message);
        const credentials = typeof options.credentials === "function" ? options.credentials() : options.credentials;
        signGrpcCall({ method: def.path, authority: options.authority, body }, credentials, {
          ...(options.region === undefined ? {} : { region: options.region }),
          ...(options.service === undefined ? {} : { service: options.service }),
          ...(options.clock === undefined ? {} : { clock: options.clock }),
        }).then(
          (headers) => {
            const md = metadata as Metadata;
            for (const [k, v] of Object.entries(headers)) md.set(k, v);
            // Stryker disable next-line OptionalChaining: equivalent, gRPC calls start() before sendMessage(), so startNext is set
            startNext?.(md, listener as InterceptingListener);
            next(message);
          },
          (e: unknown) => {
            // Start anyway without a signature: the server answers MissingAuthenticationToken.
            // Stryker disable next-line OptionalChaining: equivalent, gRPC calls start() before sendMessage(), so startNext is set
            startNext?.(metadata as Metadata, listener as InterceptingListener);
            next(message);
            void e;
          },
        );
      },
    });
  };
}
