/**
 * `npm run bench:policy`: Gatehouse's compiled evaluator vs @cloud-copilot/iam-simulate vs
 * @cedar-policy/cedar-wasm, in one process, on the same seeded workloads (`workloads.ts`).
 *
 * For each principal size it first checks that the three engines agree on every request of the
 * mix (a benchmark of engines that answer differently measures nothing), then warms up and times
 * each engine (`measure-decisions.ts`), then measures Gatehouse's compile time and the heap a
 * compiled principal keeps. Results go to stdout and to `loadtest/results/policy-bench.json`.
 *
 *   node --expose-gc loadtest/src/policy-bench.ts [--quick] [--workloads small,typical] [--engines gatehouse,cedar-wasm]
 *
 * Exit status 1 when the engines disagree on any request.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { compilePolicySet } from "@gatehouse/policy";
import { toCedarPolicies } from "./cedar-translate.ts";
import { type EngineName, engineNames, type PreparedEngine, prepareEngine } from "./engines.ts";
import { type DecisionMeasurement, measureDecisions } from "./measure-decisions.ts";
import { createWorkload, type Workload, type WorkloadName } from "./workloads.ts";

/** One row of `policy-bench.json`. */
export interface BenchResult {
  workload: WorkloadName;
  engine: EngineName;
  decisions_per_s: number;
  p50_ns: number;
  p99_ns: number;
}

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    workloads: { type: "string", default: "small,typical,large" },
    engines: { type: "string", default: engineNames.join(",") },
  },
});
const workloadNames = (args.workloads ?? "").split(",") as WorkloadName[];
const engines = (args.engines ?? "").split(",") as EngineName[];
const scale = args.quick ? 0.2 : 1;

// Request-mix sizes: iam-simulate needs milliseconds per decision on the large principal, and the
// agreement check asks every engine about every request once.
const mixSize: Record<WorkloadName, number> = { small: 1000, typical: 1000, large: 300 };
// Time per engine; iam-simulate is slow, so it gets more wall time but far fewer decisions.
const timing: Record<EngineName, { warmupMs: number; measureMs: number }> = {
  gatehouse: { warmupMs: 500, measureMs: 2000 },
  "cedar-wasm": { warmupMs: 300, measureMs: 2000 },
  "iam-simulate": { warmupMs: 300, measureMs: 2500 },
};

const gc = (globalThis as { gc?: () => void }).gc;
const results: BenchResult[] = [];
const measurements = new Map<string, DecisionMeasurement>();
let disagreed = false;

console.log(
  `policy benchmark: node ${process.version}, cedar ${cedar.getCedarVersion()}, engines ${engines.join(", ")}`,
);
for (const name of workloadNames) {
  const workload = createWorkload(name, { requests: mixSize[name] });
  const statements = workload.policies.reduce((n, p) => n + p.Statement.length, 0);
  console.log(
    `\n== ${name}: ${workload.policies.length} policies, ${statements} statements, ${workload.requests.length} requests (seed ${workload.seed.toString(16)})`,
  );
  const prepared = new Map<EngineName, PreparedEngine>(engines.map((e) => [e, prepareEngine(e, workload)]));
  disagreed = !checkAgreement(workload, prepared) || disagreed;
  for (const [engine, p] of prepared) {
    const t = timing[engine];
    const m = measureDecisions(p.decide, workload.requests.length, {
      warmupMs: t.warmupMs * scale,
      measureMs: t.measureMs * scale,
    });
    measurements.set(`${name}/${engine}`, m);
    results.push({
      workload: name,
      engine,
      decisions_per_s: Math.round(m.decisionsPerSecond),
      p50_ns: m.p50Ns,
      p99_ns: m.p99Ns,
    });
  }
  printTable(name);
  if (engines.includes("gatehouse")) reportCompile(workload);
  if (engines.includes("cedar-wasm")) reportCedarPreparse(workload);
}

console.log("\n== summary");
for (const name of workloadNames) {
  console.log(`-- ${name}`);
  printTable(name);
}

