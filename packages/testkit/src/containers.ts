import { createServer } from "node:net";
import type { StartedTestContainer } from "testcontainers";
import { waitForKafka } from "../../../deploy/local/kafka-probe.ts";
import type { RegionRedis } from "./infra-settings.ts";
import type { RepoDefaults } from "./repo-defaults.ts";

/** Containers started for one run; {@link StartedContainers.stop} removes them. */
export interface StartedContainers {
  readonly postgresUrl?: string;
  readonly kafkaBrokers?: string[];
  readonly redis?: RegionRedis[];
  stop(): Promise<void>;
}

/** Which services to start, the others being given already. */
export interface ContainerNeeds {
  readonly postgres: boolean;
  readonly kafka: boolean;
  /** Regions that need a Redis; empty for none. */
  readonly redisRegions: readonly string[];
}

/**
 * True when testcontainers finds a working container engine (Docker, Podman, a remote
 * DOCKER_HOST). The module is loaded only here, so runs without Docker do not pay for it.
 */
export async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** A port nothing listens on right now, found by binding port 0 on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("freePort: no port assigned"));
      });
    });
  });
}

/**
 * Starts the services in `needs` as containers, from the same images as docker-compose.yml:
 * postgres with a `gatehouse_test` database, a single-node KRaft `apache/kafka` configured like
 * the local broker, one redis per region. Everything started so far is stopped when a later one
 * fails.
 */
export async function startContainers(needs: ContainerNeeds, defaults: RepoDefaults): Promise<StartedContainers> {
  const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
  const { RedisContainer } = await import("@testcontainers/redis");
  const started: StartedTestContainer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.allSettled(started.splice(0).map((c) => c.stop()));
  };
  try {
    let postgresUrl: string | undefined;
    if (needs.postgres) {
      const pg = await new PostgreSqlContainer(defaults.postgres.image)
        .withDatabase(defaults.postgres.testDatabase)
        .withUsername(defaults.postgres.user)
        .withPassword("postgres")
        .withCommand(["postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"])
        .start();
      started.push(pg);
      postgresUrl = pg.getConnectionUri();
    }

    let kafkaBrokers: string[] | undefined;
    if (needs.kafka) {
      const kafka = await startKafkaContainer(defaults.kafka.image);
      started.push(kafka.container);
      kafkaBrokers = kafka.brokers;
    }

    const redis: RegionRedis[] = [];
    for (const region of needs.redisRegions) {
      const container = await new RedisContainer(defaults.redis.image).start();
      started.push(container);
      redis.push({ region, url: container.getConnectionUrl() });
    }

    return {
      ...(postgresUrl === undefined ? {} : { postgresUrl }),
      ...(kafkaBrokers === undefined ? {} : { kafkaBrokers }),
      ...(redis.length === 0 ? {} : { redis }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A started Kafka container and the bootstrap address that reaches it from this process. */
export interface KafkaContainer {
  readonly container: StartedTestContainer;
  readonly brokers: string[];
}

/**
 * Starts a single-node KRaft `apache/kafka` container configured like the local broker, and waits
 * until a message round-trips. The host port is fixed (a free one) before the container starts,
 * because Kafka hands clients the advertised address; the same mapping survives a stop and start
 * of the container, so clients can reconnect to the same address.
 */
export async function startKafkaContainer(image: string): Promise<KafkaContainer> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import("testcontainers");
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
  const port = await freePort();
  const container = await new GenericContainer(image)
    .withExposedPorts({ container: 9092, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: "1",
      KAFKA_PROCESS_ROLES: "broker,controller",
      KAFKA_LISTENERS: "PLAINTEXT://:9092,CONTROLLER://:9093",
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
      KAFKA_NUM_PARTITIONS: "1",
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: "8",
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
      KAFKA_HEAP_OPTS: "-Xms256m -Xmx512m",
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  const brokers = [`${host}:${port}`];
  try {
    await waitForKafka(brokers, 60_000);
  } catch (error) {
    await container.stop().catch(() => {});
    throw error;
  }
  return { container, brokers };
}
