// `./gw run loadtest -- --scenario <name> [--json FILE] [sizes and rates]`: drives the whole
// multi-region system (a running `./gw run stack`, else one it starts and stops) and prints a
// summary table and the report; exits 1 when an acknowledged write was lost, a region's decision
// diverged from the pure engine or a fault drill's regions did not converge. The environment is read here only and passed down.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Gatehouse } from "@gatehouse/sdk";
import { withRegionCount } from "@gatehouse/stack";
import { removeRunLeftovers } from "@gatehouse/testkit";
import { startSampler, verifyObservations } from "./correctness.ts";
import { clientFor, loadDataset } from "./dataset.ts";
import { prepareFaultStack } from "./fault-stack.ts";
import { DRILL_NEEDS, DRILL_TEXT, DRILLS, type DrillName, type DrillOutcome, runDrills } from "./faults.ts";
import { type DeciderTarget, type HotPathResult, runHotPath } from "./hot-path.ts";
import { createProgress, type Progress } from "./progress.ts";
import { finalChecks, lostUpdates, type Observation, type PropagationResult, runPropagation } from "./propagation.ts";
import { type ReportInput, writeReport } from "./report.ts";
import { measureRegions } from "./resources.ts";
import { type RunSettings, SCENARIO_DEFAULTS, SCENARIOS, type ScenarioName } from "./scenarios.ts";
import { type Summary, summarize, summaryTable } from "./summary.ts";
import { supervise } from "./supervisor.ts";
import { openSystem } from "./system.ts";
import { createThroughput, startRegionMonitor, type Throughput } from "./timeline.ts";

const USAGE = `usage: ./gw run loadtest -- --scenario ${SCENARIOS.join("|")} [--json FILE] [--report DIR]
  [--regions N] [--accounts N] [--users N] [--load-concurrency N] [--write-rate N] [--duration S]
  [--authorize-rate N] [--concurrency N] [--batch-size N] [--target one|all]
  [--sample-rate N] [--max-exports N]
  faults only: [--drills ${DRILLS.join(",")}] [--port-base N] [--hold S] [--partition S]
  [--latency MS] [--converge-timeout S] [--keep-state]
       ./gw run loadtest -- --report-from FILE.json [--report DIR]
Attaches to the stack of GATEHOUSE_STATE_DIR when one runs (./gw run stack), else starts one
(GATEHOUSE_STACK_* ports, --regions N regions, three by default) and stops it at the end.
The HTML and PNG report go to --report DIR (default: the --json file's directory, else
loadtest/results) as report.html and report.png; --report-from re-renders them from a saved summary.
The faults scenario always starts its own stack (state dir <GATEHOUSE_STATE_DIR>/faults-<run>,
--regions N too, its own Kafka broker and Redis servers on consecutive ports from --port-base, or
free ones below the ephemeral range; GATEHOUSE_KAFKA_PORT set: that broker is reused and no drill
may stop it). Drills:
${DRILLS.map((d) => `  ${d.padEnd(17)} ${DRILL_TEXT[d]}`).join("\n")}`;

/** Where a report goes when `--report` is not given. */
const defaultReportDir = (json: string | undefined) =>
  json === undefined ? resolve(import.meta.dirname, "../../results") : dirname(resolve(json));

/** GetRegionStatus of every region this often (the staleness series). */
const REGION_SAMPLE_MS = 1000;

