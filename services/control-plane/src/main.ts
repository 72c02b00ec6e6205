// The control plane process: reads config from the environment (only here), starts telemetry
// (before the service's modules load, so the pg instrumentation patches the driver), composes the
// adapters and shuts down gracefully on SIGINT/SIGTERM (NOT_SERVING, drain, then close).
import { onShutdownSignals } from "@gatehouse/lifecycle";
import { startTelemetry } from "@gatehouse/telemetry";
import { pino } from "pino";
import { loadControlPlaneConfig } from "./config.ts";

const config = loadControlPlaneConfig(process.env);
const telemetry = await startTelemetry(config.telemetry);
const logger = pino({
  level: config.logLevel,
  base: { service: "control-plane" },
  // Secrets never reach the log, even if a future change passes a request or key object to it.
  redact: ["*.secretAccessKey", "*.rootSecretAccessKey", "*.authorization", "*.secretKey"],
  // trace_id / span_id of the active span on every line (only when telemetry is on).
  ...(telemetry.enabled ? { mixin: () => telemetry.logFields() } : {}),
});
if (telemetry.prometheusPort !== undefined)
  logger.info({ port: telemetry.prometheusPort }, "metrics endpoint listening");
const { startControlPlane } = await import("./control-plane.ts");
const controlPlane = await startControlPlane({ config, logger, telemetry });
onShutdownSignals({
  logger,
  graceMs: config.shutdownGraceMs,
  close: async () => {
    await controlPlane.close();
    await telemetry.shutdown();
  },
});
