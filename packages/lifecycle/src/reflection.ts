import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Server } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";

/** The health proto shipped with grpc-health-check, so reflection describes the Health service too. */
const HEALTH_PROTO_DIR = join(
  dirname(createRequire(import.meta.url).resolve("grpc-health-check/package.json")),
  "proto",
);

/** Options of {@link addReflection}. */
export interface ReflectionOptions {
  /** Proto files (relative to `protoDir`) whose services the server serves, e.g. `gatehouse/v1/control.proto`. */
  readonly protoFiles: readonly string[];
  /** The directory the proto files and their imports are found under. */
  readonly protoDir: string;
}

/**
 * Adds gRPC server reflection (`grpc.reflection.v1` and `v1alpha`, @grpc/reflection) describing
 * the given proto files and `grpc.health.v1.Health`, so `grpcurl list` and similar tools work
 * without a copy of the protos.
 * @example
 * addReflection(server, { protoDir, protoFiles: ["gatehouse/v1/control.proto"] });
 */
export function addReflection(server: Server, options: ReflectionOptions): void {
  const definition = loadSync([...options.protoFiles, "health/v1/health.proto"], {
    includeDirs: [options.protoDir, HEALTH_PROTO_DIR],
  });
  new ReflectionService(definition).addToServer(server);
}
