// The console gateway process: reads its config from the environment (only in config.ts), serves
// until SIGINT/SIGTERM, then stops taking requests and ends every session.
import { onShutdownSignals } from "@gatehouse/lifecycle";
import { pino } from "pino";
import { loadConsoleConfig } from "./config.ts";
import { startConsoleGateway } from "./gateway.ts";

const config = loadConsoleConfig(process.env);
const logger = pino({ level: config.logLevel, base: { service: "console" } });
const gateway = await startConsoleGateway({ config, logger });
logger.info(
  {
    url: gateway.url,
    port: gateway.port,
    controlPlane: config.controlPlane,
    // The kind only: a Redis URL may carry a password.
    sessionStore: config.sessionStore.kind,
    trustedProxies: config.trustedProxies,
  },
  "console gateway listening",
);

onShutdownSignals({ logger, graceMs: 5000, close: () => gateway.close() });
