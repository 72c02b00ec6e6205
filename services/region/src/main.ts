// A region process: reads config from the environment and argv (only in config.ts), starts the
// roles asked for (--role applier|decider|all) and shuts down cleanly on SIGINT/SIGTERM.
import { pino } from "pino";
import { loadRegionConfig } from "./config.ts";
import { startRegion } from "./region.ts";

const config = loadRegionConfig(process.env, process.argv.slice(2));
const logger = pino({ level: config.logLevel, base: { service: "region", region: config.region, role: config.role } });
// A lost Redis view is rebuilt by a fresh start (a new view generation, a new consumer group).
const region = await startRegion({ config, logger, onViewLost: () => process.exit(75) });
logger.info({ port: region.decider?.port }, "region started");

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    region.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
