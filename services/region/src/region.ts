import { createRegionView, type RegionView } from "@gatehouse/view-redis";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import type { Logger } from "pino";
import { type Applier, startApplier } from "./applier.ts";
import type { RegionConfig } from "./config.ts";
import { type DeciderServer, startDeciderServer } from "./decider-server.ts";
import type { SessionCredentialResolver } from "./session-credentials.ts";

/** A running region process (applier, decider or both). */
export interface Region {
  readonly view: RegionView;
  readonly applier?: Applier;
  readonly decider?: DeciderServer;
  close(): Promise<void>;
}

/** Starts the roles `config.role` names over one Redis client each. */
export async function startRegion(options: {
  config: RegionConfig;
  logger: Logger;
  /** The Redis view was lost under the applier, which stopped: the process should restart. */
  onViewLost?: () => void;
  /** Temporary credentials for Authenticate (the STS side); none: `ASIA…` keys are refused. */
  sessions?: SessionCredentialResolver;
}): Promise<Region> {
  const { config, logger } = options;
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const view = createRegionView({ redis, keyPrefix: config.keyPrefix });
  const closers: (() => Promise<unknown>)[] = [() => redis.quit()];
  let applier: Applier | undefined;
  let decider: DeciderServer | undefined;
  try {
    if (config.role !== "decider") {
      const kafka = new Kafka({
        clientId: `gatehouse-region-${config.region}`,
        brokers: [...config.kafka.brokers],
        logLevel: logLevel.NOTHING,
      });
      applier = await startApplier({
        kafka,
        topic: config.kafka.topic,
        groupId: config.kafka.groupId,
        view,
        logger: logger.child({ role: "applier" }),
        ...(options.onViewLost === undefined ? {} : { onViewLost: options.onViewLost }),
      });
      closers.unshift(() => (applier as Applier).stop());
    }
    if (config.role !== "applier") {
      decider = await startDeciderServer({
        view,
        subscriber: new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }),
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
    ...(applier === undefined ? {} : { applier }),
    ...(decider === undefined ? {} : { decider }),
    async close() {
      for (const close of closers) await close().catch((e: unknown) => logger.warn({ err: e }, "close failed"));
    },
  };
}
