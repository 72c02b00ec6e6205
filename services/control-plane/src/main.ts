// The control plane process: reads config from the environment (only here), composes the
// adapters and shuts down cleanly on SIGINT/SIGTERM.
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

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    controlPlane.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
