/**
 * The pure part of `bench:policy`: the agreement rule, the ratios, the JSON report and the printed
 * table. Kept apart from the timing script so it can be tested.
 */

import type { Decision } from "@gatehouse/policy";
import type { EngineName, FigureName } from "./engines.ts";
import type { WorkloadName, WorkloadRequest } from "./workloads.ts";

/** One engine's answers, in request order, for one figure. */
export interface EngineAnswers {
  engine: EngineName;
  figure: FigureName;
  decisions: readonly Decision[];
}

/** A request on which the engines (or one engine's two figures) did not all answer the same. */
export interface Disagreement {
  index: number;
  request: WorkloadRequest;
  /** `engine/figure` → decision. */
  answers: Record<string, Decision>;
}

/** Every request on which some answer differs from the first engine's first figure. */
export function findDisagreements(
  requests: readonly WorkloadRequest[],
  answers: readonly EngineAnswers[],
): Disagreement[] {
  const out: Disagreement[] = [];
  requests.forEach((request, index) => {
    const first = answers[0]?.decisions[index];
    if (answers.every((a) => a.decisions[index] === first)) return;
    const byEngine: Record<string, Decision> = {};
    for (const a of answers) byEngine[`${a.engine}/${a.figure}`] = a.decisions[index] as Decision;
    out.push({ index, request, answers: byEngine });
  });
  return out;
}

/** The agreement check of one workload. */
export interface AgreementCheck {
  workload: WorkloadName;
  requests: number;
  disagreements: Disagreement[];
  /** Share of each decision in the mix (by the first engine). */
  mix: Record<string, number>;
  /** Request classes left out of the mix, with counts (real-world workloads). */
  excluded?: Record<string, number>;
}

/** One timed figure of one engine on one workload. */
export interface FigureResult {
  workload: WorkloadName;
  engine: EngineName;
  figure: FigureName;
  /** What the timed region contains. */
  includes: string;
  /** Throughput, from batches of `batch` consecutive calls. */
  decisions_per_s: number;
  batch: number;
  /** Per-call latency from single timed calls, net of the timer overhead. */
  per_call_p50_ns: number;
  per_call_p99_ns: number;
  per_call_mean_ns: number;
  per_call_samples: number;
}

/** Gatehouse's compile figures on one workload (µs per principal, per single timed compile). */
export interface CompileResult {
  workload: WorkloadName;
  /** From fresh JSON text (new string objects) with every compile cache cleared first. */
  cold_p50_us: number;
  cold_p99_us: number;
  cold_samples: number;
  /** The same JSON text again: parse and statement caches hit, the principal's index is rebuilt. */
  warm_p50_us: number;
  warm_p99_us: number;
  warm_samples: number;
  heap_bytes_per_principal?: number;
  /** Cedar's one-time cost: preparsing the translated policy set (µs, mean). */
  cedar_preparse_us?: number;
}

/** Gatehouse's throughput over a peer's, on the same workload and the same figure. */
export interface Ratio {
  workload: WorkloadName;
  figure: FigureName;
  peer: EngineName;
  /** Gatehouse decisions/s ÷ peer decisions/s. */
  throughput: number;
  /** Peer per-call p50 ÷ Gatehouse per-call p50. */
  p50_latency: number;
}

/** Ratios of Gatehouse against each peer, like figure against like figure. */
export function computeRatios(figures: readonly FigureResult[]): Ratio[] {
  const out: Ratio[] = [];
  for (const g of figures) {
    if (g.engine !== "gatehouse") continue;
    for (const peer of figures) {
      if (peer.engine === "gatehouse" || peer.workload !== g.workload || peer.figure !== g.figure) continue;
      out.push({
        workload: g.workload,
        figure: g.figure,
        peer: peer.engine,
        throughput: g.decisions_per_s / peer.decisions_per_s,
        p50_latency: peer.per_call_p50_ns / Math.max(1, g.per_call_p50_ns),
      });
    }
  }
  return out;
}

/** What `policy-bench.json` holds. */
export interface BenchReport {
  date: string;
  node: string;
  cedar: string;
  timer_overhead_ns: number;
  agreement: AgreementCheck[];
  /** False when any engine disagreed on any request: then no figures and no ratios are written. */
  agreed: boolean;
  figures?: FigureResult[];
  compile?: CompileResult[];
  ratios?: Ratio[];
}

/** The report and the process exit code: 1, without figures or ratios, when any engine disagreed. */
export function buildReport(
  meta: Pick<BenchReport, "date" | "node" | "cedar" | "timer_overhead_ns">,
  agreement: readonly AgreementCheck[],
  figures: readonly FigureResult[],
  compile: readonly CompileResult[],
): { report: BenchReport; exitCode: number } {
  const agreed = agreement.every((a) => a.disagreements.length === 0);
  if (!agreed) {
    return {
      report: {
        ...meta,
        agreed,
        agreement: agreement.map((a) => ({ ...a, disagreements: a.disagreements.slice(0, 20) })),
      },
      exitCode: 1,
    };
  }
  return {
    report: {
      ...meta,
      agreed,
      agreement: [...agreement],
      figures: [...figures],
      compile: [...compile],
      ratios: computeRatios(figures),
    },
    exitCode: 0,
  };
}

/** `676` when faster than the peer, `1/676` when slower. */
export function formatRatio(ratio: number): string {
  const digits = (r: number) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2));
  return ratio >= 1 ? `${digits(ratio)}x` : `1/${digits(1 / ratio)}x`;
}

/** The printed table of one workload: every engine and figure, with Gatehouse's ratios. */
export function formatTable(workload: WorkloadName, figures: readonly FigureResult[]): string[] {
  const rows = figures.filter((f) => f.workload === workload);
  const ratios = computeRatios(rows);
  const ratioCell = (f: FigureResult, peer: EngineName) => {
    const r = ratios.find((x) => x.figure === f.figure && x.peer === peer && f.engine === "gatehouse");
    return r === undefined ? "-" : formatRatio(r.throughput);
  };
  const header = [
    "engine",
    "figure",
    "decisions/s",
    "batch",
    "p50 ns/call",
    "p99 ns/call",
    "vs cedar-wasm",
    "vs iam-simulate",
  ];
  const body = rows.map((f) => [
    f.engine,
    f.figure,
    Math.round(f.decisions_per_s).toLocaleString("en-US"),
    String(f.batch),
    f.per_call_p50_ns.toLocaleString("en-US"),
    f.per_call_p99_ns.toLocaleString("en-US"),
    ratioCell(f, "cedar-wasm"),
    ratioCell(f, "iam-simulate"),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), ...body.map(line)];
}
