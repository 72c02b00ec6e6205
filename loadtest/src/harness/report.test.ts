// The report renders a summary into an HTML page that carries each chart's data, and a PNG that
// is a real PNG of the stacked charts; the series it plots are recorded by the harness's own
// recorders (per-second throughput, region samples, HDR buckets).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hdr from "hdr-histogram-js";
import { afterAll, describe, expect, test } from "vitest";
import { histogram, latencyBuckets, recordMs } from "./latency.ts";
import { type ReportInput, renderPng, renderSvg, writeReport } from "./report.ts";
import { kafkaLoad, perSecond } from "./summary.ts";
import { createThroughput, type RegionSample } from "./timeline.ts";

const work = mkdtempSync(join(tmpdir(), "gatehouse-report-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 11, 5, 1, 0, 0);
const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"];

function regionSample(t: number, region: string, i: number, applied: number): RegionSample {
  return {
    t_ms: t,
    region,
    staleness_ms: 150 + 40 * i + (t % 7),
    lag: 0,
    applied_offset: applied,
    end_offset: applied,
    partitions: 12,
    l1_principals: 120,
    l1_bytes: 400_000,
    l2_entities: 2_000,
    l2_used_memory_bytes: 3_000_000 + i,
  };
}

/** A summary as a smoke run would write it, built with the harness's own recorders. */
function fixture(faults: ReportInput["faults"] = []): ReportInput {
  const h = histogram();
  for (let i = 0; i < 2_000; i++) recordMs(h, 0.8 + (i % 50) * 0.1 + (i % 97 === 0 ? 40 : 0));
  let now = T0;
  const tp = createThroughput(() => now);
  for (let s = 0; s < 20; s++) {
    now = T0 + 1000 * s + 10;
    tp.count("authorize", 280 + s);
    tp.count("writes", 20);
  }
  const samples = REGIONS.flatMap((r, i) =>
    Array.from({ length: 20 }, (_, s) => regionSample(T0 + 1000 * s, r, i, 1000 + 20 * s)),
  );
  return {
    scenario: "smoke",
    started_at: new Date(T0).toISOString(),
    authorize_p50_ms: 3.1,
    authorize_p99_ms: 40.2,
    authorize_rps: 900,
    writes_per_s: 20,
    propagation_p50_ms: 25,
    propagation_p99_ms: 110,
    propagation_by_region: {},
    lost_updates: 0,
    divergent_decisions: 0,
    checked_decisions: 900,
    faults,
    notes: ["a note"],
    run: { started_at_ms: T0, ended_at_ms: T0 + 20_000, regions: REGIONS },
    authorize_latency_histogram: {
      source: "open loop",
      buckets: latencyBuckets(h),
      hdr_base64: hdr.encodeIntoCompressedBase64(h),
    },
    throughput_per_s: tp.points(),
    region_sample_interval_ms: 1000,
    region_samples: samples,
    propagation_per_s: perSecond(
      REGIONS.flatMap((region, i) =>
        Array.from({ length: 40 }, (_, k) => ({ acked_ms: T0 + 2000 + 50 * k, region, ms: 10 + i + k })),
      ),
    ),
    kafka: kafkaLoad(samples, { from: T0 + 2000, to: T0 + 12_000 }),
    region_resources: Object.fromEntries(
      REGIONS.map((r) => [
        r,
        {
          redis_used_memory_bytes: 3_000_000,
          l2_entities: 2_000,
          applier_rss_bytes: 90_000_000,
          applier_cpu_ms: 12_000,
          applied_records: 4_000,
          deciders: [
            { address: "127.0.0.1:1", rss_bytes: 110_000_000, cpu_ms: 9_000, l1_principals: 120, l1_bytes: 400_000 },
          ],
        },
      ]),
    ),
  };
}

/** Width and height from a PNG's IHDR chunk, after checking the 8-byte signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const svgSize = (svg: string) => {
  const m = /<svg[^>]* width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(svg);
  return { width: Number(m?.[1]), height: Number(m?.[2]) };
};

describe("report", () => {
  test("an HTML page with each chart's SVG and data, and a PNG of the stacked charts", async () => {
    const s = fixture([
      {
        name: "kill -9 us-east-1 applier",
        converge_ms: 4321,
        lost_updates: 0,
        divergent_decisions: 0,
        started_at_ms: T0 + 5_000,
        recovered_at_ms: T0 + 7_000,
        converged_at_ms: T0 + 11_321,
        what: "kill -9 us-east-1-applier, start it again after 2 s",
        region: "us-east-1",
        converge_ms_by_region: { "us-east-1": 4321, "eu-west-1": 12, "ap-southeast-1": 15 },
        writes_acked: 200,
        writes_failed: 0,
        checks_timed_out: 0,
        stale_allows: 0,
        checked_decisions: 600,
        unverified_decisions: 0,
        errors: [],
        unexpected_exits: [],
      },
    ]);
    const dir = join(work, "with-faults");
    const out = await writeReport(s, dir);
    expect(out).toEqual({ html: join(dir, "report.html"), png: join(dir, "report.png") });
    const html = readFileSync(out.html, "utf8");
    // Every chart is there as an inline SVG and as its Vega-Lite spec with the data.
    const specs = [
      ...html.matchAll(/<script type="application\/json" class="vega-lite-spec" data-chart="(\w+)">(.*?)<\/script>/gs),
    ];
    expect(specs.map((m) => m[1])).toEqual(["latency", "throughput", "staleness", "visible", "faults", "memory"]);
    expect(html.match(/<svg /g)?.length).toBe(6);
    const spec = (id: string) => JSON.parse(specs.find((m) => m[1] === id)?.[2] ?? "null");
    const buckets = s.authorize_latency_histogram?.buckets ?? [];
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(2_000);
    expect(spec("latency").layer[0].data.values).toEqual(buckets);
    const tp = spec("throughput").data.values;
    expect(tp).toContainEqual({ t_s: 19, series: "authorize", per_s: 299 });
    expect(new Set(spec("staleness").data.values.map((v: { region: string }) => v.region))).toEqual(new Set(REGIONS));
    expect(spec("faults").layer[0].data.values).toEqual([
      { fault: "kill -9 us-east-1 applier", phase: "down", from: 5, to: 7 },
      { fault: "kill -9 us-east-1 applier", phase: "converging", from: 7, to: 11.3 },
    ]);
    expect(html).toContain("4321 ms, 0 lost, 0 divergent");
    // Writes acknowledged in second 2 (k 0..19) and 3 (k 20..39): the slowest of each, per region.
    expect(spec("visible").data.values).toContainEqual({ t_s: 3, region: "eu-west-1", max_ms: 50, p50_ms: 40 });
    expect(html).not.toContain("no faults in this run");
    // The summary itself rides along, so the page can be re-read.
    const embedded = /<script type="application\/json" id="gatehouse-summary">(.*?)<\/script>/s.exec(html)?.[1];
    expect(JSON.parse(embedded ?? "null")).toEqual(JSON.parse(JSON.stringify(s)));

    const png = readFileSync(out.png);
    const { width, height } = pngSize(png);
    // The PNG is the stacked charts at 1.5x: as wide as one chart plus padding, as tall as five.
    expect(width).toBeGreaterThan(720 * 1.5);
    expect(width).toBeLessThan(1400 * 1.5);
    expect(height).toBeGreaterThan(5 * 100 * 1.5);
  }, 60_000);

  test("without faults the timeline says so, in the page and in the picture", async () => {
    const out = await writeReport(fixture(), join(work, "no-faults"));
    const html = readFileSync(out.html, "utf8");
    const section = /<section class="chart" id="chart-faults">(.*?)<\/section>/s.exec(html)?.[1] ?? "";
    expect(section).toContain("no faults in this run");
    expect(section).toMatch(/<svg [^>]*>.*no faults in this run.*<\/svg>/s);
  }, 60_000);

  test("a drill whose regions never converged is drawn as not converged until the run's end", async () => {
    const out = await writeReport(
      fixture([
        {
          name: "region-partition",
          converge_ms: null,
          lost_updates: 3,
          divergent_decisions: 0,
          started_at_ms: T0 + 2_000,
          recovered_at_ms: T0 + 8_000,
          converged_at_ms: null,
          what: "ap-southeast-1's applier cut off from Kafka",
          region: "ap-southeast-1",
          converge_ms_by_region: { "us-east-1": 10, "eu-west-1": 12, "ap-southeast-1": null },
          writes_acked: 100,
          writes_failed: 0,
          checks_timed_out: 40,
          stale_allows: 0,
          checked_decisions: 200,
          unverified_decisions: 0,
          errors: ["ap-southeast-1: deadline exceeded"],
          unexpected_exits: [],
        },
      ]),
      join(work, "never-converged"),
    );
    const html = readFileSync(out.html, "utf8");
    const spec = /<script type="application\/json" class="vega-lite-spec" data-chart="faults">(.*?)<\/script>/s.exec(
      html,
    )?.[1];
    const layers = JSON.parse(spec ?? "null").layer;
    expect(layers[0].data.values).toEqual([
      { fault: "region-partition", phase: "down", from: 2, to: 8 },
      { fault: "region-partition", phase: "not converged", from: 8, to: 20 },
    ]);
    expect(layers[1].data.values).toEqual([
      { fault: "region-partition", at: 8, label: "never converged, 3 lost, 0 divergent" },
    ]);
  }, 60_000);

  test("an older summary without time series still renders, each missing chart saying why", async () => {
    const out = await writeReport({ scenario: "smoke", started_at: new Date(T0).toISOString() }, join(work, "old"));
    const html = readFileSync(out.html, "utf8");
    expect(html).toContain("no Authorize open loop in this run");
    expect(html).toContain("no throughput series in this summary");
    expect(html).toContain("no staleness samples in this summary");
    expect(html).toContain("no propagation phase in this run");
    pngSize(readFileSync(out.png));
  }, 60_000);

  test("the PNG has the SVG's size times the scale", async () => {
    const svg = await renderSvg({
      width: 200,
      height: 100,
      data: { values: [{ x: 1 }] },
      mark: "point",
      encoding: { x: { field: "x", type: "quantitative" } },
    });
    const { width, height } = svgSize(svg);
    expect(pngSize(renderPng(svg, 2))).toEqual({ width: Math.ceil(width * 2), height: Math.ceil(height * 2) });
  });
});

describe("recorders", () => {
  test("throughput fills seconds with no completion as zeros", () => {
    let now = T0;
    const tp = createThroughput(() => now);
    tp.count("writes", 3);
    now = T0 + 3_500;
    tp.count("writes");
    expect(tp.points()).toEqual([
      { t_ms: T0, series: "writes", per_s: 3 },
      { t_ms: T0 + 1000, series: "writes", per_s: 0 },
      { t_ms: T0 + 2000, series: "writes", per_s: 0 },
      { t_ms: T0 + 3000, series: "writes", per_s: 1 },
    ]);
  });

  test("latency buckets hold every recorded call, ten per decade", () => {
    const h = histogram();
    for (const ms of [1, 1.1, 2, 50, 50, 900]) recordMs(h, ms);
    const b = latencyBuckets(h);
    expect(b.reduce((n, x) => n + x.count, 0)).toBe(6);
    expect(b[0]).toEqual({ from_ms: 1, to_ms: 1.2589, count: 2 });
    expect(b.find((x) => x.from_ms <= 50 && 50 < x.to_ms)?.count).toBe(2);
  });

  test("Kafka load: every region's applied offsets across the window, summed", () => {
    const samples = ["a", "b"].flatMap((r) => [
      regionSample(T0, r, 0, 100),
      regionSample(T0 + 1000, r, 0, 150),
      regionSample(T0 + 11_000, r, 0, 1100),
    ]);
    expect(kafkaLoad(samples, { from: T0 + 500, to: T0 + 10_500 })).toEqual({
      partitions: 12,
      window_ms: 11_000,
      records_published: 1000,
      records_delivered: 2000,
      records_delivered_per_s: 182,
      by_region: { a: 1000, b: 1000 },
    });
  });
});
