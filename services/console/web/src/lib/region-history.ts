/**
 * The regions dashboard's memory: one sample per poll of `GET /api/regions`, kept for a window,
 * turned into one series per region for the chart.
 */
import type { RegionStatus } from "../api/client.ts";

/** One poll's answer. */
export interface RegionSample {
  at: number;
  regions: readonly RegionStatus[];
}

/** A point of a region's series; `value` undefined where the region was unreachable. */
export interface SeriesPoint {
  at: number;
  value: number | undefined;
}

/** One region's line. */
export interface Series {
  region: string;
  points: SeriesPoint[];
}

/** Adds a sample and drops those older than `windowMs` before it (samples stay in time order). */
export function addSample(history: readonly RegionSample[], sample: RegionSample, windowMs: number): RegionSample[] {
  const kept = history.filter((s) => s.at > sample.at - windowMs && s.at < sample.at);
  kept.push(sample);
  return kept;
}

/** One series per region seen in the history, of `appliedRevision` or `stalenessMs`. */
export function seriesOf(history: readonly RegionSample[], metric: "appliedRevision" | "stalenessMs"): Series[] {
  const names: string[] = [];
  for (const s of history) for (const r of s.regions) if (!names.includes(r.region)) names.push(r.region);
  return names.map((region) => ({
    region,
    points: history.map((s) => {
      const r = s.regions.find((x) => x.region === region);
      const value = r === undefined || !r.reachable || r[metric] < 0 ? undefined : r[metric];
      return { at: s.at, value };
    }),
  }));
}
