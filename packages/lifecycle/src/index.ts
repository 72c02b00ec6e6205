/**
 * Health, reflection and shutdown shared by every Gatehouse gRPC process: the standard
 * `grpc.health.v1.Health` service with readiness probes, server reflection, draining a server
 * within a grace period, and SIGINT/SIGTERM handling.
 */
export {
  createHealth,
  type Health,
  type HealthLogger,
  type HealthOptions,
  LIVENESS,
  type ProbeResult,
  type ReadinessProbe,
} from "./health.ts";
export { createHealthClient, type HealthClient, type HealthStatus } from "./health-client.ts";
export {
  type Http2StreamRetention,
  http2StreamRetention,
  limitHttp2StreamRetention,
  RENEW_EVERY_STREAMS,
} from "./http2-stream-retention.ts";
export { addReflection, type ReflectionOptions } from "./reflection.ts";
export { drainServer, onShutdownSignals, type ShutdownLogger } from "./shutdown.ts";
