import type { GatehouseError } from "./errors.ts";

/** How calls are retried: full-jitter exponential backoff on retriable failures only. */
export interface RetryOptions {
  /** Attempts per call against one endpoint, the first included (default 3; 1 disables retries). */
  readonly maxAttempts?: number;
  /** The first backoff's upper bound in milliseconds (default 50). */
  readonly baseDelayMs?: number;
  /** No backoff waits longer than this (default 2,000 ms). */
  readonly maxDelayMs?: number;
  /** A number in [0, 1): the jitter source (default `Math.random`; tests inject their own). */
  readonly random?: () => number;
}

/** {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** Fills defaults and checks bounds; the message names the bad value. */
export function validateRetryOptions(options: RetryOptions = {}): RetryPolicy {
  const policy = {
    maxAttempts: options.maxAttempts ?? 3,
    baseDelayMs: options.baseDelayMs ?? 50,
    maxDelayMs: options.maxDelayMs ?? 2_000,
    random: options.random ?? Math.random,
  };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1 || policy.maxAttempts > 20) {
    throw new RangeError(`retry.maxAttempts must be an integer in 1..20, got ${policy.maxAttempts}`);
  }
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= policy.baseDelayMs)) {
    throw new RangeError(
      `retry delays must satisfy 0 <= baseDelayMs <= maxDelayMs, got ${policy.baseDelayMs} and ${policy.maxDelayMs}`,
    );
  }
  return Object.freeze(policy);
}

/**
 * The wait before retry number `retry` (1 for the first retry): a uniform draw in
 * [0, min(maxDelayMs, baseDelayMs · 2^(retry-1))) — AWS's "full jitter", which spreads the
 * retries of many clients that failed together.
 */
export function backoffDelayMs(policy: RetryPolicy, retry: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(policy.random() * cap);
}

/** What {@link withRetries} needs to know of one call. */
export interface RetryPlan {
  readonly policy: RetryPolicy;
  /**
   * Whether sending the request again is safe: reads and checks always are; a write only when
   * it carries a client request token (the server then answers a repeat with the first result).
   */
  readonly idempotent: boolean;
  /** Endpoints to try in turn (one for the control plane, a region's list for checks). */
  readonly endpoints: number;
  /** The endpoint to start with (the last one that answered). */
  readonly start: number;
  /** Absolute time (ms) after which no new attempt starts. */
  readonly deadline: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt(endpointIndex)` until it succeeds, fails with a non-retriable error, or the
 * attempts or the deadline run out. A failure to reach an endpoint moves on to the next endpoint
 * at once; a backoff is slept only once every endpoint has failed in the current round.
 *
 * @returns the result and the index of the endpoint that gave it.
 */
export async function withRetries<T>(
  plan: RetryPlan,
  attempt: (endpoint: number, attemptNumber: number) => Promise<T>,
): Promise<{ value: T; endpoint: number }> {
  const now = plan.now ?? Date.now;
  const sleep = plan.sleep ?? defaultSleep;
  const total = plan.idempotent ? plan.policy.maxAttempts * plan.endpoints : 1;
  let round = 0;
  for (let i = 0; ; i++) {
    const endpoint = (plan.start + i) % plan.endpoints;
    try {
      return { value: await attempt(endpoint, i + 1), endpoint };
    } catch (e) {
      const err = e as GatehouseError;
      if (err.retriable !== true || i + 1 >= total) throw err;
      // Another endpoint of the region may answer: try it now. A lost race or throttling is
      // about the request, not the endpoint, so it waits like the end of a round does.
      const unreachable = err.code === "UNAVAILABLE";
      if (!unreachable || (i + 1) % plan.endpoints === 0) {
        round++;
        const wait = backoffDelayMs(plan.policy, round);
        if (now() + wait >= plan.deadline) throw err;
        await sleep(wait);
      }
    }
  }
}
