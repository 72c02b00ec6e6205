import { addReflection, drainServer, type Health } from "@gatehouse/lifecycle";
import { ControlServiceService, PROTO_DIR, SignInServiceService } from "@gatehouse/proto";
import { Server, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { withRawRequests } from "./grpc-handler.ts";

/** A listening gRPC server. */
export interface RunningServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting calls, lets in-flight calls finish (up to `graceMs`), then force-closes. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Serves ControlService on `host:port` (port 0 picks a free one), with `grpc.health.v1.Health`,
 * server reflection and, when given, the console's SignInService next to it. Plain-text transport: TLS is terminated in front of the
 * service in deployments; SigV4 protects integrity and identity.
 */
export async function serveControlService(
  implementation: UntypedServiceImplementation,
  listen: { host: string; port: number },
  health?: Health,
  signIn?: UntypedServiceImplementation,
): Promise<RunningServer> {
  const server = new Server({
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
    // Channelz (grpc-js's introspection, which nothing here serves) would count and time-stamp
    // every call and message on the hot path.
    "grpc.enable_channelz": 0,
  });
  server.addService(withRawRequests(ControlServiceService), implementation);
  if (signIn !== undefined) server.addService(withRawRequests(SignInServiceService), signIn);
  health?.addToServer(server);
  addReflection(server, {
    protoDir: PROTO_DIR,
    protoFiles: ["gatehouse/v1/control.proto", ...(signIn === undefined ? [] : ["gatehouse/v1/signin.proto"])],
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${listen.host}:${listen.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err === null ? resolve(bound) : reject(err),
    );
  });
  return {
    port,
    close: (graceMs = 5000) => drainServer(server, graceMs),
  };
}
