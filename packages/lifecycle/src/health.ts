import type { Server, ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";

/** The status name a health check gives for the whole process (liveness): `""`, as the gRPC spec says. */
export const LIVENESS = "";

/** What a readiness probe found: ready, or not with the reason (logged once per change). */
export type ProbeResult = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** A dependency check run every `intervalMs`; a throw counts as not ready with the error's message. */
export type ReadinessProbe = () => Promise<ProbeResult>;

/** The logger calls the health service makes (pino's shape). */
export interface HealthLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Options of {@link createHealth}. */
export interface HealthOptions {
  /**
   * The readiness names this process reports (e.g. `gatehouse.v1.ControlService`): each is
   * NOT_SERVING until its probe first says ready. `""` (liveness) is SERVING from the start.
   */
  readonly readiness: Readonly<Record<string, ReadinessProbe>>;
  /** How often the probes run (ms). */
  readonly intervalMs: number;
  readonly logger: HealthLogger;
}

/**
 * The standard `grpc.health.v1.Health` service (grpc-health-check) with probes behind each
 * readiness name, and a shutdown that reports NOT_SERVING and ends open Watch streams (a server
 * draining in-flight calls would otherwise wait for them until its grace period ends).
 */
export interface Health {
  /** Adds `grpc.health.v1.Health` to a server (before it binds). */
  addToServer(server: Server): void;
  /** Starts running the probes (the first run is immediate). */
  start(): void;
  /** The status last set for `name` (`""` is liveness). */
  status(name: string): ServingStatus | undefined;
  /**
   * Marks every name, liveness included, NOT_SERVING, stops the probes and ends Watch streams
   * after they have been sent NOT_SERVING. Idempotent.
   */
  shutdown(): void;
}

/**
 * Creates the health service of a process.
 * @example
 * const health = createHealth({ readiness: { "gatehouse.v1.ControlService": pgReady }, intervalMs: 1000, logger });
 * health.addToServer(server);
 * health.start();
 */
export function createHealth(options: HealthOptions): Health {
  const names = Object.keys(options.readiness);
  const impl = new HealthImplementation({
    [LIVENESS]: "SERVING",
    ...Object.fromEntries(names.map((n) => [n, "NOT_SERVING" as const])),
  });
  const statuses = new Map<string, ServingStatus>([
    [LIVENESS, "SERVING"],
    ...names.map((n) => [n, "NOT_SERVING"] as const),
  ]);
  const watches = new Set<ServerWritableStream<unknown, unknown>>();
  const reasons = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let stopped = false;

  const set = (name: string, status: ServingStatus) => {
    if (statuses.get(name) === status) return;
    statuses.set(name, status);
    impl.setStatus(name, status);
  };

  const probeAll = async () => {
    await Promise.all(
      names.map(async (name) => {
        const probe = options.readiness[name] as ReadinessProbe;
        const found = await probe().catch(
          (e: unknown): ProbeResult => ({ ready: false, reason: e instanceof Error ? e.message : String(e) }),
        );
        if (stopped) return;
        const before = statuses.get(name);
        set(name, found.ready ? "SERVING" : "NOT_SERVING");
        const reason = found.ready ? "" : found.reason;
        if (before !== statuses.get(name) || reasons.get(name) !== reason) {
          if (found.ready) options.logger.info({ service: name }, "ready");
          else options.logger.warn({ service: name, reason }, "not ready");
          reasons.set(name, reason);
        }
      }),
    );
  };

  const tick = () => {
    if (running || stopped) return;
    running = true;
    probeAll().finally(() => {
      running = false;
    });
  };

  return {
    addToServer(server) {
      // grpc-health-check adds its handlers through `addService`: wrap Watch to keep the open
      // streams, so shutdown can end them.
      impl.addToServer({
        addService(service, implementation: UntypedServiceImplementation) {
          const watch = implementation.watch as (call: ServerWritableStream<unknown, unknown>) => void;
          server.addService(service, {
            ...implementation,
            watch(call: ServerWritableStream<unknown, unknown>) {
              if (stopped) {
                call.write({ status: "NOT_SERVING" });
                call.end();
                return;
              }
              watches.add(call);
              call.on("cancelled", () => watches.delete(call));
              call.on("finish", () => watches.delete(call));
              watch(call);
            },
          });
        },
      } as Server);
    },
    start() {
      if (timer !== undefined || stopped) return;
      tick();
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
    },
    status: (name) => statuses.get(name),
    shutdown() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      for (const name of statuses.keys()) set(name, "NOT_SERVING");
      for (const call of watches) call.end();
      watches.clear();
    },
  };
}
