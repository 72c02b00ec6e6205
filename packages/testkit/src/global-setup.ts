/**
 * vitest globalSetup of the `integration` project (see vitest.config.ts). Finds Postgres, Kafka
 * and Redis once per run, each in this order:
 *
 * 1. explicit env vars: `GATEHOUSE_TEST_PG_URL` (postgres://…/db), `GATEHOUSE_TEST_KAFKA_BROKERS`
 *    (host:port,…), `GATEHOUSE_TEST_REDIS_URLS` (region=redis://host:port,… or bare URLs in
 *    `GATEHOUSE_REGIONS` / deploy/local/defaults.json region order);
 * 2. containers, when testcontainers finds a container engine (same images as docker-compose.yml);
 * 3. the local stack: `bash deploy/local/infra.sh up`, then .gatehouse/infra.env.
 *
 * `GATEHOUSE_TEST_INFRA=containers|local` skips the choice between 2 and 3. Tests read the result
 * with `testInfra()`; it is also exported to the workers' env under the names infra.env uses
 * (`GATEHOUSE_PG_TEST_URL`, `GATEHOUSE_KAFKA_BROKERS`, `GATEHOUSE_REGIONS`,
 * `GATEHOUSE_REDIS_URLS`), for tests that read those. Teardown stops the containers this run
 * started; the local stack stays up for the next run.
 */
import type { TestProject } from "vitest/node";
import { containerRuntimeAvailable, type StartedContainers, startContainers } from "./containers.ts";
import {
  type InfraSource,
  parseBrokers,
  parsePostgresUrl,
  parseRedisUrls,
  type RegionRedis,
  TEST_INFRA_KEY,
  type TestInfra,
} from "./infra-settings.ts";
import { startLocalInfra } from "./local-infra.ts";
import { readRepoDefaults, repoRoot, resolveRegions } from "./repo-defaults.ts";

type Mode = "auto" | "containers" | "local";

function readMode(env: NodeJS.ProcessEnv): Mode {
  const value = env.GATEHOUSE_TEST_INFRA ?? "auto";
  if (value === "auto" || value === "containers" || value === "local") return value;
  throw new Error(`GATEHOUSE_TEST_INFRA="${value}" must be one of auto, containers, local`);
}

function log(message: string): void {
  process.stderr.write(`testkit: ${message}\n`);
}

/** Resolves the infrastructure and provides it; the returned function is vitest's teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = process.env;
  const defaults = readRepoDefaults(repoRoot);
  const regions = resolveRegions(env, defaults);
  const mode = readMode(env);

  let postgresUrl = env.GATEHOUSE_TEST_PG_URL
    ? parsePostgresUrl(env.GATEHOUSE_TEST_PG_URL, "GATEHOUSE_TEST_PG_URL")
    : undefined;
  let kafkaBrokers = env.GATEHOUSE_TEST_KAFKA_BROKERS
    ? parseBrokers(env.GATEHOUSE_TEST_KAFKA_BROKERS, "GATEHOUSE_TEST_KAFKA_BROKERS")
    : undefined;
  let redis: RegionRedis[] | undefined = env.GATEHOUSE_TEST_REDIS_URLS
    ? parseRedisUrls(env.GATEHOUSE_TEST_REDIS_URLS, regions, "GATEHOUSE_TEST_REDIS_URLS")
    : undefined;
  const source: { postgres: InfraSource; kafka: InfraSource; redis: InfraSource } = {
    postgres: "env",
    kafka: "env",
    redis: "env",
  };

  let containers: StartedContainers | undefined;
  if (postgresUrl === undefined || kafkaBrokers === undefined || redis === undefined) {
    const useContainers = mode === "containers" || (mode === "auto" && (await containerRuntimeAvailable()));
    if (useContainers) {
      log("starting containers (postgres, kafka, redis per region) with testcontainers");
      containers = await startContainers(
        {
          postgres: postgresUrl === undefined,
          kafka: kafkaBrokers === undefined,
          redisRegions: redis === undefined ? regions : [],
        },
        defaults,
      );
      if (postgresUrl === undefined) source.postgres = "testcontainers";
      if (kafkaBrokers === undefined) source.kafka = "testcontainers";
      if (redis === undefined) source.redis = "testcontainers";
      postgresUrl ??= containers.postgresUrl;
      kafkaBrokers ??= containers.kafkaBrokers;
      redis ??= containers.redis;
    } else {
      log("no container engine: using the local stack (deploy/local/infra.sh up)");
      // infra.sh reads GATEHOUSE_REGIONS itself, so its Redis list matches `regions`.
      const local = await startLocalInfra(repoRoot, env);
      if (postgresUrl === undefined) source.postgres = "local";
      if (kafkaBrokers === undefined) source.kafka = "local";
      if (redis === undefined) source.redis = "local";
      postgresUrl ??= local.postgresUrl;
      kafkaBrokers ??= local.kafkaBrokers;
      redis ??= local.redis;
    }
  }
  if (postgresUrl === undefined || kafkaBrokers === undefined || redis === undefined) {
    throw new Error("testkit global setup: a service is still unresolved (a bug in global-setup.ts)");
  }

  const infra: TestInfra = { source, postgresUrl, kafkaBrokers, redis };
  project.provide(TEST_INFRA_KEY, infra);
  env.GATEHOUSE_PG_TEST_URL = postgresUrl;
  env.GATEHOUSE_KAFKA_BROKERS = kafkaBrokers.join(",");
  env.GATEHOUSE_REGIONS = redis.map((r) => r.region).join(",");
  env.GATEHOUSE_REDIS_URLS = redis.map((r) => `${r.region}=${r.url}`).join(",");
  // kafkajs 2.2.4 hands setTimeout negative delays, which Node 24 reports on every connection;
  // harmless, and noise in every Kafka test's output. Workers inherit this env.
  if (!(env.NODE_OPTIONS ?? "").includes("TimeoutNegativeWarning")) {
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --disable-warning=TimeoutNegativeWarning`.trim();
  }
  log(
    `postgres ${redact(postgresUrl)} (${source.postgres}), kafka ${kafkaBrokers.join(",")} (${source.kafka}), ` +
      `redis ${redis.map((r) => `${r.region}=${r.url}`).join(",")} (${source.redis})`,
  );

  return async () => {
    if (containers !== undefined) {
      log("stopping the containers this run started");
      await containers.stop();
    }
  };
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  return parsed.toString();
}
