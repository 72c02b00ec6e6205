import { randomBytes } from "node:crypto";

const PREFIX = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * A random name, unique across parallel and repeated runs, usable unquoted as a Postgres
 * identifier (database, schema), a Kafka topic or consumer group, and a Redis key segment:
 * `prefix` + `_` + 10 hex digits, lowercase, at most 51 characters.
 *
 * @param prefix says whose name it is, so leftovers can be traced: a lowercase letter, then up
 *   to 39 lowercase letters, digits or underscores.
 * @example
 * uniqueName("store") // "store_5f0c2a9e41"
 * @throws Error when `prefix` breaks those rules (names the bad value).
 */
export function uniqueName(prefix = "t"): string {
  if (!PREFIX.test(prefix)) {
    throw new Error(
      `uniqueName: prefix "${prefix}" must match ${PREFIX} (lowercase, starts with a letter, <= 40 chars)`,
    );
  }
  return `${prefix}_${randomBytes(5).toString("hex")}`;
}
