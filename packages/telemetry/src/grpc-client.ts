import { InterceptingCall, type Interceptor, type InterceptorOptions, type Metadata } from "@grpc/grpc-js";
import type { Telemetry } from "./telemetry.ts";
import { TRACEPARENT_HEADER } from "./trace-headers.ts";

/**
 * A grpc-js client interceptor: each call runs in a CLIENT span, child of the caller's active
 * context, whose `traceparent` is sent in the call's metadata (the server's `serverSpan` continues
 * it). Put it before a signing interceptor only if the signature does not cover metadata it adds
 * (SigV4 here signs the request bytes and its own headers, not `traceparent`).
 *
 * @example
 * new ControlServiceClient(address, insecure, { interceptors: [grpcClientSpans(telemetry), signing] });
 */
export function grpcClientSpans(telemetry: Telemetry): Interceptor {
  return (options: InterceptorOptions, nextCall) => {
    const method = String(options.method_definition.path).replace(/^\//, "");
    const slash = method.lastIndexOf("/");
    const span = telemetry.startSpan(method, {
      kind: "client",
      parent: telemetry.traceparent(),
      attributes: {
        "rpc.system": "grpc",
        "rpc.service": method.slice(0, slash),
        "rpc.method": method.slice(slash + 1),
      },
    });
    return new InterceptingCall(nextCall(options), {
      start(metadata: Metadata, _listener, next) {
        const traceparent = span.traceparent;
        if (traceparent !== undefined) metadata.set(TRACEPARENT_HEADER, traceparent);
        // A partial listener: grpc-js passes what it does not name through unchanged.
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            span.end(status.code === 0 ? undefined : { name: `grpc status ${status.code}` });
            nextStatus(status);
          },
        });
      },
    });
  };
}
