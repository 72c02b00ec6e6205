/**
 * The harness's scenarios: which phases run and their default sizes. Flags override any figure.
 */

/** Sizes and rates of one run. */
export interface RunSettings {
  readonly accounts: number;
  readonly users: number;
  /** Accounts loaded at once. */
  readonly loadConcurrency: number;
  readonly writeRate: number;
  /** Seconds of each timed phase. */
  readonly duration: number;
  readonly authorizeRate: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly target: "one" | "all";
  /** Decisions sampled per second during the propagation phase. */
  readonly sampleRate: number;
  readonly maxExports: number;
  readonly phases: readonly Phase[];
}

/** A phase of a run. */
export type Phase = "propagation" | "hot-path" | "faults";

/** Scenario names. */
export const SCENARIOS = ["smoke", "propagation", "hot-path", "full", "faults"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const base = {
  accounts: 100,
  users: 1000,
  loadConcurrency: 4,
  writeRate: 200,
  duration: 60,
  authorizeRate: 2000,
  concurrency: 32,
  batchSize: 100,
  target: "all",
  sampleRate: 50,
  maxExports: 300,
} as const;

/** The defaults of each scenario. */
export const SCENARIO_DEFAULTS: Readonly<Record<ScenarioName, RunSettings>> = {
  smoke: {
    ...base,
    accounts: 3,
    users: 20,
    loadConcurrency: 3,
    writeRate: 20,
    duration: 8,
    authorizeRate: 300,
    concurrency: 8,
    batchSize: 50,
    sampleRate: 40,
    maxExports: 150,
    phases: ["propagation", "hot-path"],
  },
  propagation: { ...base, phases: ["propagation"] },
  "hot-path": { ...base, phases: ["hot-path"] },
  full: { ...base, phases: ["propagation", "hot-path"] },
  // Drills, each with writes at writeRate, decisions sampled at sampleRate, an Authorize load at
  // authorizeRate while a decider is killed; maxExports is per drill.
  faults: {
    ...base,
    accounts: 3,
    users: 20,
    loadConcurrency: 3,
    writeRate: 20,
    authorizeRate: 100,
    sampleRate: 20,
    maxExports: 100,
    phases: ["faults"],
  },
};
