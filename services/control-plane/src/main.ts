// The control plane process: reads config from the environment (only here), composes the
// adapters and shuts down gracefully on SIGINT/SIGTERM (NOT_SERVING, drain, then close).
import { onShutdownSignals } from "@gatehouse/lifecycle";
import { pino } from "pino";
import { loadControlPlaneConfig } from "./config.ts";
import { startControlPlane } from "./control-plane.ts";

const config = loadControlPlaneConfig(process.env);
const logger = pino({
  level: config.logLevel,
  base: { service: "control-plane" },
  // Secrets never reach the log, even if a future change passes a request or key object to it.
  redact: ["*.secretAccessKey", "*.rootSecretAccessKey", "*.authorization", "*.secretKey"],
});
const controlPlane = await startControlPlane({ config, logger });
onShutdownSignals({ logger, graceMs: config.shutdownGraceMs, close: () => controlPlane.close() });
