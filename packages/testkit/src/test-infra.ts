import { inject } from "vitest";
import { type RegionRedis, TEST_INFRA_KEY, type TestInfra } from "./infra-settings.ts";

/**
 * The Postgres, Kafka and Redis of this integration run, as the global setup
 * (`packages/testkit/src/global-setup.ts`) resolved them. Call it inside a vitest test or hook of
 * the `integration` project.
 *
 * @example
 * const { kafkaBrokers } = testInfra();
 * @throws Error when the global setup did not run (a unit test, or another vitest config).
 */
export function testInfra(): TestInfra {
  const infra = inject(TEST_INFRA_KEY);
  if (infra === undefined) {
    throw new Error(
      "testInfra: nothing was provided under 'gatehouse.infra'; run integration tests with " +
        "`npx vitest run --project integration`, whose globalSetup is packages/testkit/src/global-setup.ts",
    );
  }
  return infra;
}

/**
 * The Redis of one region; the first region when `region` is omitted.
 *
 * @throws Error naming the region and the known ones when it has no Redis.
 */
export function regionRedis(region?: string, infra: TestInfra = testInfra()): RegionRedis {
  const found = region === undefined ? infra.redis[0] : infra.redis.find((r) => r.region === region);
  if (found === undefined) {
    const known = infra.redis.map((r) => r.region).join(", ");
    throw new Error(`regionRedis: no Redis for region "${region}" (known: ${known || "none"})`);
  }
  return found;
}
