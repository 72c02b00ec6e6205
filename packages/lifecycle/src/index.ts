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
export { addReflection, type ReflectionOptions } from "./reflection.ts";
export { drainServer, onShutdownSignals, type ShutdownLogger } from "./shutdown.ts";
