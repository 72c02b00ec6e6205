/**
 * The run's report: Vega-Lite charts of the JSON summary (Authorize latency histogram, throughput
 * over time, staleness over time per region, the fault timeline, per-region memory), compiled to
 * Vega and rendered to SVG by Vega's headless view (no browser), written as one self-contained
 * HTML page (the SVGs inline, the summary and each chart's spec with its data as JSON), and the
 * same charts stacked into one PNG by resvg (a prebuilt binary shipped as an npm package).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import type { TopLevelSpec } from "vega-lite";
import * as vl from "vega-lite";
import type { FaultResult, Summary } from "./summary.ts";

/** A summary as read back from JSON: the report also renders older ones, without time series. */
export type ReportInput = Partial<Summary> & Pick<Summary, "scenario">;

/** One chart of the report. */
export interface ReportChart {
  readonly id: string;
  readonly title: string;
  /** What the chart shows and where its figures come from. */
  readonly caption: string;
  readonly spec: TopLevelSpec;
}

const WIDTH = 720;
const HEIGHT = 220;

/** Seconds since the run started (the x axis every time chart shares). */
const since = (s: ReportInput) => {
  const parsed = Date.parse(s.started_at ?? "");
  const t0 = s.run?.started_at_ms ?? (Number.isNaN(parsed) ? 0 : parsed);
  return (ms: number) => Math.round((ms - t0) / 100) / 10;
};

/** A panel that says, in the chart's place, why there is nothing to plot. */
function message(title: string, text: string): TopLevelSpec {
  return {
    title,
    width: WIDTH,
    height: 60,
    data: { values: [{ text }] },
    mark: { type: "text", fontSize: 14, align: "center", baseline: "middle", color: "#555" },
    encoding: { text: { field: "text", type: "nominal" } },
    view: { stroke: "#ddd" },
  };
}

function latencyChart(s: ReportInput): ReportChart {
  const h = s.authorize_latency_histogram;
  const title = "Authorize latency (open loop, coordinated-omission corrected)";
  const caption =
    "Calls per latency bucket (log-spaced, ten per decade) from the open loop's HDR histogram: each call's latency counts from its due time, so a stalled client or server shows as a right tail.";
  if (h === undefined || h === null || h.buckets.length === 0) {
    return { id: "latency", title, caption, spec: message(title, "no Authorize open loop in this run") };
  }
  const p50 = s.authorize_p50_ms ?? null;
  const p99 = s.authorize_p99_ms ?? null;
  const rules = [
    ...(p50 === null ? [] : [{ at: p50, label: `p50 ${p50} ms` }]),
    ...(p99 === null ? [] : [{ at: p99, label: `p99 ${p99} ms` }]),
  ];
  return {
    id: "latency",
    title,
    caption,
    spec: {
      title,
      width: WIDTH,
      height: HEIGHT,
      layer: [
        {
          data: { values: h.buckets },
          mark: { type: "bar", color: "#4c78a8" },
          encoding: {
            x: { field: "from_ms", type: "quantitative", scale: { type: "log" }, title: "latency (ms, log scale)" },
            x2: { field: "to_ms" },
            y: { field: "count", type: "quantitative", title: "calls" },
            y2: { datum: 0 },
            tooltip: [{ field: "from_ms" }, { field: "to_ms" }, { field: "count" }],
          },
        },
        {
          data: { values: rules },
          layer: [
            {
              mark: { type: "rule", color: "#e45756", strokeDash: [4, 3] },
              encoding: { x: { field: "at", type: "quantitative", scale: { type: "log" } } },
            },
            {
              mark: { type: "text", align: "left", dx: 4, color: "#e45756", baseline: "top" },
              encoding: {
                x: { field: "at", type: "quantitative", scale: { type: "log" } },
                y: { value: 2 },
                text: { field: "label" },
              },
            },
          ],
        },
      ],
    },
  };
}

