import { describe, expect, it } from "vitest";
import { GatehouseError } from "./errors.ts";
import { RegionRouter } from "./region-router.ts";

const unavailable = () =>
  new GatehouseError({ code: "UNAVAILABLE", awsName: "ServiceUnavailable", message: "down", retriable: true });
const denied = () =>
  new GatehouseError({ code: "PERMISSION_DENIED", awsName: "AccessDenied", message: "no", retriable: false });

function ordered(now: { t: number }) {
  return new RegionRouter({
    routing: { kind: "ordered", regions: ["a", "b", "c"] },
    home: "a",
    endpoints: { a: ["h:1"], b: ["h:2"], c: ["h:3"] },
    cooldownMs: 1_000,
    now: () => now.t,
  });
}

describe("RegionRouter", () => {
  it("fails over to the next region on UNAVAILABLE, and tries a failed region last for the cool-down", async () => {
    const now = { t: 0 };
    const router = ordered(now);
    const tried: string[] = [];
    const down = new Set(["a"]);
    const attempt = async (region: string) => {
      tried.push(region);
      if (down.has(region)) throw unavailable();
      return region;
    };
    expect(await router.route(1_000, true, attempt)).toBe("b");
    expect(tried).toEqual(["a", "b"]);
    expect(router.order()).toEqual(["b", "c", "a"]);
    now.t = 1_001; // cool-down over: back in its place
    expect(router.order()).toEqual(["a", "b", "c"]);
    down.clear();
    expect(await router.route(1_000, true, attempt)).toBe("a");
    router.close();
  });

  it("does not fail over on other errors, nor for a call that is not idempotent", async () => {
    const router = ordered({ t: 0 });
    await expect(router.route(1_000, true, async () => Promise.reject(denied()))).rejects.toMatchObject({
      awsName: "AccessDenied",
    });
    const tried: string[] = [];
    await expect(
      router.route(1_000, false, async (r) => {
        tried.push(r);
        throw unavailable();
      }),
    ).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(tried).toEqual(["a"]);
    router.close();
  });

  it("throws the last failure when every region is down", async () => {
    const router = ordered({ t: 0 });
    const tried: string[] = [];
    await expect(
      router.route(1_000, true, async (r) => {
        tried.push(r);
        throw unavailable();
      }),
    ).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(tried).toEqual(["a", "b", "c"]);
    router.close();
  });

  it("home routing has one region and nothing to fail over to", () => {
    const router = new RegionRouter({ routing: { kind: "home" }, home: "a", endpoints: { a: ["h:1"] } });
    expect(router.order()).toEqual(["a"]);
    router.close();
  });
});
