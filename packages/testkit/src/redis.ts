import { Redis } from "ioredis";
import type { TestInfra } from "./infra-settings.ts";
import { regionRedis, testInfra } from "./test-infra.ts";
import { uniqueName } from "./unique-name.ts";

/** Options of {@link testRedis}. */
export interface TestRedisOptions {
  /** Which region's Redis; the first region by default. */
  readonly region?: string;
  /** The services to use; {@link testInfra} by default (only valid inside an integration test). */
  readonly infra?: TestInfra;
}

/**
 * An ioredis client for one region's Redis. The caller closes it (`quit()`); combine with
 * {@link createTestKeyPrefix} so parallel suites never see each other's keys.
 *
 * @example
 * const redis = testRedis({ region: "eu-west-1" });
 * try { await redis.set(keys.key("user", "alice"), "1"); } finally { await redis.quit(); }
 */
export function testRedis(options: TestRedisOptions = {}): Redis {
  const { url } = regionRedis(options.region, options.infra ?? testInfra());
  return new Redis(url, { maxRetriesPerRequest: 3, connectTimeout: 5_000 });
}

/** Options of {@link createTestKeyPrefix}. */
export interface TestKeyPrefixOptions {
  /** Name prefix, see {@link uniqueName}; `"t"` by default. */
  readonly prefix?: string;
  /** The services to use; {@link testInfra} by default (only valid inside an integration test). */
  readonly infra?: TestInfra;
}

/** A Redis key namespace of its own for one suite, in every region's Redis. */
export interface TestKeyPrefix extends AsyncDisposable {
  /** The prefix itself, ending in `:`, e.g. `applier_5f0c2a9e41:`. */
  readonly prefix: string;
  /** `prefix` followed by the parts joined with `:`. */
  key(...parts: readonly string[]): string;
  /** Deletes every key under the prefix in every region's Redis; resolves to how many went. */
  cleanup(): Promise<number>;
}

/**
 * A random key prefix, {@link uniqueName}(prefix) + `:`. Code under test takes it as its key
 * prefix (or writes {@link TestKeyPrefix.key} keys); {@link TestKeyPrefix.cleanup} then removes
 * exactly what the suite wrote, in all regions, by `SCAN MATCH prefix*`.
 *
 * @example
 * const keys = createTestKeyPrefix({ prefix: "applier" });
 * afterAll(() => keys.cleanup());
 */
export function createTestKeyPrefix(options: TestKeyPrefixOptions = {}): TestKeyPrefix {
  const infra = options.infra ?? testInfra();
  const prefix = `${uniqueName(options.prefix)}:`;
  const cleanup = async (): Promise<number> => {
    let deleted = 0;
    for (const { url } of infra.redis) {
      const redis = new Redis(url, { maxRetriesPerRequest: 3, connectTimeout: 5_000 });
      try {
        deleted += await deleteKeysWithPrefix(redis, prefix);
      } finally {
        await redis.quit();
      }
    }
    return deleted;
  };
  return {
    prefix,
    key: (...parts) => prefix + parts.join(":"),
    cleanup,
    [Symbol.asyncDispose]: async () => {
      await cleanup();
    },
  };
}

/** Escapes Redis glob metacharacters so a prefix matches only itself in `SCAN MATCH`. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Deletes every key that starts with `prefix`, by `SCAN` (never `KEYS`, which blocks the server)
 * and `UNLINK` in batches. Resolves to the number of keys deleted.
 *
 * @throws Error when `prefix` is empty: that would empty the whole database.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix.length === 0) throw new Error("deleteKeysWithPrefix: refusing an empty prefix (it matches every key)");
  const pattern = `${escapeGlob(prefix)}*`;
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}
