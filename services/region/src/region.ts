import { createRegionView, type RegionView } from "@gatehouse/view-redis";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import type { Logger } from "pino";
import { type Applier, startApplier } from "./applier.ts";
import { type ApplierLease, acquireApplierLease } from "./applier-lease.ts";
import type { RegionConfig } from "./config.ts";
import { type AccountSource, createControlPlaneSource } from "./control-plane-source.ts";
import { type DeciderServer, startDeciderServer } from "./decider-server.ts";
import type { SessionCredentialResolver } from "./session-credentials.ts";

/** A running region process (applier, decider or both). */
export interface Region {
  readonly view: RegionView;
  /** The applier while this process is the region's active one; undefined while it stands by. */
  readonly applier?: Applier;
  /** The applier lease this process holds (owner and fencing token), if it is the active applier. */
  readonly lease?: { readonly owner: string; readonly token: string };
  readonly decider?: DeciderServer;
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
}): Promise<Region> {
  const { config, logger } = options;
  // ioredis reconnects by itself; an outage is logged, not thrown at the event loop.
  const onRedisError = (e: unknown) => logger.warn({ err: e }, "region Redis connection error");
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }).on("error", onRedisError);
  const view = createRegionView({ redis, keyPrefix: config.keyPrefix });
  const closers: (() => Promise<unknown>)[] = [() => redis.quit()];
  let applier: Applier | undefined;
  let lease: ApplierLease | undefined;
  let decider: DeciderServer | undefined;
  try {
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
      // Active at once when no other applier holds the lease (start errors surface here), else standby.
      const first = await acquireApplierLease({ ...leaseOptions, once: true });
      let ended: Promise<void> | undefined;
      if (first !== undefined) {
        try {
          ended = (await activate(first)).ended;
        } catch (e) {
          await first.release();
          lease = undefined;
          throw e;
        }
      }
      const loop = standBy(ended);
      closers.unshift(async () => {
        abort.abort();
        await loop;
      });
    }
    if (config.role !== "applier") {
      decider = await startDeciderServer({
        view,
        subscriber: new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }).on("error", onRedisError),
        listen: config.listen,
        region: config.region,
        l1MaxBytes: config.l1MaxBytes,
        logger: logger.child({ role: "decider" }),
        ...(config.secretKeys === undefined ? {} : { secretKeys: config.secretKeys }),
        ...(options.sessions === undefined ? {} : { sessions: options.sessions }),
      });
      closers.unshift(() => (decider as DeciderServer).close());
    }
  } catch (e) {
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
    async close() {
      for (const close of closers) await close().catch((e: unknown) => logger.warn({ err: e }, "close failed"));
    },
  };
}