function throughputChart(s: ReportInput): ReportChart {
  const title = "Throughput over time";
  const caption =
    "Completions per second of each load: Authorize calls (open loop, then closed loop), BatchAuthorize decisions, acknowledged writes (the dataset's, then the propagation phase's or the fault drills', with the drills' failed writes and the decider drill's Authorize load); one row per load, each with its own scale; a second with none shows as 0.";
  const t = since(s);
  const values = (s.throughput_per_s ?? []).map((p) => ({ t_s: t(p.t_ms), series: p.series, per_s: p.per_s }));
  if (values.length === 0)
    return { id: "throughput", title, caption, spec: message(title, "no throughput series in this summary") };
  return {
    id: "throughput",
    title,
    caption,
    spec: {
      title,
      data: { values },
      // One row per load, each with its own y scale: the loads differ by orders of magnitude.
      facet: { row: { field: "series", type: "nominal", title: null, header: { labelAngle: 0, labelAlign: "left" } } },
      spec: {
        width: WIDTH - 140,
        height: 70,
        mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
        encoding: {
          x: { field: "t_s", type: "quantitative", title: "seconds since the run started" },
          y: { field: "per_s", type: "quantitative", title: "per second" },
          color: { field: "series", type: "nominal", legend: null },
          tooltip: [{ field: "t_s" }, { field: "series" }, { field: "per_s" }],
        },
      },
      resolve: { scale: { y: "independent" } },
    } as TopLevelSpec,
  };
}

function stalenessChart(s: ReportInput): ReportChart {
  const title = "Staleness per region";
  const caption = `Each region's GetRegionStatus staleness_ms (time since its oldest partition watermark), sampled every ${s.region_sample_interval_ms ?? "?"} ms; gaps are samples no decider answered within 5 s. The relay sends a heartbeat watermark to every partition each second (GATEHOUSE_CP_RELAY_WATERMARK_MS, 1,000 by default), so a region keeping up reads between 0 and about 1,000 ms plus the relay's delay; more means it is behind.`;
  const t = since(s);
  const values = (s.region_samples ?? [])
    .filter((p) => p.staleness_ms !== null)
    .map((p) => ({ t_s: t(p.t_ms), region: p.region, staleness_ms: p.staleness_ms }));
  if (values.length === 0)
    return { id: "staleness", title, caption, spec: message(title, "no staleness samples in this summary") };
  return {
    id: "staleness",
    title,
    caption,
    spec: {
      title,
      width: WIDTH,
      height: HEIGHT,
      data: { values },
      mark: { type: "line", strokeWidth: 1.2, point: { size: 8 } },
      encoding: {
        x: { field: "t_s", type: "quantitative", title: "seconds since the run started" },
        y: {
          field: "staleness_ms",
          type: "quantitative",
          title: "staleness (ms, symlog)",
          scale: { type: "symlog" },
          axis: { values: [0, 10, 30, 100, 300, 1000, 3000, 10_000, 30_000, 100_000, 300_000] },
        },
        color: { field: "region", type: "nominal", title: null, legend: { labelLimit: 200 } },
        tooltip: [{ field: "t_s" }, { field: "region" }, { field: "staleness_ms" }],
      },
    },
  };
}

function visibleChart(s: ReportInput): ReportChart {
  const title = "Write → visible per region";
  const caption =
    "The propagation phase: for the writes acknowledged in each second, the slowest time from the control plane's answer to the region answering at the write's revision (Authorize with min_revision), per region.";
  const t = since(s);
  const values = (s.propagation_per_s ?? []).map((p) => ({
    t_s: t(p.t_ms),
    region: p.region,
    max_ms: p.max_ms,
    p50_ms: p.p50_ms,
  }));
  if (values.length === 0)
    return { id: "visible", title, caption, spec: message(title, "no propagation phase in this run") };
  return {
    id: "visible",
    title,
    caption,
    spec: {
      title,
      width: WIDTH,
      height: HEIGHT,
      data: { values },
      mark: { type: "line", strokeWidth: 1.2, point: { size: 8 } },
      encoding: {
        x: { field: "t_s", type: "quantitative", title: "seconds since the run started (write acknowledged)" },
        y: {
          field: "max_ms",
          type: "quantitative",
          title: "slowest write → visible (ms, symlog)",
          scale: { type: "symlog" },
          axis: { values: [0, 10, 30, 100, 300, 1000, 3000, 10_000, 30_000] },
        },
        color: { field: "region", type: "nominal", title: null, legend: { labelLimit: 200 } },
        tooltip: [{ field: "t_s" }, { field: "region" }, { field: "p50_ms" }, { field: "max_ms" }],
      },
    },
  };
}

