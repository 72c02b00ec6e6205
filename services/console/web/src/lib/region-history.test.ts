import { describe, expect, it } from "vitest";
import type { RegionStatus } from "../api/client.ts";
import { addSample, seriesOf } from "./region-history.ts";

const region = (name: string, rev: number, reachable = true): RegionStatus => ({
  region: name,
  endpoint: "127.0.0.1:1",
  reachable,
  appliedRevision: rev,
  stalenessMs: reachable ? 100 : -1,
  watermarkMs: 0,
  consumerLag: 0,
});

describe("region history", () => {
  it("keeps a window of samples in time order", () => {
    let h = addSample([], { at: 1000, regions: [region("a", 1)] }, 5000);
    h = addSample(h, { at: 3000, regions: [region("a", 2)] }, 5000);
    h = addSample(h, { at: 7000, regions: [region("a", 3)] }, 5000);
    expect(h.map((s) => s.at)).toEqual([3000, 7000]);
  });

  it("makes one series per region with gaps where unreachable", () => {
    const h = [
      { at: 1, regions: [region("a", 1)] },
      { at: 2, regions: [region("a", 2), region("b", 2)] },
      { at: 3, regions: [region("a", 5), region("b", 0, false)] },
    ];
    expect(seriesOf(h, "appliedRevision")).toEqual([
      {
        region: "a",
        points: [
          { at: 1, value: 1 },
          { at: 2, value: 2 },
          { at: 3, value: 5 },
        ],
      },
      {
        region: "b",
        points: [
          { at: 1, value: undefined },
          { at: 2, value: 2 },
          { at: 3, value: undefined },
        ],
      },
    ]);
    expect(seriesOf(h, "stalenessMs")[0]?.points[0]?.value).toBe(100);
  });
});
