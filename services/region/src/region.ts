import { createRegionAuditPublisher, type RegionAuditPublisher } from "@gatehouse/bus-kafka";
import { addReflection, createHealth, drainServer, type Health, type ReadinessProbe } from "@gatehouse/lifecycle";
import { PROTO_DIR } from "@gatehouse/proto";
import { METRIC_NAMES, TELEMETRY_DISABLED, type Telemetry } from "@gatehouse/telemetry";
import { createRegionView, type RegionView } from "@gatehouse/view-redis";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import type { Logger } from "pino";
import { type Applier, startApplier } from "./applier.ts";
import { type ApplierLease, acquireApplierLease } from "./applier-lease.ts";
import type { RegionConfig } from "./config.ts";
import { type AccountSource, createControlPlaneSource } from "./control-plane-source.ts";
import { type DeciderServer, startDeciderServer } from "./decider-server.ts";
import { APPLIER_READINESS, createCatchUpProbe, createRedisProbe, DECIDER_READINESS } from "./readiness.ts";
import { createRegionAuditSink, type RegionAuditSink } from "./region-audit-sink.ts";
import type { SessionCredentialResolver } from "./session-credentials.ts";

/** A running region process (applier, decider or both). */
export interface Region {
  readonly view: RegionView;
  /** The applier while this process is the region's active one; undefined while it stands by. */
  readonly applier?: Applier;
  /** The applier lease this process holds (owner and fencing token), if it is the active applier. */
  readonly lease?: { readonly owner: string; readonly token: string };
  readonly decider?: DeciderServer;
  /** The decider's audit records on their way to the regional audit topic (absent when off). */
  readonly audit?: RegionAuditSink;
  /** The health service: liveness `""` and {@link DECIDER_READINESS} or {@link APPLIER_READINESS}. */
  readonly health: Health;
  /** The port an applier-only process serves health on (`GATEHOUSE_REGION_HEALTH_LISTEN`). */
  readonly healthPort?: number;
  /**
   * Reports NOT_SERVING, drains the decider's in-flight calls (up to the configured grace period),
   * stops the applier (its last batch applied and its offsets committed), then closes Redis.
   */
  close(): Promise<void>;
}

/**
 * Starts the roles `config.role` names over one Redis client each. An applier runs only while
 * this process holds the region's applier lease: if another process holds it, this one stands by
 * (and `startRegion` returns at once); it takes over when that lease expires, and steps back to
 * standby if it loses the lease (its writes are fenced from then on).
 */
