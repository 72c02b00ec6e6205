/**
 * `npm run bench:policy`: Gatehouse's compiled evaluator vs @cloud-copilot/iam-simulate vs
 * @cedar-policy/cedar-wasm, in one process, on the same seeded synthetic workloads
 * (`workloads.ts`) and on principals carrying real AWS managed policies (`managed-workloads.ts`).
 *
 * 1. Agreement: every engine answers every request of every workload, both figures
 *    (`engines.ts`). Any disagreement: the bench prints it, writes the disagreements (no figures,
 *    no ratios) to the JSON and exits 1 without timing anything.
 * 2. Per workload and engine, two figures (what each contains: `figureIncludes`): `prepared` and
 *    `end-to-end`. Throughput from batched calls; per-call p50/p99 from single timed calls, net of
 *    the measured timer overhead (`measure-decisions.ts`).
 * 3. Gatehouse's compile per principal: cold (fresh JSON text, every compile cache cleared) and
 *    warm (the same text again), per single timed compile; heap per compiled principal; Cedar's
 *    preparse time.
 *
 * Results go to stdout and to `loadtest/results/policy-bench.json`.
 *
 *   node --expose-gc loadtest/src/policy-bench.ts [--quick] [--workloads small,typical] [--engines gatehouse,cedar-wasm] [--only compile]
 *
 * `--only compile` runs the agreement check and section 3 only (no decision timing), for quick
 * before/after comparisons of the compiler (`--only decisions`: section 2 only); a partial run
 * writes `policy-bench.<section>.json`, never over the full run's JSON.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { clearCompileCaches, compilePolicySet } from "@gatehouse/policy";
import {
  type AgreementCheck,
  buildReport,
  type CompileResult,
  type EngineAnswers,
  type FigureResult,
  findDisagreements,
  formatTable,
} from "./bench-report.ts";
import { toCedarPolicies } from "./cedar-translate.ts";
import {
  type EngineFigures,
  type EngineName,
  engineNames,
  figureIncludes,
  figureNames,
  prepareEngine,
} from "./engines.ts";
import { createManagedWorkload, excludedRequestClasses } from "./managed-workloads.ts";
import { measureThroughput, perCallLatency, percentile, samplePerCall, timerOverheadNs } from "./measure-decisions.ts";
import { createWorkload, type Workload, type WorkloadName } from "./workloads.ts";

const allWorkloads: readonly WorkloadName[] = ["small", "typical", "large", "aws-developer", "aws-poweruser"];
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    workloads: { type: "string", default: allWorkloads.join(",") },
    engines: { type: "string", default: engineNames.join(",") },
    only: { type: "string" },
  },
});
const sections = ["decisions", "compile"] as const;
if (args.only !== undefined && !(sections as readonly string[]).includes(args.only)) {
  throw new Error(`--only: unknown section ${args.only} (one of ${sections.join(", ")})`);
}
const timeDecisions = args.only === undefined || args.only === "decisions";
const timeCompile = args.only === undefined || args.only === "compile";
const workloadNames = (args.workloads ?? "").split(",") as WorkloadName[];
for (const w of workloadNames) if (!allWorkloads.includes(w)) throw new Error(`--workloads: unknown workload ${w}`);
const engines = (args.engines ?? "").split(",") as EngineName[];
for (const e of engines) if (!engineNames.includes(e)) throw new Error(`--engines: unknown engine ${e}`);
const scale = args.quick ? 0.2 : 1;

// Request-mix sizes: iam-simulate needs milliseconds per decision on the large principals, and
// the agreement check asks every engine about every request twice (both figures).
const mixSize: Record<WorkloadName, number> = {
  small: 1000,
  typical: 1000,
  large: 300,
  "aws-developer": 300,
  "aws-poweruser": 300,
};
// Time per engine and figure; iam-simulate is slow, so it gets more wall time but far fewer decisions.
const timing: Record<EngineName, { warmupMs: number; measureMs: number; samples: number; sampleMs: number }> = {
  gatehouse: { warmupMs: 400, measureMs: 1500, samples: 20_000, sampleMs: 600 },
  "cedar-wasm": { warmupMs: 200, measureMs: 1200, samples: 5_000, sampleMs: 600 },
  "iam-simulate": { warmupMs: 200, measureMs: 1500, samples: 2_000, sampleMs: 1000 },
};

const gc = (globalThis as { gc?: () => void }).gc;
const overheadNs = timerOverheadNs();
console.log(
  `policy benchmark: node ${process.version}, cedar ${cedar.getCedarVersion()}, engines ${engines.join(", ")}; ` +
    `timer overhead ${overheadNs} ns (subtracted from every per-call sample)`,
);

const workloads: Workload[] = [];
for (const name of workloadNames) {
  workloads.push(
    name === "aws-developer" || name === "aws-poweruser"
      ? await createManagedWorkload(name, { requests: mixSize[name] })
      : createWorkload(name, { requests: mixSize[name] }),
  );
}

// 1. Agreement, before any timing.
const prepared = new Map<WorkloadName, Map<EngineName, EngineFigures>>();
const agreement: AgreementCheck[] = [];
for (const workload of workloads) {
  const byEngine = new Map(engines.map((e) => [e, prepareEngine(e, workload)] as const));
  prepared.set(workload.name, byEngine);
  const answers: EngineAnswers[] = [];
  for (const [engine, figures] of byEngine) {
    for (const figure of figureNames) {
      answers.push({ engine, figure, decisions: workload.requests.map((_, i) => figures[figure].decide(i)) });
    }
  }
  const disagreements = findDisagreements(workload.requests, answers);
  const mix: Record<string, number> = {};
  for (const d of answers[0]?.decisions ?? []) mix[d] = (mix[d] ?? 0) + 1;
  const check: AgreementCheck = { workload: workload.name, requests: workload.requests.length, disagreements, mix };
  if (workload.excluded !== undefined) check.excluded = workload.excluded;
  agreement.push(check);
  printWorkloadHeader(workload, check);
}

const meta = {
  date: new Date().toISOString(),
  node: process.version,
  cedar: cedar.getCedarVersion(),
  timer_overhead_ns: overheadNs,
};
// A partial run (--only) writes beside the full run's JSON rather than over it.
const out = new URL(`../results/policy-bench${args.only === undefined ? "" : `.${args.only}`}.json`, import.meta.url);
mkdirSync(new URL(".", out), { recursive: true });
if (agreement.some((a) => a.disagreements.length > 0)) {
  const { report, exitCode } = buildReport(meta, agreement, [], []);
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.error(
    `\nengines disagree (see above): nothing was timed and no ratios were written; ${out.pathname} lists the disagreements`,
  );
  process.exit(exitCode);
}

// 2. Timed figures.
const figures: FigureResult[] = [];
const compile: CompileResult[] = [];
for (const workload of workloads) {
  console.log(`\n== timing ${workload.name}`);
  for (const [engine, byFigure] of timeDecisions ? (prepared.get(workload.name) ?? []) : []) {
    const t = timing[engine];
    for (const figure of figureNames) {
      const decide = byFigure[figure].decide;
      const n = workload.requests.length;
      const throughput = measureThroughput(decide, n, { warmupMs: t.warmupMs * scale, measureMs: t.measureMs * scale });
      const latency = samplePerCall(decide, n, { samples: t.samples, budgetMs: t.sampleMs * scale }, overheadNs);
      figures.push({
        workload: workload.name,
        engine,
        figure,
        includes: figureIncludes[engine][figure],
        decisions_per_s: Math.round(throughput.decisionsPerSecond),
        batch: throughput.batchSize,
        per_call_p50_ns: latency.p50Ns,
        per_call_p99_ns: latency.p99Ns,
        per_call_mean_ns: latency.meanNs,
        per_call_samples: latency.samples,
      });
    }
  }
  for (const line of formatTable(workload.name, figures)) console.log(line);
  // 3. Compile.
  if (timeCompile && engines.includes("gatehouse")) compile.push(measureCompile(workload));
}

console.log("\n== summary (ratios: Gatehouse decisions/s over the peer's, same workload, same figure)");
for (const workload of workloads) {
  const c = compile.find((x) => x.workload === workload.name);
  console.log(`-- ${workload.name}`);
  for (const line of formatTable(workload.name, figures)) console.log(line);
  if (c !== undefined) console.log(compileLine(c));
}
console.log("\nwhat each figure's timed region contains:");
for (const engine of engines) {
  for (const figure of figureNames) console.log(`  ${engine} ${figure}: ${figureIncludes[engine][figure]}`);
}
console.log(
  "  throughput: batches of N consecutive calls (column batch); p50/p99: single timed calls, net of the timer overhead",
);

const { report, exitCode } = buildReport(meta, agreement, figures, compile);
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nwrote ${out.pathname}`);
process.exitCode = exitCode;

function printWorkloadHeader(workload: Workload, check: AgreementCheck): void {
  const statements = workload.policies.reduce((n, p) => n + p.Statement.length, 0);
  const source =
    workload.policyNames === undefined ? `seed ${workload.seed.toString(16)}` : workload.policyNames.join(", ");
  console.log(
    `\n== ${workload.name}: ${workload.policies.length} policies, ${statements} statements, ${workload.requests.length} requests (${source})`,
  );
  for (const [kind, count] of Object.entries(workload.excluded ?? {})) {
    const why = excludedRequestClasses[kind];
    console.log(`excluded: ${count} "${kind}" requests (${why?.engine}): ${why?.reason}`);
  }
  const total = check.requests;
  const agreed = total - check.disagreements.length;
  const mix = Object.entries(check.mix)
    .map(([d, n]) => `${d} ${((100 * n) / total).toFixed(0)}%`)
    .join(", ");
  console.log(
    `agreement of every engine and figure: ${((100 * agreed) / total).toFixed(2)}% (${agreed}/${total}); mix: ${mix}`,
  );
  for (const d of check.disagreements.slice(0, 5)) {
    console.log(`  #${d.index} ${JSON.stringify(d.request)}: ${JSON.stringify(d.answers)}`);
  }
}

function compileLine(c: CompileResult): string {
  const heap =
    c.heap_bytes_per_principal === undefined
      ? "n/a (run with --expose-gc)"
      : `${c.heap_bytes_per_principal.toLocaleString("en-US")} bytes`;
  const preparse =
    c.cedar_preparse_us === undefined ? "" : `; cedar-wasm preparse ${c.cedar_preparse_us.toFixed(0)} µs`;
  return (
    `gatehouse compile per principal: cold p50 ${c.cold_p50_us.toFixed(1)} µs / p99 ${c.cold_p99_us.toFixed(1)} µs (${c.cold_samples} compiles), ` +
    `warm p50 ${c.warm_p50_us.toFixed(1)} µs / p99 ${c.warm_p99_us.toFixed(1)} µs; heap per compiled principal ${heap}${preparse}`
  );
}

/**
 * Compile time per principal from JSON text, as a region receives policies, per single timed
 * compile: cold (new string objects each time, every compile cache cleared before each compile)
 * and warm (the same strings again: the parse and statement caches hit). Then the heap a compiled
 * principal keeps: heapUsed delta over many live copies, after a full GC (needs --expose-gc).
 */
