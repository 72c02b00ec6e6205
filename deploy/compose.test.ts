// docker-compose.yml must offer the same stack as deploy/local/infra.sh: the same images and
// versions, host ports, databases, regions and settings names. Both read nothing from each other
// at run time, so this test is what keeps them in step, against deploy/local/defaults.json.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import YAML from "yaml";

const root = new URL("../", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), "utf8");

interface Defaults {
  postgres: { host: string; port: number; user: string; database: string; testDatabase: string; image: string };
  kafka: { version: string; image: string; host: string; port: number; controllerPort: number };
  redis: { host: string; basePort: number; regions: string[]; image: string };
}

interface Service {
  image?: string;
  ports?: unknown[];
  environment?: Record<string, string | number | boolean>;
  healthcheck?: { test?: unknown };
  configs?: { source: string; target: string }[];
}

interface Compose {
  services: Record<string, Service>;
  configs?: Record<string, { content?: string }>;
  "x-gatehouse-env"?: Record<string, string>;
}

const defaults = JSON.parse(read("deploy/local/defaults.json")) as Defaults;
// Compose files use YAML merge keys (`<<: *redis`), which YAML 1.2 leaves out by default.
const compose = YAML.parse(read("docker-compose.yml"), { merge: true }) as Compose;
const infraSh = read("deploy/local/infra.sh");

function service(name: string): Service {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** Short-syntax port mappings ("127.0.0.1:6380:6379") as { hostIp, host, container }. */
function ports(name: string): { hostIp: string; host: number; container: number }[] {
  return (service(name).ports ?? []).map((entry) => {
    const match = typeof entry === "string" ? /^(?:([\d.]+):)?(\d+):(\d+)$/.exec(entry) : null;
    if (match === null) throw new Error(`service ${name}: port ${JSON.stringify(entry)} is not "ip:host:container"`);
    return { hostIp: match[1] ?? "0.0.0.0", host: Number(match[2]), container: Number(match[3]) };
  });
}

function env(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, String(v)]));
}

function redisService(region: string): string {
  return `redis-${region}`;
}

describe("docker-compose.yml matches the local stack (deploy/local/defaults.json)", () => {
  it("has exactly the infrastructure services infra.sh runs, each with a healthcheck", () => {
    const infra = ["postgres", "kafka", ...defaults.redis.regions.map(redisService)];
    const names = Object.keys(compose.services);
    expect(names.filter((n) => n === "postgres" || n === "kafka" || n.startsWith("redis-")).sort()).toEqual(
      [...infra].sort(),
    );
    for (const name of infra) expect(service(name).healthcheck?.test, `${name} healthcheck`).toBeDefined();
  });

  it("publishes Postgres on the local port, with both databases and the default user", () => {
    const pg = service("postgres");
    expect(pg.image).toBe(defaults.postgres.image);
    expect(ports("postgres")).toEqual([
      { hostIp: defaults.postgres.host, host: defaults.postgres.port, container: 5432 },
    ]);
    expect(env("postgres")).toMatchObject({
      POSTGRES_USER: defaults.postgres.user,
      POSTGRES_DB: defaults.postgres.database,
    });
    const initScripts = (pg.configs ?? [])
      .filter((c) => c.target.startsWith("/docker-entrypoint-initdb.d/"))
      .map((c) => compose.configs?.[c.source]?.content ?? "");
    expect(initScripts.join("\n")).toMatch(new RegExp(`CREATE DATABASE ${defaults.postgres.testDatabase}\\b`, "i"));
  });

  it("runs the pinned Kafka version in KRaft combined mode, like the local broker", () => {
    expect(defaults.kafka.image).toBe(`apache/kafka:${defaults.kafka.version}`);
    expect(service("kafka").image).toBe(defaults.kafka.image);
    // The Maven build infra.sh runs must default to the same version.
    expect(read("deploy/local/kafka/pom.xml")).toContain(`<kafka.version>${defaults.kafka.version}</kafka.version>`);
    expect(ports("kafka")).toEqual([
      { hostIp: defaults.kafka.host, host: defaults.kafka.port, container: defaults.kafka.port },
    ]);
    const kafka = env("kafka");
    expect(kafka.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(kafka.KAFKA_ADVERTISED_LISTENERS).toContain(`PLAINTEXT://${defaults.kafka.host}:${defaults.kafka.port}`);
    expect(kafka.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`1@localhost:${defaults.kafka.controllerPort}`);
    expect(kafka.KAFKA_LISTENERS).toContain(`CONTROLLER://:${defaults.kafka.controllerPort}`);
    // What infra.sh's server.properties sets, and what tests rely on.
    expect(kafka).toMatchObject({
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
    });
    for (const setting of [
      "auto.create.topics.enable=false",
      "offsets.topic.replication.factor=1",
      "transaction.state.log.replication.factor=1",
      "group.initial.rebalance.delay.ms=0",
    ]) {
      expect(infraSh, `infra.sh sets ${setting}`).toContain(setting);
    }
  });

  it.each(defaults.redis.regions.map((region, i) => [region, defaults.redis.basePort + i] as const))(
    "publishes Redis for %s on port %i, without persistence",
    (region, port) => {
      const redis = service(redisService(region));
      expect(redis.image).toBe(defaults.redis.image);
      expect(ports(redisService(region))).toEqual([{ hostIp: defaults.redis.host, host: port, container: 6379 }]);
      expect((redis as { command?: string[] }).command).toEqual(["redis-server", "--save", "", "--appendonly", "no"]);
    },
  );

  it("gives services the settings infra.env holds, under the same names", () => {
    const written = [...infraSh.matchAll(/^(GATEHOUSE_[A-Z_]+)=/gm)].map((m) => m[1]);
    expect(written.length).toBeGreaterThan(0);
    const inNetwork = compose["x-gatehouse-env"] ?? {};
    expect(Object.keys(inNetwork).sort()).toEqual([...new Set(written)].sort());

    expect(inNetwork.GATEHOUSE_PG_URL).toBe(
      `postgres://${defaults.postgres.user}@postgres:5432/${defaults.postgres.database}`,
    );
    expect(inNetwork.GATEHOUSE_PG_TEST_URL).toBe(
      `postgres://${defaults.postgres.user}@postgres:5432/${defaults.postgres.testDatabase}`,
    );
    expect(inNetwork.GATEHOUSE_REGIONS).toBe(defaults.redis.regions.join(","));
    expect(inNetwork.GATEHOUSE_REDIS_URLS).toBe(
      defaults.redis.regions.map((r) => `${r}=redis://${redisService(r)}:6379`).join(","),
    );
    const broker = inNetwork.GATEHOUSE_KAFKA_BROKERS ?? "";
    expect(env("kafka").KAFKA_ADVERTISED_LISTENERS?.split(",")).toContain(`INTERNAL://${broker}`);
  });
});
