import { createManualClock } from "@gatehouse/core";
import { describe, expect, it } from "vitest";
import { type ExpiringCredentials, RefreshingCredentials } from "./refreshing-credentials.ts";

const T0 = 1_800_000_000_000;
const MIN = 60_000;

/** A fetch that hands out numbered credentials valid for 15 minutes from the clock's now. */
function issuer(clock: { now(): number }) {
  let n = 0;
  let failing = false;
  const fetch = async (): Promise<ExpiringCredentials> => {
    await new Promise((r) => setTimeout(r, 5));
    if (failing) throw new Error("STS is down");
    n++;
    return { accessKeyId: `ASIA${n}`, secretAccessKey: "s", sessionToken: "t", expiresAtMs: clock.now() + 15 * MIN };
  };
  return {
    fetch,
    count: () => n,
    fail: (v: boolean) => {
      failing = v;
    },
  };
}

describe("RefreshingCredentials", () => {
  it("fetches on first use, keeps them until the refresh window, then fetches again", async () => {
    const clock = createManualClock(T0);
    const sts = issuer(clock);
    const creds = new RefreshingCredentials({ fetch: sts.fetch, clock, refreshWindowMs: 5 * MIN });
    expect((await creds.get()).accessKeyId).toBe("ASIA1");
    clock.advance(10 * MIN - 1);
    expect((await creds.get()).accessKeyId).toBe("ASIA1");
    clock.advance(1); // 5 minutes before expiry: due
    expect((await creds.get()).accessKeyId).toBe("ASIA2");
    expect(sts.count()).toBe(2);
  });

  it("makes one fetch for a burst of concurrent callers (single flight)", async () => {
    const clock = createManualClock(T0);
    const sts = issuer(clock);
    const creds = new RefreshingCredentials({ fetch: sts.fetch, clock });
    const first = await Promise.all(Array.from({ length: 20 }, () => creds.get()));
    expect(new Set(first.map((c) => c.accessKeyId))).toEqual(new Set(["ASIA1"]));
    clock.advance(11 * MIN);
    const second = await Promise.all(Array.from({ length: 20 }, () => creds.get()));
    expect(new Set(second.map((c) => c.accessKeyId))).toEqual(new Set(["ASIA2"]));
    expect(sts.count()).toBe(2);
  });

  it("keeps using unexpired credentials when a refresh fails, and throws once they expired", async () => {
    const clock = createManualClock(T0);
    const sts = issuer(clock);
    const creds = new RefreshingCredentials({ fetch: sts.fetch, clock });
    await creds.get();
    sts.fail(true);
    clock.advance(12 * MIN);
    expect((await creds.get()).accessKeyId).toBe("ASIA1");
    clock.advance(3 * MIN);
    await expect(creds.get()).rejects.toThrow("STS is down");
    sts.fail(false);
    expect((await creds.get()).accessKeyId).toBe("ASIA2");
  });

  it("refuses a negative window", () => {
    expect(() => new RefreshingCredentials({ fetch: async () => ({}) as never, refreshWindowMs: -1 })).toThrow(
      "refreshWindowMs must be",
    );
  });
});
