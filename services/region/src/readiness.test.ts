import type { PartitionLag, RegionView } from "@gatehouse/view-redis";
import { describe, expect, it } from "vitest";
import { createCatchUpProbe } from "./readiness.ts";

const lagOf = (recordedAtMs: number, parts: [number, number, number][]): PartitionLag[] =>
  parts.map(([partition, appliedOffset, endOffset]) => ({
    partition,
    appliedOffset,
    endOffset,
    committedOffset: appliedOffset,
    lag: endOffset - appliedOffset,
    recordedAtMs,
  }));

describe("createCatchUpProbe", () => {
  it("waits for a record made after start, fixes its end offsets as the target, and stays ready once reached", async () => {
    let now = 1000;
    let lag: PartitionLag[] = [];
    const view = { consumerLag: async () => lag } as unknown as RegionView;
    const probe = createCatchUpProbe(view, () => now);
    expect((await probe()).ready).toBe(false);
    // Recorded before the decider started: says nothing about the topic's end at start.
    lag = lagOf(999, [
      [0, 10, 10],
      [1, 5, 5],
    ]);
    expect(await probe()).toMatchObject({
      ready: false,
      reason: expect.stringContaining("since this decider started"),
    });
    now = 2000;
    lag = lagOf(1500, [
      [0, 3, 10],
      [1, 5, 5],
    ]);
    expect(await probe()).toMatchObject({ ready: false, reason: expect.stringContaining("partition 0 at 3 of 10") });
    // The end moved on (writes go on): the target stays where it was fixed.
    lag = lagOf(1600, [
      [0, 10, 20],
      [1, 5, 9],
    ]);
    expect(await probe()).toEqual({ ready: true });
    // Once caught up, later lag does not take readiness away; a Redis error does.
    lag = lagOf(1700, [[0, 10, 90]]);
    expect(await probe()).toEqual({ ready: true });
    const failing = createCatchUpProbe(
      {
        consumerLag: async () => {
          throw new Error("Redis down");
        },
      } as unknown as RegionView,
      () => now,
    );
    await expect(failing()).rejects.toThrow("Redis down");
  });
});
