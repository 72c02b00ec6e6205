/**
 * The run's time series, for the report: completions per second of each load (Authorize calls,
 * BatchAuthorize decisions, acknowledged writes), and each region's staleness and view size sampled
 * from `GetRegionStatus` at a fixed interval. Times are epoch milliseconds, so the fault drills'
 * `started_at_ms`/`recovered_at_ms`/`converged_at_ms` line up with them.
 */
import type { Gatehouse } from "@gatehouse/sdk";

/** One second of one load: how many completed in [t_ms, t_ms + 1000). */
export interface ThroughputPoint {
  readonly t_ms: number;
  readonly series: string;
  readonly per_s: number;
}

/** One region's status at one sample. */
export interface RegionSample {
  readonly t_ms: number;
  readonly region: string;
  /** ms since the region's oldest partition watermark (GetRegionStatus), null when none seen. */
  readonly staleness_ms: number | null;
  /** Messages published but not yet applied, over the change topic's partitions. */
  readonly lag: number;
  /** Records the region's applier handled so far (sum of applied offsets). */
  readonly applied_offset: number;
  /** The topic's end offsets summed (what was published). */
  readonly end_offset: number;
  readonly partitions: number;
  readonly l1_principals: number;
  readonly l1_bytes: number;
  readonly l2_entities: number;
  readonly l2_used_memory_bytes: number;
}

/** Counts completions per second per series. */
export interface Throughput {
  count(series: string, n?: number): void;
  points(): ThroughputPoint[];
}

/** A per-second counter (`now` is injectable for tests). */
export function createThroughput(now: () => number = Date.now): Throughput {
  const bins = new Map<string, Map<number, number>>();
  return {
    count(series, n = 1) {
      const second = Math.floor(now() / 1000) * 1000;
      let s = bins.get(series);
      if (s === undefined) {
        s = new Map();
        bins.set(series, s);
      }
      s.set(second, (s.get(second) ?? 0) + n);
    },
    points() {
      const out: ThroughputPoint[] = [];
      for (const [series, s] of bins) {
        const seconds = [...s.keys()].sort((a, b) => a - b);
        const first = seconds[0];
        const last = seconds.at(-1);
        if (first === undefined || last === undefined) continue;
        // Seconds with no completion inside the series' span are zeros, not gaps: a stall shows.
        for (let t = first; t <= last; t += 1000) out.push({ t_ms: t, series, per_s: s.get(t) ?? 0 });
      }
      return out.sort((a, b) => a.t_ms - b.t_ms);
    },
  };
}

/** Reads one region's status into a sample (null when no decider of it answered). */
export async function sampleRegion(region: string, client: Gatehouse, t = Date.now()): Promise<RegionSample | null> {
  try {
    const s = await client.authz.regionStatus({ region, pageSize: 1 }, { timeoutMs: 5000 });
    const lag = s.consumerLag;
    return {
      t_ms: t,
      region,
      staleness_ms: Number(s.stalenessMs) < 0 ? null : Number(s.stalenessMs),
      lag: lag.reduce((n, p) => n + Number(p.lag), 0),
      applied_offset: lag.reduce((n, p) => n + Number(p.appliedOffset), 0),
      end_offset: lag.reduce((n, p) => n + Number(p.endOffset), 0),
      partitions: lag.length,
      l1_principals: Number(s.l1Principals),
      l1_bytes: Number(s.l1Bytes),
      l2_entities: Number(s.l2Entities),
      l2_used_memory_bytes: Number(s.l2UsedMemoryBytes),
    };
  } catch {
    return null;
  }
}

/** Samples every region every `intervalMs` until stopped; returns the samples in time order. */
export function startRegionMonitor(regions: ReadonlyMap<string, Gatehouse>, intervalMs: number) {
  const samples: RegionSample[] = [];
  let busy = false;
  const tick = async () => {
    if (busy) return; // a slow round is not stacked on: the gap shows in the series
    busy = true;
    const t = Date.now();
    try {
      const round = await Promise.all([...regions].map(([name, c]) => sampleRegion(name, c, t)));
      for (const s of round) if (s !== null) samples.push(s);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  return {
    intervalMs,
    async stop(): Promise<RegionSample[]> {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 20));
      return samples;
    },
  };
}