const out = new URL("../results/policy-bench.json", import.meta.url);
mkdirSync(new URL(".", out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${out.pathname}`);
if (disagreed) {
  console.error("engines disagree on some decisions (see above): the comparison is not like for like");
  process.exitCode = 1;
}

/** Asks every engine about every request once; prints the agreement and the first disagreements. */
function checkAgreement(workload: Workload, prepared: Map<EngineName, PreparedEngine>): boolean {
  const counts: Record<string, number> = {};
  const disagreements: string[] = [];
  workload.requests.forEach((request, i) => {
    const answers = [...prepared].map(([engine, p]) => [engine, p.decide(i)] as const);
    const first = answers[0]?.[1] ?? "none";
    counts[first] = (counts[first] ?? 0) + 1;
    if (answers.some(([, d]) => d !== first)) {
      disagreements.push(`  #${i} ${JSON.stringify(request)}: ${answers.map(([e, d]) => `${e}=${d}`).join(" ")}`);
    }
  });
  const total = workload.requests.length;
  const agreed = total - disagreements.length;
  const mix = Object.entries(counts)
    .map(([d, n]) => `${d} ${((100 * n) / total).toFixed(0)}%`)
    .join(", ");
  console.log(`agreement: ${((100 * agreed) / total).toFixed(2)}% (${agreed}/${total}); mix: ${mix}`);
  for (const line of disagreements.slice(0, 5)) console.log(line);
  return disagreements.length === 0;
}

function printTable(name: WorkloadName): void {
  const rows = results.filter((r) => r.workload === name);
  const header = ["engine", "decisions/s", "p50 ns", "p99 ns", "batch", ...rows.map((r) => `vs ${r.engine}`)];
  const body = rows.map((r) => [
    r.engine,
    Math.round(r.decisions_per_s).toLocaleString("en-US"),
    r.p50_ns.toLocaleString("en-US"),
    r.p99_ns.toLocaleString("en-US"),
    String(measurements.get(`${name}/${r.engine}`)?.batchSize ?? ""),
    // Throughput ratio: how many times as many decisions per second as the peer.
    ...rows.map((peer) => (peer === r ? "-" : `${formatRatio(r.decisions_per_s / peer.decisions_per_s)}x`)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  console.log(line(header));
  for (const row of body) console.log(line(row));
}

/** `676x` when faster than the peer, `1/676x` when slower. */
function formatRatio(ratio: number): string {
  const digits = (r: number) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2));
  return ratio >= 1 ? digits(ratio) : `1/${digits(1 / ratio)}`;
}

/**
 * Compile time per principal (from JSON text, as a region holds policies) and heap retained per
 * compiled principal: heapUsed delta over many live copies, after a full GC (needs --expose-gc).
 */
function reportCompile(workload: Workload): void {
  const texts = workload.policies.map((p) => JSON.stringify(p));
  const compile = () => compilePolicySet({ identityPolicies: texts });
  for (let i = 0; i < 20; i++) compile();
  let n = 0;
  const budgetNs = BigInt(Math.round(300e6 * scale));
  const start = process.hrtime.bigint();
  while (n < 10 || process.hrtime.bigint() - start < budgetNs) {
    compile();
    n++;
  }
  const compileUs = Number(process.hrtime.bigint() - start) / n / 1000;
  let heap = "n/a (run with node --expose-gc)";
  if (gc) {
    const copies = workload.name === "large" ? 50 : 200;
    gc();
    const before = process.memoryUsage().heapUsed;
    const live = Array.from({ length: copies }, compile);
    gc();
    const after = process.memoryUsage().heapUsed;
    heap = `${Math.round((after - before) / live.length).toLocaleString("en-US")} bytes`;
  }
  console.log(`gatehouse compile: ${compileUs.toFixed(1)} µs per principal; heap per compiled principal: ${heap}`);
}

/** Cedar's equivalent one-time cost: preparsing the translated policy set (text → AST, cached in wasm). */
function reportCedarPreparse(workload: Workload): void {
  const policies = toCedarPolicies(workload.policies);
  const n = workload.name === "large" ? 10 : 50;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) cedar.preparsePolicySet(`preparse-${workload.name}`, { staticPolicies: policies });
  const us = Number(process.hrtime.bigint() - start) / n / 1000;
  console.log(`cedar-wasm preparse: ${us.toFixed(1)} µs per principal (memory lives in wasm, not on the JS heap)`);
}
