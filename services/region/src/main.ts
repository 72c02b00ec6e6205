// A region process: reads config from the environment and argv (only in config.ts), starts the
// roles asked for (--role applier|decider|all) and shuts down gracefully on SIGINT/SIGTERM (NOT_SERVING, drain, commit, close).
import { onShutdownSignals } from "@gatehouse/lifecycle";
import { pino } from "pino";
import { loadRegionConfig } from "./config.ts";
import { startRegion } from "./region.ts";

const config = loadRegionConfig(process.env, process.argv.slice(2));
const logger = pino({ level: config.logLevel, base: { service: "region", region: config.region, role: config.role } });
// A lost Redis view is rebuilt by a fresh start (a new view generation, a new consumer group).
const region = await startRegion({ config, logger, onViewLost: () => process.exit(75) });
logger.info({ port: region.decider?.port, healthPort: region.healthPort }, "region started");

onShutdownSignals({ logger, graceMs: config.shutdownGraceMs, close: () => region.close() });
