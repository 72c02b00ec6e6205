import { describe, expect, it } from "vitest";
import { createFailureLimiter } from "./index.ts";

const t0 = Date.parse("2026-01-01T00:00:00Z");

describe("failure limiter", () => {
  it("bucket arithmetic: burst, refill rate, forgetting full buckets", () => {
    const limiter = createFailureLimiter(2, 2);
    expect(limiter.exhausted("k", t0)).toBe(false);
    limiter.fail("k", t0);
    expect(limiter.exhausted("k", t0)).toBe(false);
    limiter.fail("k", t0);
    expect(limiter.exhausted("k", t0)).toBe(true);
    expect(limiter.exhausted("other", t0)).toBe(false);
    expect(limiter.exhausted("k", t0 + 499)).toBe(true);
    expect(limiter.exhausted("k", t0 + 500)).toBe(false);
    expect(() => createFailureLimiter(0, 1)).toThrow(/perSecond > 0/);
    expect(() => createFailureLimiter(1, 0)).toThrow(/burst >= 1/);
  });
});
