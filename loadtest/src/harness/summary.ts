/**
 * The run's summary: the JSON figures (`--json FILE`) and the table printed on stdout.
 */
import hdr from "hdr-histogram-js";
import type { CorrectnessResult } from "./correctness.ts";
import type { HotPathResult } from "./hot-path.ts";
import { type Histogram, latencyBuckets, pctMs } from "./latency.ts";
import type { PropagationResult } from "./propagation.ts";
import type { RegionResources } from "./resources.ts";
import type { RunSettings, ScenarioName } from "./scenarios.ts";
import type { RegionSample, ThroughputPoint } from "./timeline.ts";

/**
 * A fault drill's outcome (`--scenario faults`; other scenarios leave `faults` empty). Times are
 * epoch milliseconds: the fault injected, the failed part back, every region answering at the
 * control plane's revision of every account; `converge_ms` = converged - recovered. A drill whose
 * regions did not converge within the timeout has null convergence figures.
 */
export interface FaultResult {
  readonly name: string;
  readonly converge_ms: number | null;
  readonly lost_updates: number;
  /** Decisions the pure engine disagrees with, plus Allows of a revoked object at or after the revoke. */
  readonly divergent_decisions: number;
  readonly started_at_ms: number;
  readonly recovered_at_ms: number;
  readonly converged_at_ms: number | null;
  readonly what: string;
  /** The region the fault hit (null: the control plane or the broker, every region). */
  readonly region: string | null;
  readonly converge_ms_by_region: Readonly<Record<string, number | null>>;
  readonly writes_acked: number;
  /** Writes the control plane did not acknowledge (it was down): not acknowledged, so never "lost". */
  readonly writes_failed: number;
  /** Per-write region checks that got no answer within the convergence timeout. */
  readonly checks_timed_out: number;
  readonly stale_allows: number;
  readonly checked_decisions: number;
  readonly unverified_decisions: number;
  readonly authorize_answered?: number;
  readonly authorize_failed?: number;
  /** Why a region did not converge, the last error of a check that never got an answer. */
  readonly errors: readonly string[];
  /** Processes that exited without the drill killing them (an applier's exit 75 after a flush). */
  readonly unexpected_exits: readonly string[];
}

/** The change topic's load during the propagation phase, from the regions' applied offsets. */
export interface KafkaLoad {
  readonly partitions: number;
  readonly window_ms: number;
  /** Records published to the change topic in the window (end offsets' growth). */
  readonly records_published: number;
  /** Records the broker delivered to the regions' appliers (every region reads every record). */
  readonly records_delivered: number;
  readonly records_delivered_per_s: number;
  readonly by_region: Record<string, number>;
}

