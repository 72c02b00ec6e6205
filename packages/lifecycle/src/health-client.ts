import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Client, credentials, loadPackageDefinition, Metadata, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const require = createRequire(import.meta.url);
const HEALTH_DIR = join(dirname(require.resolve("grpc-health-check/package.json")), "proto");
const REFLECTION_DIR = join(dirname(require.resolve("@grpc/reflection/package.json")), "build", "proto");

/** A status a health check answers (`SERVICE_UNKNOWN` only from Watch, for a name never set). */
export type HealthStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

/** A client of `grpc.health.v1.Health` and of server reflection's service list, for probes and tests. */
export interface HealthClient {
  /** `Check`: the status of `service` (`""` is liveness); rejects NOT_FOUND for an unknown name. */
  check(service: string, deadlineMs?: number): Promise<HealthStatus>;
  /** `Watch`: calls `onStatus` with each status sent; `onEnd` when the server ends the stream. Returns a cancel. */
  watch(service: string, onStatus: (status: HealthStatus) => void, onEnd?: (error?: ServiceError) => void): () => void;
  /** The fully qualified services server reflection lists. */
  listServices(deadlineMs?: number): Promise<string[]>;
  close(): void;
}

type Unary = (
  req: object,
  md: Metadata,
  opts: object,
  cb: (e: ServiceError | null, r: { status: HealthStatus }) => void,
) => void;
interface Stream {
  on(event: "data", f: (d: { status: HealthStatus }) => void): Stream;
  on(event: "error", f: (e: ServiceError) => void): Stream;
  on(event: "end", f: () => void): Stream;
  cancel(): void;
}
interface Duplex {
  on(event: "data", f: (d: { listServicesResponse?: { service: { name: string }[] } }) => void): Duplex;
  on(event: "error", f: (e: ServiceError) => void): Duplex;
  write(m: object): void;
  end(): void;
}

/**
 * Connects to a server's health and reflection services (plain text, as Gatehouse serves them).
 * @example
 * const health = createHealthClient("127.0.0.1:50051");
 * await health.check(""); // "SERVING"
 */
export function createHealthClient(address: string): HealthClient {
  const pkg = loadPackageDefinition(
    loadSync(["health/v1/health.proto", "grpc/reflection/v1/reflection.proto"], {
      includeDirs: [HEALTH_DIR, REFLECTION_DIR],
      enums: String,
    }),
  ) as unknown as {
    grpc: {
      health: { v1: { Health: new (a: string, c: unknown) => Client } };
      reflection: { v1: { ServerReflection: new (a: string, c: unknown) => Client } };
    };
  };
  const creds = credentials.createInsecure();
  const health = new pkg.grpc.health.v1.Health(address, creds) as Client & {
    check: Unary;
    watch: (r: object) => Stream;
  };
  const reflection = new pkg.grpc.reflection.v1.ServerReflection(address, creds) as Client & {
    serverReflectionInfo: (md: Metadata, opts: object) => Duplex;
  };
  return {
    check: (service, deadlineMs = 5000) =>
      new Promise((resolve, reject) =>
        health.check({ service }, new Metadata(), { deadline: Date.now() + deadlineMs }, (e, r) =>
          e === null ? resolve(r.status) : reject(e),
        ),
      ),
    watch(service, onStatus, onEnd) {
      const stream = health.watch({ service });
      let ended = false;
      const end = (e?: ServiceError) => {
        if (ended) return;
        ended = true;
        onEnd?.(e);
      };
      stream.on("data", (d) => onStatus(d.status));
      stream.on("error", (e) => end(e));
      stream.on("end", () => end());
      return () => stream.cancel();
    },
    listServices: (deadlineMs = 5000) =>
      new Promise((resolve, reject) => {
        const call = reflection.serverReflectionInfo(new Metadata(), { deadline: Date.now() + deadlineMs });
        call.on("data", (d) => {
          resolve((d.listServicesResponse?.service ?? []).map((s) => s.name));
          call.end();
        });
        call.on("error", reject);
        call.write({ listServices: "" });
      }),
    close() {
      health.close();
      reflection.close();
    },
  };
}
