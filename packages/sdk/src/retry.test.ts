import { describe, expect, it } from "vitest";
import { GatehouseError } from "./errors.ts";
import { backoffDelayMs, validateRetryOptions, withRetries } from "./retry.ts";

const failure = (code: "UNAVAILABLE" | "ABORTED" | "NOT_FOUND" | "INVALID_ARGUMENT", retriable: boolean) =>
  new GatehouseError({ code, awsName: code, message: code, retriable });

function plan(over: Partial<Parameters<typeof withRetries>[0]> = {}) {
  const slept: number[] = [];
  return {
    slept,
    plan: {
      policy: validateRetryOptions({ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.5 }),
      idempotent: true,
      endpoints: 1,
      start: 0,
      deadline: Number.POSITIVE_INFINITY,
      now: () => 0,
      sleep: async (ms: number) => {
        slept.push(ms);
      },
      ...over,
    },
  };
}

describe("withRetries", () => {
  it("retries retriable failures with growing jittered backoff, then gives up", async () => {
    const { plan: p, slept } = plan();
    let calls = 0;
    const err = await withRetries(p, async () => {
      calls++;
      throw failure("ABORTED", true);
    }).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(err).toMatchObject({ code: "ABORTED" });
    expect(slept).toEqual([50, 100]); // half of 100, half of 200
  });

  it("never retries a non-retriable failure", async () => {
    const { plan: p } = plan();
    let calls = 0;
    await expect(
      withRetries(p, async () => {
        calls++;
        throw failure("NOT_FOUND", false);
      }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(calls).toBe(1);
  });

  it("never retries a call that is not idempotent (a write without a token)", async () => {
    const { plan: p } = plan({ idempotent: false });
    let calls = 0;
    await expect(
      withRetries(p, async () => {
        calls++;
        throw failure("UNAVAILABLE", true);
      }),
    ).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(calls).toBe(1);
  });

  it("fails over to the next endpoint at once, and backs off only after a whole round", async () => {
    const { plan: p, slept } = plan({ endpoints: 3, start: 1 });
    const tried: number[] = [];
    const result = await withRetries(p, async (endpoint) => {
      tried.push(endpoint);
      if (tried.length < 4) throw failure("UNAVAILABLE", true);
      return "ok";
    });
    expect(tried).toEqual([1, 2, 0, 1]);
    expect(slept).toEqual([50]);
    expect(result).toEqual({ value: "ok", endpoint: 1 });
  });

  it("starts no attempt that could not finish before the deadline", async () => {
    const { plan: p, slept } = plan({ deadline: 10 });
    let calls = 0;
    await expect(
      withRetries(p, async () => {
        calls++;
        throw failure("UNAVAILABLE", true);
      }),
    ).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(calls).toBe(1);
    expect(slept).toEqual([]);
  });
});

describe("backoffDelayMs", () => {
  it("draws in [0, min(max, base·2^(n-1)))", () => {
    const top = validateRetryOptions({ baseDelayMs: 100, maxDelayMs: 300, random: () => 0.999 });
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(top, n))).toEqual([99, 199, 299, 299]);
    const bottom = validateRetryOptions({ random: () => 0 });
    expect(backoffDelayMs(bottom, 5)).toBe(0);
  });

  it("rejects bad options naming the value", () => {
    expect(() => validateRetryOptions({ maxAttempts: 0 })).toThrow(/maxAttempts .* got 0/);
    expect(() => validateRetryOptions({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow(/got 10 and 5/);
  });
});