/** The JSON summary. Figures of a phase that did not run are null. */
export interface Summary {
  readonly scenario: ScenarioName;
  readonly started_at: string;
  readonly settings: RunSettings;
  readonly dataset: { accounts: number; users_per_account: number; writes: number; writes_per_s: number };
  readonly authorize_rps: number | null;
  readonly authorize_p50_ms: number | null;
  readonly authorize_p99_ms: number | null;
  readonly authorize_open_loop: { target_rps: number; achieved_rps: number; failed: number } | null;
  readonly authorize_closed_loop: { rps: number; p50_ms: number; p99_ms: number; concurrency: number } | null;
  readonly batch_decisions_per_s: number | null;
  readonly writes_per_s: number | null;
  readonly propagation_p50_ms: number | null;
  readonly propagation_p99_ms: number | null;
  readonly propagation_by_region: Record<string, { p50_ms: number; p99_ms: number; max_ms: number; count: number }>;
  readonly propagation_method: string;
  readonly propagation_timeouts: number;
  readonly lost_updates: number;
  readonly divergent_decisions: number;
  readonly checked_decisions: number;
  readonly checked_by_decision: Readonly<Record<string, number>>;
  readonly failed_writes: number;
  readonly unverified_decisions: number;
  readonly exports: number;
  readonly divergence_examples: CorrectnessResult["examples"];
  readonly faults: FaultResult[];
  readonly notes: string[];
  /** The run's wall-clock window (epoch ms) and its regions. */
  readonly run: { started_at_ms: number; ended_at_ms: number; regions: string[] };
  /** The open loop's Authorize latencies (the HDR histogram: log-spaced buckets, and the histogram itself). */
  readonly authorize_latency_histogram: {
    source: string;
    buckets: { from_ms: number; to_ms: number; count: number }[];
    hdr_base64: string;
  } | null;
  /** Completions per second of each load (Authorize, BatchAuthorize decisions, writes). */
  readonly throughput_per_s: ThroughputPoint[];
  /** Every region's GetRegionStatus sampled every `region_sample_interval_ms` (staleness, lag, view size). */
  readonly region_sample_interval_ms: number;
  readonly region_samples: RegionSample[];
  /** Per second of acknowledgement and region: the propagation phase's write → visible times. */
  readonly propagation_per_s: { t_ms: number; region: string; count: number; p50_ms: number; max_ms: number }[];
  readonly kafka: KafkaLoad | null;
  /** Per region at the end: Redis used_memory, the deciders' L1 and RSS, the applier's RSS. */
  readonly region_resources: Record<string, RegionResources>;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const mb = (b: number | null) => (b === null ? "?" : `${(b / 1048576).toFixed(1)} MB`);
const rate = (n: number, ms: number) => (ms <= 0 ? 0 : Math.round((n * 1000) / ms));

/** Builds the summary from the phases' results. */
export function summarize(input: {
  scenario: ScenarioName;
  startedAt: Date;
  settings: RunSettings;
  dataset: { writes: number; ms: number };
  propagation?: PropagationResult;
  hot?: HotPathResult;
  correctness: CorrectnessResult;
  lostUpdates: number;
  endedAt: Date;
  regions: readonly string[];
  throughput: ThroughputPoint[];
  regionSamples: RegionSample[];
  regionSampleIntervalMs: number;
  /** The propagation phase's window (epoch ms), for the Kafka figures. */
  propagationWindow?: { from: number; to: number };
  regionResources: Record<string, RegionResources>;
  faults?: FaultResult[];
}): Summary {
  const { propagation: p, hot: h, correctness: c } = input;
  const byRegion: Summary["propagation_by_region"] = {};
  for (const [region, hist] of p?.perRegion ?? []) {
    byRegion[region] = {
      p50_ms: round(pctMs(hist, 50)),
      p99_ms: round(pctMs(hist, 99)),
      max_ms: round(hist.maxValue / 1000),
      count: hist.totalCount,
    };
  }
  const q = (hist: Histogram | undefined, pct: number) => (hist === undefined ? null : round(pctMs(hist, pct)));
  return {
    scenario: input.scenario,
    started_at: input.startedAt.toISOString(),
    settings: input.settings,
    dataset: {
      accounts: input.settings.accounts,
      users_per_account: input.settings.users,
      writes: input.dataset.writes,
      writes_per_s: rate(input.dataset.writes, input.dataset.ms),
    },
    authorize_rps: h === undefined ? null : rate(h.closed.calls, h.closed.ms),
    authorize_p50_ms: q(h?.open.latency, 50),
    authorize_p99_ms: q(h?.open.latency, 99),
    authorize_open_loop:
      h === undefined
        ? null
        : {
            target_rps: h.open.rate,
            achieved_rps: rate(h.open.sent - h.open.failed, h.open.ms),
            failed: h.open.failed,
          },
    authorize_closed_loop:
      h === undefined
        ? null
        : {
            rps: rate(h.closed.calls, h.closed.ms),
            p50_ms: round(pctMs(h.closed.latency, 50)),
            p99_ms: round(pctMs(h.closed.latency, 99)),
            concurrency: h.closed.concurrency,
          },
    batch_decisions_per_s: h === undefined ? null : rate(h.batch.decisions, h.batch.ms),
    writes_per_s: p === undefined ? null : rate(p.writes.length, p.writeMs),
    propagation_p50_ms: q(p?.allRegions, 50),
    propagation_p99_ms: q(p?.allRegions, 99),
    propagation_by_region: byRegion,
    propagation_method:
      "per write: control plane's answer -> Authorize with min_revision = the write's revision answered by the region (the decider holds the call until it applied it; one round trip included)",
    propagation_timeouts: p?.timeouts ?? 0,
    lost_updates: input.lostUpdates,
    divergent_decisions: c.divergent,
    checked_decisions: c.checked,
    checked_by_decision: c.byDecision,
    failed_writes: p?.failedWrites ?? 0,
    unverified_decisions: c.unverified,
    exports: c.exports,
    divergence_examples: c.examples,
    faults: input.faults ?? [],
    run: {
      started_at_ms: input.startedAt.getTime(),
      ended_at_ms: input.endedAt.getTime(),
      regions: [...input.regions],
    },
    authorize_latency_histogram:
      h === undefined
        ? null
        : {
            source: "Authorize open loop, each call from its due time (coordinated-omission corrected)",
            buckets: latencyBuckets(h.open.latency),
            hdr_base64: hdr.encodeIntoCompressedBase64(h.open.latency),
          },
    throughput_per_s: input.throughput,
    region_sample_interval_ms: input.regionSampleIntervalMs,
    region_samples: input.regionSamples,
    propagation_per_s: perSecond(p?.visible ?? []),
    kafka: input.propagationWindow === undefined ? null : kafkaLoad(input.regionSamples, input.propagationWindow),
    region_resources: input.regionResources,
    notes: [
      "Client: @gatehouse/sdk over @grpc/grpc-js with SigV4 signing, in one Node process; a grpc-js client tops out near 9k calls/s, so the Authorize figures are bounded by the client, not the deciders (npm run bench:region measures one decider without it).",
      "authorize_p50_ms/p99_ms are open-loop latencies from each call's due time (coordinated-omission corrected); authorize_rps is the closed loop's throughput.",
      `Everything (harness, control plane, ${input.regions.length} regions x (applier + deciders), Postgres, Kafka, Redis) shares this machine's cores.`,
    ],
  };
}

/** Write → visible times grouped by the second the write was acknowledged in, per region. */
export function perSecond(visible: PropagationResult["visible"]): Summary["propagation_per_s"] {
  const groups = new Map<string, number[]>();
  for (const v of visible) {
    const key = `${Math.floor(v.acked_ms / 1000) * 1000} ${v.region}`;
    const list = groups.get(key) ?? [];
    list.push(v.ms);
    groups.set(key, list);
  }
  return [...groups]
    .map(([key, ms]) => {
      const [t, region] = key.split(" ") as [string, string];
      const sorted = ms.sort((a, b) => a - b);
      return {
        t_ms: Number(t),
        region,
        count: sorted.length,
        p50_ms: round(sorted[Math.floor((sorted.length - 1) / 2)] as number),
        max_ms: round(sorted.at(-1) as number),
      };
    })
    .sort((a, b) => a.t_ms - b.t_ms || a.region.localeCompare(b.region));
}

/**
 * Records the change topic carried while writing: per region, how far its applier's offsets moved
 * between the last sample before the window and the first sample after it settled.
 */
export function kafkaLoad(samples: readonly RegionSample[], window: { from: number; to: number }): KafkaLoad | null {
  const byRegion: Record<string, number> = {};
  let published = 0;
  let partitions = 0;
  let span = 0;
  for (const region of new Set(samples.map((s) => s.region))) {
    const own = samples.filter((s) => s.region === region && s.partitions > 0);
    const before = own.filter((s) => s.t_ms <= window.from).at(-1) ?? own[0];
    const after = own.find((s) => s.t_ms >= window.to) ?? own.at(-1);
    if (before === undefined || after === undefined || after === before) continue;
    byRegion[region] = after.applied_offset - before.applied_offset;
    published = Math.max(published, after.end_offset - before.end_offset);
    partitions = Math.max(partitions, after.partitions);
    span = Math.max(span, after.t_ms - before.t_ms);
  }
  const delivered = Object.values(byRegion).reduce((a, b) => a + b, 0);
  if (span === 0) return null;
  return {
    partitions,
    window_ms: span,
    records_published: published,
    records_delivered: delivered,
    records_delivered_per_s: rate(delivered, span),
    by_region: byRegion,
  };
}

/** The table printed at the end of a run. */
export function summaryTable(s: Summary): string {
  const f = (v: number | null, unit = "") => (v === null ? "-" : `${v}${unit}`);
  const rows: [string, string][] = [
    ["scenario", s.scenario],
    [
      "dataset",
      `${s.dataset.accounts} accounts x ${s.dataset.users_per_account} users, ${s.dataset.writes} writes at ${s.dataset.writes_per_s}/s`,
    ],
    ["writes_per_s (propagation phase)", f(s.writes_per_s)],
    ["propagation p50 / p99 (all regions)", `${f(s.propagation_p50_ms, " ms")} / ${f(s.propagation_p99_ms, " ms")}`],
    ...Object.entries(s.propagation_by_region).map(([r, v]): [string, string] => [
      `  ${r} p50 / p99 / max`,
      `${v.p50_ms} / ${v.p99_ms} / ${v.max_ms} ms (${v.count})`,
    ]),
    [
      "authorize open loop (target, achieved)",
      s.authorize_open_loop === null
        ? "-"
        : `${s.authorize_open_loop.target_rps}/s, ${s.authorize_open_loop.achieved_rps}/s, ${s.authorize_open_loop.failed} failed`,
    ],
    [
      "authorize p50 / p99 (open loop, CO-corrected)",
      `${f(s.authorize_p50_ms, " ms")} / ${f(s.authorize_p99_ms, " ms")}`,
    ],
    ["authorize_rps (closed loop, client-bound)", f(s.authorize_rps)],
    ["batch_decisions_per_s", f(s.batch_decisions_per_s)],
    [
      "kafka (propagation phase)",
      s.kafka === null
        ? "-"
        : `${s.kafka.partitions} partitions, ${s.kafka.records_published} records published, ${s.kafka.records_delivered} delivered to ${Object.keys(s.kafka.by_region).length} regions (${s.kafka.records_delivered_per_s}/s)`,
    ],
    ...Object.entries(s.region_resources).map(([r, v]): [string, string] => [
      `  ${r} memory`,
      `redis ${mb(v.redis_used_memory_bytes)}, applier rss ${mb(v.applier_rss_bytes)} cpu ${v.applier_cpu_ms ?? "?"} ms for ${v.applied_records ?? "?"} records, deciders rss ${v.deciders.map((d) => mb(d.rss_bytes)).join(" / ")}, L1 ${v.deciders.map((d) => `${d.l1_principals ?? "?"} principals ${mb(d.l1_bytes)}`).join(" / ")}`,
    ]),
    ["lost_updates", String(s.lost_updates)],
    [
      "divergent_decisions",
      `${s.divergent_decisions} of ${s.checked_decisions} checked (${Object.entries(s.checked_by_decision)
        .map(([d, n]) => `${n} ${d}`)
        .join(", ")}; ${s.unverified_decisions} unverified, ${s.exports} exports)`,
    ],
  ];
  // A faults run has no propagation or hot-path phase: its rows would all read "-".
  if (s.scenario === "faults") {
    for (let i = rows.length - 1; i >= 0; i--) if (/^[-/ ]+$/.test((rows[i] as [string, string])[1])) rows.splice(i, 1);
  }
  for (const d of s.faults) {
    rows.push([
      `fault ${d.name}`,
      `converged ${d.converge_ms === null ? "NEVER" : `${d.converge_ms} ms`} after recovery (down ${d.recovered_at_ms - d.started_at_ms} ms), ${d.lost_updates} lost, ${d.divergent_decisions} divergent, ${d.writes_acked} writes acked, ${d.writes_failed} failed`,
    ]);
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  return `${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n")}\n\nNote: ${s.notes[0]}\n`;
}
