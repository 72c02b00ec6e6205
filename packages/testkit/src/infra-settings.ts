/**
 * Where the services an integration run uses are, as the global setup resolved them once for the
 * whole run, and the parsing of the env vars that name them. Pure: no I/O here.
 */

/** How one service was found: explicit env vars, containers started for this run, the local stack. */
export type InfraSource = "env" | "testcontainers" | "local";

/** One region's Redis. */
export interface RegionRedis {
  /** Region name, e.g. `us-east-1`. */
  readonly region: string;
  /** `redis://host:port[/db]`, for `new Redis(url)`. */
  readonly url: string;
}

/**
 * The services handed to integration tests by the testkit's global setup (vitest `provide`); read
 * it in a test with {@link testInfra}. Plain data, so vitest can send it to its workers.
 */
export interface TestInfra {
  readonly source: { readonly postgres: InfraSource; readonly kafka: InfraSource; readonly redis: InfraSource };
  /**
   * A database tests may create schemas in, on a server where they may create databases (the
   * local stack's `gatehouse_test`). Prefer {@link createTestDatabase} or {@link createTestSchema}
   * to using it directly.
   */
  readonly postgresUrl: string;
  /** `host:port` bootstrap brokers. */
  readonly kafkaBrokers: readonly string[];
  /** One Redis per region, in region order (the first is the default region). */
  readonly redis: readonly RegionRedis[];
}

/** The key under which the global setup provides {@link TestInfra}. */
export const TEST_INFRA_KEY = "gatehouse.infra";

/**
 * The key under which the migrated-schema template is provided (see `createTestSchema`'s
 * `migrated` option).
 */
export const MIGRATED_TEMPLATE_KEY = "gatehouse.migratedTemplate";

declare module "vitest" {
  // Augments vitest's own interface, which is why it has to be an interface with this name.
  export interface ProvidedContext {
    "gatehouse.infra": TestInfra;
    "gatehouse.migratedTemplate": { readonly database: string; readonly schema: string };
  }
}

/**
 * Parses a comma list of `host:port` brokers (`GATEHOUSE_TEST_KAFKA_BROKERS`,
 * `GATEHOUSE_KAFKA_BROKERS`).
 *
 * @throws Error naming the variable and the bad entry.
 */
export function parseBrokers(value: string, variable: string): string[] {
  const brokers = value
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0) throw new Error(`${variable} is empty; expected host:port[,host:port]`);
  for (const broker of brokers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(broker)) throw new Error(`${variable}: "${broker}" is not host:port`);
  }
  return brokers;
}

/**
 * Parses Redis URLs per region (`GATEHOUSE_TEST_REDIS_URLS`, `GATEHOUSE_REDIS_URLS`): a comma list
 * of `region=redis://host:port`, or of bare URLs that take the names of `defaultRegions` in order.
 *
 * @example
 * parseRedisUrls("us-east-1=redis://127.0.0.1:6380", [], "X") // [{ region: "us-east-1", url: "redis://127.0.0.1:6380" }]
 * parseRedisUrls("redis://a:1,redis://b:2", ["us-east-1", "eu-west-1"], "X") // regions us-east-1, eu-west-1
 * @throws Error naming the variable and the bad entry.
 */
export function parseRedisUrls(value: string, defaultRegions: readonly string[], variable: string): RegionRedis[] {
  const entries = value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (entries.length === 0) throw new Error(`${variable} is empty; expected region=redis://host:port[,...]`);
  const result = entries.map((entry, i): RegionRedis => {
    const eq = entry.indexOf("=");
    // "=" may also appear in a URL's query, so only a region-looking prefix counts as a name.
    const named = eq > 0 && /^[a-z0-9][a-z0-9-]*$/.test(entry.slice(0, eq));
    const region = named ? entry.slice(0, eq) : defaultRegions[i];
    const url = named ? entry.slice(eq + 1) : entry;
    if (region === undefined) {
      throw new Error(
        `${variable}: "${entry}" has no region= and there are only ${defaultRegions.length} default regions`,
      );
    }
    if (!/^rediss?:\/\/[^\s]+$/.test(url)) throw new Error(`${variable}: "${url}" is not a redis:// URL`);
    return { region, url };
  });
  const seen = new Set<string>();
  for (const { region } of result) {
    if (seen.has(region)) throw new Error(`${variable}: region "${region}" appears twice`);
    seen.add(region);
  }
  return result;
}

/**
 * Checks a Postgres URL (`GATEHOUSE_TEST_PG_URL`).
 *
 * @throws Error naming the variable and the value when it is not a postgres:// URL with a database.
 */
export function parsePostgresUrl(value: string, variable: string): string {
  const url = value.trim();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${variable}: "${value}" is not a URL; expected postgres://user@host:port/database`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error(`${variable}: "${value}" is not a postgres:// URL`);
  }
  if (parsed.pathname.length <= 1) throw new Error(`${variable}: "${value}" names no database`);
  return url;
}