function measureCompile(workload: Workload): CompileResult {
  const big = workload.policies.reduce((n, p) => n + p.Statement.length, 0) > 200;
  const coldSamples = Math.max(big ? 20 : 100, Math.round((big ? 60 : 300) * scale));
  // Start from a collected heap, as every timed phase should: a marking cycle left running by the
  // decision phases slows every store of the compiler (write barriers) until it finishes. The
  // collection comes before the JIT warm-up, not after it: right after a full GC the next few
  // hundred compiles ran at ~1.5x the steady state's p50 (the GC frees the hidden classes of the
  // compiler's transient objects and V8 deoptimizes the code that embedded them, among other
  // things), so samples taken there measured V8 recovering from the collection, not the compiler.
  gc?.();
  // JIT warm-up (caches cleared each time, as measured), so the samples measure the compiler's
  // steady state rather than V8's lower tiers: "cold" is about the compiler's caches. A region
  // compiles principals all day; 20 compiles left part of the parser unoptimized.
  for (let i = 0; i < (big ? 40 : 300); i++) {
    clearCompileCaches();
    compilePolicySet({ identityPolicies: workload.policies.map((p) => JSON.stringify(p)) });
  }
  const cold: number[] = [];
  for (let i = 0; i < coldSamples; i++) {
    const texts = workload.policies.map((p) => JSON.stringify(p));
    clearCompileCaches();
    const t0 = process.hrtime.bigint();
    compilePolicySet({ identityPolicies: texts });
    cold.push(Number(process.hrtime.bigint() - t0));
  }
  const texts = workload.policies.map((p) => JSON.stringify(p));
  const compile = () => compilePolicySet({ identityPolicies: texts });
  for (let i = 0; i < 20; i++) compile();
  gc?.();
  const warm: number[] = [];
  for (let i = 0; i < coldSamples * 3; i++) {
    const t0 = process.hrtime.bigint();
    compile();
    warm.push(Number(process.hrtime.bigint() - t0));
  }
  const coldLatency = perCallLatency(cold, overheadNs);
  const warmLatency = perCallLatency(warm, overheadNs);
  const result: CompileResult = {
    workload: workload.name,
    cold_p50_us: coldLatency.p50Ns / 1000,
    cold_p99_us: coldLatency.p99Ns / 1000,
    cold_samples: coldLatency.samples,
    warm_p50_us: warmLatency.p50Ns / 1000,
    warm_p99_us: warmLatency.p99Ns / 1000,
    warm_samples: warmLatency.samples,
  };
  if (gc) {
    const copies = big ? 50 : 200;
    gc();
    const before = process.memoryUsage().heapUsed;
    const live = Array.from({ length: copies }, compile);
    gc();
    const after = process.memoryUsage().heapUsed;
    result.heap_bytes_per_principal = Math.round((after - before) / live.length);
  }
  if (engines.includes("cedar-wasm")) result.cedar_preparse_us = cedarPreparseUs(workload);
  console.log(compileLine(result));
  return result;
}

/** Cedar's equivalent one-time cost: preparsing the translated policy set (text → AST, cached in wasm). */
function cedarPreparseUs(workload: Workload): number {
  const policies = toCedarPolicies(workload.policies);
  const n = Math.max(3, Math.round((workload.policies.length > 5 ? 10 : 50) * scale));
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    cedar.preparsePolicySet(`preparse-${workload.name}`, { staticPolicies: policies });
    times.push(Number(process.hrtime.bigint() - t0));
  }
  return (
    percentile(
      times.sort((a, b) => a - b),
      50,
    ) / 1000
  );
}
