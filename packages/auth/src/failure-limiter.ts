/** Token buckets of failed authentications, per key (an access key id, a caller's source, or both). */
export interface FailureLimiter {
  /** Whether `key` has no failure left to spend now. */
  exhausted(key: string, nowMs: number): boolean;
  /** Spends one failure of `key`. */
  fail(key: string, nowMs: number): void;
}

const MAX_BUCKETS = 10_000;

/**
 * A {@link FailureLimiter}: each key's bucket holds up to `burst` failures and refills at
 * `perSecond`; a full bucket is forgotten, so only keys failing lately take memory (at most
 * 10,000, the oldest dropped first: a dropped key merely starts with a full bucket). Keys are
 * attacker-chosen, hence the bound. Used by the control plane per access key id and by the
 * regions per access key id and calling source.
 *
 * @example
 * const failures = createFailureLimiter(1, 10);
 * if (failures.exhausted(keyId, now)) throw throttled();
 */
export function createFailureLimiter(perSecond: number, burst: number): FailureLimiter {
  if (!(perSecond > 0) || !Number.isInteger(burst) || burst < 1) {
    throw new Error(`failure limiter needs perSecond > 0 and an integer burst >= 1, got ${perSecond} and ${burst}`);
  }
  const buckets = new Map<string, { tokens: number; atMs: number }>();
  const level = (key: string, nowMs: number): number => {
    const b = buckets.get(key);
    if (b === undefined) return burst;
    const tokens = Math.min(burst, b.tokens + (Math.max(0, nowMs - b.atMs) / 1000) * perSecond);
    if (tokens >= burst) buckets.delete(key);
    return tokens;
  };
  return {
    exhausted: (key, nowMs) => level(key, nowMs) < 1,
    fail(key, nowMs) {
      const tokens = Math.max(0, level(key, nowMs) - 1);
      buckets.delete(key);
      if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value as string);
      buckets.set(key, { tokens, atMs: nowMs });
    },
  };
}