export async function startRegion(options: {
  config: RegionConfig;
  logger: Logger;
  /** The Redis view was lost under the applier, which stopped: the process should restart. */
  onViewLost?: () => void;
  /** Temporary credentials for Authenticate (the STS side); none: `ASIA…` keys are refused. */
  sessions?: SessionCredentialResolver;
  /** The process's telemetry (`startTelemetry(config.telemetry)`); default off. */
  telemetry?: Telemetry;
}): Promise<Region> {
  const { config, logger } = options;
  const telemetry = options.telemetry ?? TELEMETRY_DISABLED;
  // ioredis reconnects by itself; an outage is logged, not thrown at the event loop.
  const onRedisError = (e: unknown) => logger.warn({ err: e }, "region Redis connection error");
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }).on("error", onRedisError);
  const view = createRegionView({ redis, keyPrefix: config.keyPrefix });
  const closers: (() => Promise<unknown>)[] = [() => redis.quit()];
  const readiness: Record<string, ReadinessProbe> =
    config.role === "applier"
      ? { [APPLIER_READINESS]: createRedisProbe(redis) }
      : { [DECIDER_READINESS]: createCatchUpProbe(view) };
  const health = createHealth({
    readiness,
    intervalMs: config.healthIntervalMs,
    logger: logger.child({ part: "health" }),
  });
  let healthPort: number | undefined;
  let applier: Applier | undefined;
  let lease: ApplierLease | undefined;
  let decider: DeciderServer | undefined;
  let audit: RegionAuditSink | undefined;
  try {
    // The decider (and health) first: liveness answers while the applier still connects to Kafka.
    if (config.role !== "applier") {
      if (config.audit !== undefined) {
        // Issuance never waits for Kafka: the sink buffers, its loop sends (and connects) later.
        const publisher: RegionAuditPublisher = createRegionAuditPublisher({
          brokers: [...config.kafka.brokers],
          clientId: `gatehouse-region-${config.region}-audit`,
          topic: config.audit.topic,
        });
        const sink = createRegionAuditSink({
          region: config.region,
          publish: (records) => publisher.publish(records),
          logger: logger.child({ part: "audit" }),
          maxBuffered: config.audit.maxBuffered,
          flushMs: config.audit.flushMs,
          keyUseIntervalMs: config.audit.keyUseIntervalMs,
        });
        sink.start();
        audit = sink;
        // Closed after the decider drained (its last calls recorded), before Redis.
        closers.unshift(async () => {
          await sink.stop();
          await publisher.disconnect();
        });
      }
      decider = await startDeciderServer({
        view,
        subscriber: new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }).on("error", onRedisError),
        listen: config.listen,
        region: config.region,
        l1MaxBytes: config.l1MaxBytes,
        logger: logger.child({ role: "decider" }),
        ...(config.secretKeys === undefined ? {} : { secretKeys: config.secretKeys }),
        ...(options.sessions === undefined ? {} : { sessions: options.sessions }),
        ...(audit === undefined ? {} : { audit }),
        ...(config.audit === undefined ? {} : { authorizeSampleRate: config.audit.authorizeSampleRate }),
        health,
        telemetry,
      });
      closers.unshift(() => (decider as DeciderServer).close(config.shutdownGraceMs));
    }
    if (config.role === "applier" && config.healthListen !== undefined) {
      const server = new Server({ "grpc.enable_channelz": 0 });
      health.addToServer(server);
      addReflection(server, { protoDir: PROTO_DIR, protoFiles: [] });
      const { host, port } = config.healthListen;
      healthPort = await new Promise<number>((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) =>
          err === null ? resolve(bound) : reject(err),
        );
      });
      closers.unshift(() => drainServer(server, config.shutdownGraceMs));
    }
    health.start();
    if (config.role !== "decider") {
      const kafka = new Kafka({
        clientId: `gatehouse-region-${config.region}`,
        brokers: [...config.kafka.brokers],
        logLevel: logLevel.NOTHING,
      });
      const source: AccountSource | undefined =
        config.controlPlane === undefined
          ? undefined
          : createControlPlaneSource({
              address: config.controlPlane.address,
              credentials: config.controlPlane.credentials,
              telemetry,
            });
      if (source !== undefined) closers.push(async () => source.close());
      const log = logger.child({ role: "applier" });
      const abort = new AbortController();
      const leaseOptions = { redis, keyPrefix: config.keyPrefix, ttlMs: config.leaseMs, logger: log };

      /** Runs the applier under `held` until the lease is lost, it is fenced, or the region closes. */
      const activate = async (held: ApplierLease) => {
        lease = held;
        let fenced = () => {};
        const deposed = new Promise<void>((resolve) => {
          fenced = resolve;
        });
        applier = await startApplier({
          kafka,
          topic: config.kafka.topic,
          groupId: config.kafka.groupId,
          view: createRegionView({ redis, keyPrefix: config.keyPrefix, fencingToken: held.token }),
          logger: log,
          ...(source === undefined ? {} : { source }),
          bootstrap: config.bootstrap,
          healRetry: { initialMs: 200, maxMs: config.healBackoffMaxMs },
          onFenced: fenced,
          telemetry,
          // A consumer kafkajs gave up on: the standby loop stops this applier and starts a new one.
          onCrashed: fenced,
          ...(options.onViewLost === undefined ? {} : { onViewLost: options.onViewLost }),
        });
        // Wrapped: an async function returning a promise would wait for it.
        return { ended: Promise.race([held.lost, deposed]) };
      };
      const deactivate = async () => {
        const [a, l] = [applier, lease];
        applier = undefined;
        lease = undefined;
        await a?.stop().catch((e: unknown) => log.warn({ err: e }, "applier stop failed"));
        await l?.release();
      };
      const standBy = async (ended?: Promise<void>) => {
        if (ended !== undefined) await Promise.race([ended, aborted]);
        while (!abort.signal.aborted) {
          await deactivate();
          const held = await acquireApplierLease({ ...leaseOptions, signal: abort.signal });
          if (held === undefined) return;
          try {
            await Promise.race([(await activate(held)).ended, aborted]);
          } catch (e) {
            log.error({ err: e }, "applier failed to start: standing by again");
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        await deactivate();
      };
      const aborted = new Promise<void>((resolve) => abort.signal.addEventListener("abort", () => resolve()));
      // The lag the active applier records in the view, per partition (what GetRegionStatus shows).
      telemetry.gauge(METRIC_NAMES.consumerLag, "Change events on the topic not yet applied", "{event}", async () =>
        applier === undefined
          ? []
          : (await view.consumerLag()).map((p) => [p.lag, { region: config.region, partition: String(p.partition) }]),
      );
      // Active at once when no other applier holds the lease (start errors surface here), else standby.
      const first = await acquireApplierLease({ ...leaseOptions, once: true });
      let ended: Promise<void> | undefined;
      if (first !== undefined) {
        try {
          ended = (await activate(first)).ended;
        } catch (e) {
          await first.release();
          lease = undefined;
          // Kafka unreachable at start: stand by and retry (the process stays live, not ready),
          // rather than exit and flap. Anything else is a start error and surfaces.
          if (!(e instanceof Error && e.name.startsWith("KafkaJS"))) throw e;
          log.warn({ err: e }, "applier could not start (Kafka unreachable?): retrying");
        }
      }
      const loop = standBy(ended);
      // Closed after the decider (which drains first), before Redis.
      closers.splice(decider === undefined ? 0 : 1, 0, async () => {
        abort.abort();
        await loop;
      });
    }
  } catch (e) {
    health.shutdown();
    for (const close of closers) await close().catch(() => {});
    throw e;
  }
  return {
    view,
    get applier() {
      return applier;
    },
    get lease() {
      return lease === undefined ? undefined : { owner: lease.owner, token: lease.token };
    },
    ...(decider === undefined ? {} : { decider }),
    ...(audit === undefined ? {} : { audit }),
    health,
    ...(healthPort === undefined ? {} : { healthPort }),
    async close() {
      health.shutdown();
      for (const close of closers) await close().catch((e: unknown) => logger.warn({ err: e }, "close failed"));
    },
  };
}
