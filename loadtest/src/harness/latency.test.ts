import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { closedLoop, histogram } from "./latency.ts";

describe("closedLoop", () => {
  it("counts every worker's units when calls finish out of order", async () => {
    // 16 workers whose calls overlap and finish in a shuffled order, each worth 10 units.
    const result = await closedLoop(
      16,
      200,
      async (i) => {
        await sleep((i * 7) % 5);
        return 10;
      },
      histogram(),
    );
    expect(result.failed).toBe(0);
    expect(result.calls).toBeGreaterThan(16);
    expect(result.units).toBe(result.calls * 10);
  });
});