function faultChart(s: ReportInput): ReportChart {
  const title = "Fault timeline";
  const faults: readonly FaultResult[] = s.faults ?? [];
  const caption =
    faults.length === 0
      ? "No fault drill ran in this run (only --scenario faults runs them)."
      : "Per drill: from the failure to the part's recovery (down), then until every region reached the control plane's final revision (converging; not converged: not within the drill's timeout); the label is converge_ms, lost updates and divergent decisions.";
  if (faults.length === 0) return { id: "faults", title, caption, spec: message(title, "no faults in this run") };
  const t = since(s);
  const spans: { fault: string; phase: string; from: number; to: number }[] = [];
  const labels: { fault: string; at: number; label: string }[] = [];
  const runEnd = s.run === undefined ? 0 : t(s.run.ended_at_ms);
  for (const f of faults) {
    // Older summaries may lack the times; null convergence: the regions never converged.
    const { started_at_ms: a, recovered_at_ms: b, converged_at_ms: c } = f;
    if (a !== undefined && b !== undefined) spans.push({ fault: f.name, phase: "down", from: t(a), to: t(b) });
    if (b !== undefined && c !== undefined && c !== null) {
      spans.push({ fault: f.name, phase: "converging", from: t(b), to: t(c) });
    } else if (b !== undefined && c === null) {
      spans.push({ fault: f.name, phase: "not converged", from: t(b), to: Math.max(t(b), runEnd) });
    }
    const end = c ?? b ?? a;
    labels.push({
      fault: f.name,
      at: end === undefined ? 0 : t(end),
      label: `${f.converge_ms === null ? "never converged" : `${f.converge_ms} ms`}, ${f.lost_updates} lost, ${f.divergent_decisions} divergent`,
    });
  }
  const right = Math.max(runEnd, ...spans.map((x) => x.to), ...labels.map((x) => x.at));
  return {
    id: "faults",
    title,
    caption,
    spec: {
      title,
      width: WIDTH,
      height: Math.max(60, 28 * faults.length),
      layer: [
        {
          data: { values: spans },
          mark: { type: "bar", height: 16 },
          encoding: {
            x: {
              field: "from",
              type: "quantitative",
              title: "seconds since the run started",
              scale: { domain: [0, right] },
            },
            x2: { field: "to" },
            y: { field: "fault", type: "nominal", title: null, sort: null, axis: { labelLimit: 260 } },
            color: {
              field: "phase",
              type: "nominal",
              scale: { domain: ["down", "converging", "not converged"], range: ["#e45756", "#f2cf5b", "#999999"] },
              title: null,
            },
            tooltip: [{ field: "fault" }, { field: "phase" }, { field: "from" }, { field: "to" }],
          },
        },
        {
          data: { values: labels },
          mark: { type: "text", align: "left", dx: 6, fontSize: 11 },
          encoding: {
            x: { field: "at", type: "quantitative" },
            y: { field: "fault", type: "nominal", sort: null },
            text: { field: "label" },
          },
        },
      ],
    },
  };
}

function memoryChart(s: ReportInput): ReportChart {
  const title = "Memory per region (end of run)";
  const caption =
    "Per region: its Redis server's used_memory (the view, L2), the applier's RSS, and each decider's RSS and compiled-principal cache (L1 bytes, as the decider reports it).";
  const values: { region: string; what: string; mb: number }[] = [];
  for (const [region, r] of Object.entries(s.region_resources ?? {})) {
    const add = (what: string, bytes: number | null) => {
      if (bytes !== null) values.push({ region, what, mb: Math.round((bytes / 1048576) * 10) / 10 });
    };
    add("redis used_memory", r.redis_used_memory_bytes);
    add("applier rss", r.applier_rss_bytes);
    r.deciders.forEach((d, i) => {
      add(`decider ${i + 1} rss`, d.rss_bytes);
      add(`decider ${i + 1} L1`, d.l1_bytes);
    });
  }
  if (values.length === 0)
    return { id: "memory", title, caption, spec: message(title, "no per-region figures in this summary") };
  return {
    id: "memory",
    title,
    caption,
    spec: {
      title,
      width: WIDTH - 120,
      height: { step: 7 },
      data: { values },
      mark: "bar",
      encoding: {
        y: { field: "region", type: "nominal", title: null, sort: null },
        yOffset: { field: "what", type: "nominal" },
        x: { field: "mb", type: "quantitative", title: "MB" },
        color: { field: "what", type: "nominal", title: null },
        tooltip: [{ field: "region" }, { field: "what" }, { field: "mb" }],
      },
    },
  };
}

/** The report's charts for `s`, in page order. */
export function reportCharts(s: ReportInput): ReportChart[] {
  return [latencyChart(s), throughputChart(s), stalenessChart(s), visibleChart(s), faultChart(s), memoryChart(s)];
}

/** Vega-Lite → Vega → SVG with Vega's headless view (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // A copy: Vega tags the data objects it ingests (a symbol id on each row).
  const copy = JSON.parse(JSON.stringify(spec)) as TopLevelSpec;
  const compiled = vl.compile({ background: "white", padding: 12, ...copy } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG → PNG with resvg (fonts: the system's; without any, text is left out, shapes still render). */
