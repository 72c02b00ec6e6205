// A region process: reads config from the environment and argv (only in config.ts), starts
// telemetry (before the region's modules load), starts the roles asked for (--role
// applier|decider|all) and shuts down gracefully on SIGINT/SIGTERM (NOT_SERVING, drain, commit, close).
import { onShutdownSignals } from "@gatehouse/lifecycle";
import { startTelemetry } from "@gatehouse/telemetry";
import { pino } from "pino";
import { loadRegionConfig } from "./config.ts";

const config = loadRegionConfig(process.env, process.argv.slice(2));
const telemetry = await startTelemetry(config.telemetry);
const logger = pino({
  level: config.logLevel,
  base: { service: "region", region: config.region, role: config.role },
  // trace_id / span_id of the active span on every line (only when telemetry is on).
  ...(telemetry.enabled ? { mixin: () => telemetry.logFields() } : {}),
});
if (telemetry.prometheusPort !== undefined)
  logger.info({ port: telemetry.prometheusPort }, "metrics endpoint listening");
const { startRegion } = await import("./region.ts");
// A lost Redis view is rebuilt by a fresh start (a new view generation, a new consumer group).
const region = await startRegion({ config, logger, telemetry, onViewLost: () => process.exit(75) });
logger.info({ port: region.decider?.port, healthPort: region.healthPort }, "region started");

onShutdownSignals({
  logger,
  graceMs: config.shutdownGraceMs,
  close: async () => {
    await region.close();
    await telemetry.shutdown();
  },
});
