import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { FailureRate } from "./config.ts";
import { storeUnavailable } from "./redis-session-records.ts";

/**
 * The gateway's failed sign-in throttle: token buckets per account + user name (`who`) and per
 * client address (`source`), which every replica shares through Redis.
 */
export interface SignInThrottle {
  /** Whether either bucket is empty: the sign-in is refused without asking the control plane. */
  exhausted(who: string, source: string, nowMs: number): Promise<boolean>;
  /** Spends one failure of each. */
  fail(who: string, source: string, nowMs: number): Promise<void>;
}

/** Options of {@link createRedisSignInThrottle}. */
export interface RedisSignInThrottleOptions {
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly perUser: FailureRate;
  readonly perSource: FailureRate;
  readonly onError: (e: unknown) => void;
}

// A token bucket in one hash (t: tokens, a: when), refilled at ARGV[2] tokens per ms up to
// ARGV[3]; ARGV[4] = 1 spends one. Answers 1 when fewer than one token is left. A full bucket's
// key expires, so only sources failing lately take memory.
const BUCKET = `
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = burst
if b[1] then tokens = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate) end
if ARGV[4] == '1' then
  tokens = math.max(0, tokens - 1)
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
end
if tokens < 1 then return 1 end
return 0
`;

const hashed = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * A {@link SignInThrottle} in Redis (keys `failures:user:<hash>`, `failures:source:<hash>`: the
 * user name typed, which may be a password, is never stored). Redis failing rejects with a 503:
 * without the throttle no password is checked.
 */
export function createRedisSignInThrottle(options: RedisSignInThrottleOptions): SignInThrottle {
  const { redis, keyPrefix } = options;
  const buckets = (who: string, source: string) =>
    [
      [`${keyPrefix}failures:user:${hashed(who)}`, options.perUser],
      [`${keyPrefix}failures:source:${hashed(source)}`, options.perSource],
    ] as const;
  const run = async (who: string, source: string, nowMs: number, spend: boolean): Promise<boolean> => {
    try {
      const answers = await Promise.all(
        buckets(who, source).map(([key, rate]) =>
          redis.eval(BUCKET, 1, key, nowMs, rate.perMinute / 60_000, rate.burst, spend ? 1 : 0),
        ),
      );
      return answers.some((a) => a === 1);
    } catch (e) {
      options.onError(e);
      throw storeUnavailable();
    }
  };
  return {
    exhausted: (who, source, nowMs) => run(who, source, nowMs, false),
    fail: async (who, source, nowMs) => {
      await run(who, source, nowMs, true);
    },
  };
}
