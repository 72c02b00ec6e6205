import type { Server } from "@grpc/grpc-js";

/**
 * Stops accepting calls and lets in-flight ones finish, force-closing whatever is still open
 * after `graceMs`. Resolves once the server is closed, or at the latest after `graceMs`: with
 * channelz disabled (as Gatehouse runs it) grpc-js's `forceShutdown` does not destroy open
 * connections, so a process bounds its shutdown by exiting ({@link onShutdownSignals}).
 * @example
 * await drainServer(server, 10_000);
 */
export function drainServer(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

/** The logger calls {@link onShutdownSignals} makes (pino's shape). */
export interface ShutdownLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * On the first SIGINT or SIGTERM runs `close` (which marks the process NOT_SERVING, drains, commits
 * and disconnects) and exits 0, or 1 if it failed; a second signal while closing is ignored.
 * If `close` has not finished `graceMs` plus 5 s after the signal, the process exits 1 anyway,
 * ending whatever calls are still open.
 * @example
 * onShutdownSignals({ logger, close: () => controlPlane.close() });
 */
export function onShutdownSignals(options: {
  readonly logger: ShutdownLogger;
  readonly close: () => Promise<void>;
  /** The grace period `close` drains in-flight calls for (ms). */
  readonly graceMs: number;
  readonly exit?: (code: number) => void;
}): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      options.logger.info({ signal }, "shutting down");
      setTimeout(() => {
        options.logger.error({ graceMs: options.graceMs }, "shutdown did not finish within the grace period: exiting");
        exit(1);
      }, options.graceMs + 5000);
      options.close().then(
        () => exit(0),
        (e: unknown) => {
          options.logger.error({ err: e }, "shutdown failed");
          exit(1);
        },
      );
    });
  }
}