export function renderPng(svg: string, scale = 1.5): Buffer {
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}

const esc = (t: string) =>
  t.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replaceAll("<", "\\u003c");

function headline(s: ReportInput): [string, string][] {
  const f = (v: number | null | undefined, unit = "") => (v === null || v === undefined ? "-" : `${v}${unit}`);
  const rows: [string, string][] = [
    ["scenario", s.scenario],
    ["started", s.started_at ?? "-"],
    ["regions", (s.run?.regions ?? Object.keys(s.propagation_by_region ?? {})).join(", ") || "-"],
    [
      "dataset",
      s.dataset === undefined
        ? "-"
        : `${s.dataset.accounts} accounts × ${s.dataset.users_per_account} users, ${s.dataset.writes} writes at ${s.dataset.writes_per_s}/s`,
    ],
    ["writes_per_s", f(s.writes_per_s)],
    ["propagation p50 / p99 (all regions)", `${f(s.propagation_p50_ms, " ms")} / ${f(s.propagation_p99_ms, " ms")}`],
    ["authorize p50 / p99 (open loop)", `${f(s.authorize_p50_ms, " ms")} / ${f(s.authorize_p99_ms, " ms")}`],
    ["authorize_rps (closed loop, client-bound)", f(s.authorize_rps)],
    ["batch_decisions_per_s", f(s.batch_decisions_per_s)],
    [
      "kafka, propagation phase",
      s.kafka === undefined || s.kafka === null
        ? "-"
        : `${s.kafka.partitions} partitions; ${s.kafka.records_published} records published, ${s.kafka.records_delivered} delivered (${s.kafka.records_delivered_per_s}/s)`,
    ],
    ["lost_updates", f(s.lost_updates)],
    ["divergent_decisions", `${f(s.divergent_decisions)} of ${f(s.checked_decisions)} checked`],
    ["faults", String((s.faults ?? []).length)],
  ];
  return rows;
}

/** The HTML page: headline figures, each chart's SVG and caption, the summary and the specs as JSON. */
export function reportHtml(s: ReportInput, charts: readonly ReportChart[], svgs: readonly string[]): string {
  const table = headline(s)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
    .join("\n");
  const sections = charts
    .map(
      (c, i) => `<section class="chart" id="chart-${c.id}">
<h2>${esc(c.title)}</h2>
<p>${esc(c.caption)}</p>
${svgs[i] ?? ""}
<script type="application/json" class="vega-lite-spec" data-chart="${c.id}">${scriptJson(c.spec)}</script>
</section>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Gatehouse load test: ${esc(s.scenario)} ${esc(s.started_at ?? "")}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 820px; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { text-align: left; padding: 0.2rem 0.8rem 0.2rem 0; border-bottom: 1px solid #eee; font-weight: normal; }
th { color: #555; }
section.chart p { color: #555; font-size: 0.9rem; }
ul.notes { color: #555; font-size: 0.85rem; }
</style>
</head>
<body>
<h1>Gatehouse load test: ${esc(s.scenario)}</h1>
<table>
${table}
</table>
${sections}
<h2>Notes</h2>
<ul class="notes">${(s.notes ?? []).map((n) => `<li>${esc(n)}</li>`).join("")}</ul>
<script type="application/json" id="gatehouse-summary">${scriptJson(s)}</script>
</body>
</html>
`;
}

/** Renders the report of `s` into `dir` (report.html, report.png); returns their paths. */
export async function writeReport(s: ReportInput, dir: string): Promise<{ html: string; png: string }> {
  const charts = reportCharts(s);
  const svgs = await Promise.all(charts.map((c) => renderSvg(c.spec)));
  // One PNG of every chart, stacked: a Vega-Lite vconcat of the same specs.
  const stacked = await renderSvg({
    title: { text: `Gatehouse load test: ${s.scenario} (${s.started_at ?? ""})`, fontSize: 16 },
    vconcat: charts.map((c) => {
      const { $schema: _s, ...inner } = c.spec as TopLevelSpec & { $schema?: string };
      return inner;
    }),
    spacing: 28,
    // Each chart keeps its own colors and legend (the fault phases' palette is not the loads').
    resolve: { scale: { color: "independent", x: "independent", y: "independent" }, legend: { color: "independent" } },
  } as TopLevelSpec);
  mkdirSync(dir, { recursive: true });
  const html = resolve(join(dir, "report.html"));
  const png = resolve(join(dir, "report.png"));
  writeFileSync(html, reportHtml(s, charts, svgs));
  writeFileSync(png, renderPng(stacked));
  return { html, png };
}
