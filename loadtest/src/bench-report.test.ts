import { describe, expect, it } from "vitest";
import { buildReport, computeRatios, type FigureResult, findDisagreements, formatRatio } from "./bench-report.ts";
import { perCallLatency, percentile } from "./measure-decisions.ts";
import type { WorkloadRequest } from "./workloads.ts";

const requests: WorkloadRequest[] = [
  { action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: {} },
  { action: "s3:PutObject", resource: "arn:aws:s3:::b/k", context: {} },
];
const meta = { date: "2026-12-04T00:00:00Z", node: "v24", cedar: "4", timer_overhead_ns: 30 };

function figure(engine: FigureResult["engine"], figure: FigureResult["figure"], perSecond: number): FigureResult {
  return {
    workload: "typical",
    engine,
    figure,
    includes: "x",
    decisions_per_s: perSecond,
    batch: 1,
    per_call_p50_ns: 1e9 / perSecond,
    per_call_p99_ns: 1e9 / perSecond,
    per_call_mean_ns: 1e9 / perSecond,
    per_call_samples: 10,
  };
}

describe("the agreement rule", () => {
  it("finds every request where any engine or figure answers differently", () => {
    const found = findDisagreements(requests, [
      { engine: "gatehouse", figure: "prepared", decisions: ["Allow", "ImplicitDeny"] },
      { engine: "gatehouse", figure: "end-to-end", decisions: ["Allow", "ImplicitDeny"] },
      { engine: "cedar-wasm", figure: "end-to-end", decisions: ["Allow", "ExplicitDeny"] },
    ]);
    expect(found).toEqual([
      {
        index: 1,
        request: requests[1],
        answers: {
          "gatehouse/prepared": "ImplicitDeny",
          "gatehouse/end-to-end": "ImplicitDeny",
          "cedar-wasm/end-to-end": "ExplicitDeny",
        },
      },
    ]);
  });

  it("exits 1 and writes neither figures nor ratios when any workload disagrees", () => {
    const disagreement = findDisagreements(requests, [
      { engine: "gatehouse", figure: "prepared", decisions: ["Allow", "Allow"] },
      { engine: "iam-simulate", figure: "prepared", decisions: ["Allow", "ImplicitDeny"] },
    ]);
    const agreed = { workload: "small" as const, requests: 2, disagreements: [], mix: { Allow: 2 } };
    const { report, exitCode } = buildReport(
      meta,
      [agreed, { workload: "typical", requests: 2, disagreements: disagreement, mix: { Allow: 2 } }],
      [figure("gatehouse", "prepared", 1e6), figure("iam-simulate", "prepared", 1e3)],
      [],
    );
    expect(exitCode).toBe(1);
    expect(report.agreed).toBe(false);
    expect(report.ratios).toBeUndefined();
    expect(report.figures).toBeUndefined();
    expect(report.agreement[1]?.disagreements).toHaveLength(1);
  });

  it("exits 0 with ratios of like figures when every engine agrees", () => {
    const { report, exitCode } = buildReport(
      meta,
      [{ workload: "typical", requests: 2, disagreements: [], mix: { Allow: 2 } }],
      [
        figure("gatehouse", "prepared", 2e6),
        figure("gatehouse", "end-to-end", 1e6),
        figure("cedar-wasm", "prepared", 1e4),
        figure("cedar-wasm", "end-to-end", 5e3),
      ],
      [],
    );
    expect(exitCode).toBe(0);
    expect(report.ratios?.map((r) => [r.figure, r.peer, r.throughput])).toEqual([
      ["prepared", "cedar-wasm", 200],
      ["end-to-end", "cedar-wasm", 200],
    ]);
  });
});

describe("per-call percentiles", () => {
  it("uses the nearest rank", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it("subtracts the timer overhead from every sample, never below zero, before ranking", () => {
    const raw = [130, 40, 1030, 90, 50, 60, 70, 80, 100, 110];
    const latency = perCallLatency(raw, 45);
    expect(latency.p50Ns).toBe(35); // sorted net: 0, 5, 15, 25, 35, 45, 55, 65, 85, 985
    expect(latency.p99Ns).toBe(985);
    expect(latency.meanNs).toBe(Math.round((0 + 5 + 15 + 25 + 35 + 45 + 55 + 65 + 85 + 985) / 10));
    expect(latency.samples).toBe(10);
    expect(latency.timerOverheadNs).toBe(45);
  });
});

describe("ratios", () => {
  it("compares Gatehouse with each peer on the same figure only", () => {
    const ratios = computeRatios([
      figure("gatehouse", "end-to-end", 1e6),
      figure("iam-simulate", "prepared", 1e2),
      figure("iam-simulate", "end-to-end", 1e3),
    ]);
    expect(ratios).toHaveLength(1);
    expect(ratios[0]).toMatchObject({
      figure: "end-to-end",
      peer: "iam-simulate",
      throughput: 1000,
      p50_latency: 1000,
    });
    expect(formatRatio(1000)).toBe("1000x");
    expect(formatRatio(0.25)).toBe("1/4.00x");
  });
});