const log = (line: string) => process.stderr.write(`${line}\n`);

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--${name}: expected a positive number, got ${JSON.stringify(text)}`);
  return n;
}

/** The fault drills' own options. */
export interface FaultOptions {
  readonly drills: DrillName[];
  readonly portBase?: number;
  readonly holdMs: number;
  readonly partitionMs: number;
  readonly latencyMs: number;
  readonly convergeTimeoutMs: number;
  readonly keepState: boolean;
}

/** Parses the command line into a scenario, its settings, the JSON path and the report's directory. */
export function parseCommandLine(argv: readonly string[]):
  | {
      scenario: ScenarioName;
      settings: RunSettings;
      json?: string;
      report: string;
      regions?: number;
      faults: FaultOptions;
    }
  | { reportFrom: string; report: string } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scenario: { type: "string" },
      json: { type: "string" },
      report: { type: "string" },
      "report-from": { type: "string" },
      regions: { type: "string" },
      accounts: { type: "string" },
      users: { type: "string" },
      "load-concurrency": { type: "string" },
      "write-rate": { type: "string" },
      duration: { type: "string" },
      "authorize-rate": { type: "string" },
      concurrency: { type: "string" },
      "batch-size": { type: "string" },
      target: { type: "string" },
      "sample-rate": { type: "string" },
      "max-exports": { type: "string" },
      drills: { type: "string" },
      "port-base": { type: "string" },
      hold: { type: "string" },
      partition: { type: "string" },
      latency: { type: "string" },
      "converge-timeout": { type: "string" },
      "keep-state": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values["report-from"] !== undefined) {
    if (values.scenario !== undefined) throw new Error("--report-from re-renders a saved summary: give no --scenario");
    return {
      reportFrom: values["report-from"],
      report: values.report ?? dirname(resolve(values["report-from"])),
    };
  }
  const scenario = values.scenario as ScenarioName | undefined;
  if (scenario === undefined || !SCENARIOS.includes(scenario)) {
    throw new Error(
      `--scenario: expected one of ${SCENARIOS.join(", ")}, got ${JSON.stringify(values.scenario)}\n${USAGE}`,
    );
  }
  const d = SCENARIO_DEFAULTS[scenario];
  const target = values.target ?? d.target;
  if (target !== "one" && target !== "all")
    throw new Error(`--target: expected one or all, got ${JSON.stringify(target)}`);
  const int = (name: string, v: string | undefined, fallback: number) => Math.floor(positive(name, v, fallback));
  const settings: RunSettings = {
    ...d,
    accounts: int("accounts", values.accounts, d.accounts),
    users: int("users", values.users, d.users),
    loadConcurrency: int("load-concurrency", values["load-concurrency"], d.loadConcurrency),
    writeRate: positive("write-rate", values["write-rate"], d.writeRate),
    duration: positive("duration", values.duration, d.duration),
    authorizeRate: positive("authorize-rate", values["authorize-rate"], d.authorizeRate),
    concurrency: int("concurrency", values.concurrency, d.concurrency),
    batchSize: Math.min(1000, int("batch-size", values["batch-size"], d.batchSize)),
    target,
    sampleRate: positive("sample-rate", values["sample-rate"], d.sampleRate),
    maxExports: int("max-exports", values["max-exports"], d.maxExports),
  };
  const drills = (values.drills ?? DRILLS.join(",")).split(",").filter(Boolean) as DrillName[];
  const bad = drills.filter((d) => !DRILLS.includes(d));
  if (bad.length > 0 || drills.length === 0) {
    throw new Error(`--drills: expected some of ${DRILLS.join(", ")}, got ${JSON.stringify(values.drills)}`);
  }
  const faults: FaultOptions = {
    drills: DRILLS.filter((d) => drills.includes(d)),
    ...(values["port-base"] === undefined ? {} : { portBase: int("port-base", values["port-base"], 0) }),
    holdMs: positive("hold", values.hold, 5) * 1000,
    partitionMs: positive("partition", values.partition, 30) * 1000,
    latencyMs: values.latency === "0" ? 0 : positive("latency", values.latency, 100),
    convergeTimeoutMs: positive("converge-timeout", values["converge-timeout"], 120) * 1000,
    keepState: values["keep-state"] === true,
  };
  return {
    scenario,
    settings,
    faults,
    report: values.report ?? defaultReportDir(values.json),
    ...(values.json === undefined ? {} : { json: values.json }),
    ...(values.regions === undefined ? {} : { regions: int("regions", values.regions, 3) }),
  };
}

/** A progress that also counts each tick as one completion of `series` per second. */
function counting(progress: Progress, throughput: Throughput, series: string): Progress {
  return {
    start: (phase, total) => progress.start(phase, total),
    tick: (n = 1) => {
      throughput.count(series, n);
      progress.tick(n);
    },
    done: () => progress.done(),
  };
}

async function printReport(summary: ReportInput, dir: string): Promise<void> {
  const { html, png } = await writeReport(summary, dir);
  log(`loadtest: report in ${html} and ${png}`);
}

async function main(): Promise<number> {
  const parsed = parseCommandLine(process.argv.slice(2));
  if ("reportFrom" in parsed) {
    await printReport(JSON.parse(readFileSync(parsed.reportFrom, "utf8")) as ReportInput, parsed.report);
    return 0;
  }
  const { scenario, settings, json, report, faults } = parsed;
  const startedAt = new Date();
  const runId = randomBytes(4).toString("hex");
  const progress = createProgress();
  const throughput = createThroughput();
  const root = resolve(import.meta.dirname, "../../..");
  const env = parsed.regions === undefined ? process.env : withRegionCount(process.env, parsed.regions, root);
  const drilling = settings.phases.includes("faults");
  const faultStack = drilling ? await prepareFaultStack(env, runId, faults.drills, faults.portBase) : undefined;
  if (faultStack !== undefined) {
    // infra.sh (run by the stack and by the drills) reads its ports from the environment.
    for (const [k, v] of Object.entries(faultStack.env)) if (v !== undefined) process.env[k] = v;
    log(`loadtest: faults: a stack of its own in ${faultStack.stateDir}, ports ${faultStack.ports}`);
  }
  let system: Awaited<ReturnType<typeof openSystem>>;
  try {
    system = await openSystem(
      faultStack?.env ?? env,
      log,
      faultStack === undefined ? {} : { attach: false, regionSettings: faultStack.regionSettings },
    );
  } catch (e) {
    await faultStack?.proxy?.proxy.close();
    throw e;
  }
  const supervisor = drilling ? supervise(system, log) : undefined;
  if (supervisor !== undefined) {
    const owned = supervisor.ownedInfra();
    const refused = faults.drills.filter((d) => {
      const needs = DRILL_NEEDS[d];
      return needs !== undefined && !owned.has(needs);
    });
    if (refused.length > 0) {
      supervisor.release();
      await system.stop();
      await faultStack?.proxy?.proxy.close();
      throw new Error(
        `drills ${refused.join(", ")} need a ${refused.map((d) => DRILL_NEEDS[d]).join("/")} server the harness started; ${[...owned].join(", ") || "none"} were (unset GATEHOUSE_KAFKA_PORT, or pick other --drills)`,
      );
    }
  }
  const clients: Gatehouse[] = [];
  let succeeded = false;
  const stop = async () => {
    for (const c of clients) c.close();
    supervisor?.release();
    await system.stop();
    await faultStack?.proxy?.proxy.close();
    if (faultStack !== undefined) {
      if (succeeded && !faults.keepState) rmSync(faultStack.stateDir, { recursive: true, force: true });
      else log(`loadtest: the faults stack's logs and data are kept in ${faultStack.stateDir}`);
      // Its schema (and topic on a reused broker) on the shared servers, passed or failed.
      if (!faults.keepState && system.data !== undefined) {
        await removeRunLeftovers({ ...system.data, ...faultStack.leftovers }).catch((e: unknown) =>
          log(`loadtest: could not remove the faults stack's schema or topic: ${String(e)}`),
        );
      }
    }
  };
  process.once("SIGINT", () => void stop().then(() => process.exit(130)));
  let summary: Summary;
  try {
    log(
      `loadtest: run ${runId}, scenario ${scenario}: ${settings.accounts} accounts x ${settings.users} users, ${system.regions.length} regions`,
    );
    const operator = clientFor(system, system.operator);
    clients.push(operator);
    const regions = new Map(
      system.regions.map((r) => {
        const c = clientFor(system, system.operator, r.name);
        clients.push(c);
        return [r.name, c] as const;
      }),
    );
    const monitor = startRegionMonitor(regions, REGION_SAMPLE_MS);
    const dataset = await loadDataset(
      system,
      { accounts: settings.accounts, users: settings.users, concurrency: settings.loadConcurrency, runId },
      counting(progress, throughput, "writes (dataset)"),
    );
    const writers = new Map(
      dataset.accounts.map((a) => {
        const c = clientFor(system, a.root);
        clients.push(c);
        return [a.accountId, c] as const;
      }),
    );
    // The dataset must be everywhere before anything is measured against it.
    for (const a of dataset.accounts) {
      for (const c of regions.values()) {
        await c.authz.authorize(
          {
            principalArn: a.probeArn,
            action: "s3:GetObject",
            resource: "*",
            minRevision: { accountId: a.accountId, revision: a.revision },
          },
          { timeoutMs: 120_000 },
        );
      }
    }
    let propagation: PropagationResult | undefined;
    let propagationWindow: { from: number; to: number } | undefined;
    let hot: HotPathResult | undefined;
    const observations: Observation[] = [];
    let drills: DrillOutcome[] = [];
    if (supervisor !== undefined) {
      drills = await runDrills(
        {
          supervisor,
          accounts: dataset.accounts,
          operator,
          writers,
          regions,
          regionNames: system.regions.map((r) => r.name),
          ...(faultStack?.proxy === undefined ? {} : { proxy: faultStack.proxy }),
          writeRate: settings.writeRate,
          authorizeRate: settings.authorizeRate,
          sampleRate: settings.sampleRate,
          maxExports: settings.maxExports,
          runId,
          timings: {
            preMs: 2000,
            holdMs: faults.holdMs,
            partitionMs: faults.partitionMs,
            latencyMs: faults.latencyMs,
            postMs: 2000,
            convergeTimeoutMs: faults.convergeTimeoutMs,
          },
          log,
          throughput,
        },
        faults.drills,
        (line) => log(line),
      );
    }
    if (settings.phases.includes("propagation")) {
      const sampler = startSampler({ accounts: dataset.accounts, regions, rate: settings.sampleRate });
      const from = Date.now();
      propagation = await runPropagation({
        accounts: dataset.accounts,
        writers,
        regions,
        rate: settings.writeRate,
        durationMs: settings.duration * 1000,
        runId,
        progress,
        throughput,
      });
      // The appliers record their offsets about every second: the window closes 2 s later.
      propagationWindow = { from, to: Date.now() + 2000 };
      observations.push(...(await sampler.stop()), ...propagation.observations);
    }
    if (settings.phases.includes("hot-path")) {
      const chosen = settings.target === "one" ? system.regions.slice(0, 1) : system.regions;
      const targets: DeciderTarget[] = chosen.flatMap((r) =>
        r.deciders.map((address) => {
          const client = clientFor(
            { ...system, regions: [{ name: r.name, deciders: [address] }] },
            system.operator,
            r.name,
          );
          clients.push(client);
          return { region: r.name, address, client };
        }),
      );
      hot = await runHotPath({
        accounts: dataset.accounts,
        targets,
        rate: settings.authorizeRate,
        concurrency: settings.concurrency,
        batchSize: settings.batchSize,
        durationMs: settings.duration * 1000,
        sampleEvery: 50,
        log,
        throughput,
      });
      observations.push(...hot.observations);
    }
    const writes = propagation?.writes ?? [];
    const finals = await finalChecks(writes, regions);
    observations.push(...finals.observations);
    log(`correctness: comparing ${observations.length} decisions with the pure engine over ExportAccount`);
    const checked = await verifyObservations(operator, observations, settings.maxExports);
    // The drills checked their own decisions (each against its own export budget).
    const correctness = drills.reduce(
      (c, d) => ({
        checked: c.checked + d.correctness.checked,
        divergent: c.divergent + d.result.divergent_decisions,
        unverified: c.unverified + d.correctness.unverified,
        exports: c.exports + d.correctness.exports,
        byDecision: Object.fromEntries(
          ["Allow", "ExplicitDeny", "ImplicitDeny"].map((k) => [
            k,
            (c.byDecision[k] ?? 0) + (d.correctness.byDecision[k] ?? 0),
          ]),
        ),
        examples: [...c.examples, ...d.correctness.examples].slice(0, 5),
      }),
      checked,
    );
    const lost =
      lostUpdates(writes, [...(propagation?.observations ?? []), ...finals.observations]) +
      finals.unseen +
      drills.reduce((n, d) => n + d.result.lost_updates, 0);
    if (propagationWindow !== undefined) {
      const wait = propagationWindow.to + REGION_SAMPLE_MS - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const regionSamples = await monitor.stop();
    const regionResources = await measureRegions({
      runDir: system.runDir,
      regions: system.regions,
      deciderClient: (region, address) => {
        const c = clientFor({ ...system, regions: [{ name: region, deciders: [address] }] }, system.operator, region);
        clients.push(c);
        return c;
      },
    });
    summary = summarize({
      scenario,
      startedAt,
      settings,
      dataset,
      ...(propagation === undefined ? {} : { propagation }),
      ...(hot === undefined ? {} : { hot }),
      correctness,
      lostUpdates: lost,
      endedAt: new Date(),
      regions: system.regions.map((r) => r.name),
      throughput: throughput.points(),
      regionSamples,
      regionSampleIntervalMs: REGION_SAMPLE_MS,
      ...(propagationWindow === undefined ? {} : { propagationWindow }),
      regionResources,
      faults: drills.map((d) => d.result),
    });
    process.stdout.write(summaryTable(summary));
    if (json !== undefined) {
      mkdirSync(dirname(resolve(json)), { recursive: true });
      writeFileSync(json, `${JSON.stringify(summary, null, 2)}\n`);
      log(`loadtest: JSON summary in ${json}`);
    }
    for (const e of correctness.examples) {
      log(`divergent: ${JSON.stringify(e.observation)} (engine: ${e.expected})`);
    }
    const unconverged = summary.faults.filter((f) => f.converge_ms === null).map((f) => f.name);
    succeeded = unconverged.length === 0 && summary.lost_updates === 0 && summary.divergent_decisions === 0;
  } finally {
    await stop();
  }
  // Rendered once the system is down (the CPU is the report's), so the paths are the last lines.
  await printReport(summary, report);
  const unconverged = summary.faults.filter((f) => f.converge_ms === null).map((f) => f.name);
  if (unconverged.length > 0) log(`loadtest: FAILED: ${unconverged.join(", ")} did not converge`);
  const failed = summary.lost_updates > 0 || summary.divergent_decisions > 0 || unconverged.length > 0;
  if (failed)
    log(`loadtest: FAILED: lost_updates ${summary.lost_updates}, divergent_decisions ${summary.divergent_decisions}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`loadtest: ${(e as Error).stack ?? String(e)}`);
    process.exit(2);
  },
);
