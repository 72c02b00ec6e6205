import type { Decision } from "@gatehouse/policy";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { explainDifference } from "./differential-known.ts";
import {
  decideWithGatehouse,
  decideWithIamSimulate,
  type Scenario,
  scenarioArbitrary,
} from "./differential-scenario.ts";

// A fixed seed keeps CI deterministic; explore with DIFF_SEED=<n> DIFF_RUNS=<n> (the seed of a
// failing run is printed by fast-check).
const seed = process.env.DIFF_SEED ? Number(process.env.DIFF_SEED) : 20_240_601;
const numRuns = process.env.DIFF_RUNS ? Number(process.env.DIFF_RUNS) : 2000;

/**
 * The differential property: both engines give the same decision, unless a documented class in
 * `differential-known.ts` explains the difference.
 */
function agreesOrKnown(gatehouse: (s: Scenario) => Decision, tally: Map<string, number>) {
  return fc.property(scenarioArbitrary, (scenario) => {
    const ours = gatehouse(scenario);
    const theirs = decideWithIamSimulate(scenario);
    tally.set(`gatehouse=${ours}`, (tally.get(`gatehouse=${ours}`) ?? 0) + 1);
    if (ours === theirs) return true;
    const known = explainDifference(scenario, ours);
    if (known.length === 0) {
      throw new Error(`gatehouse=${ours} iam-simulate=${theirs} for\n${JSON.stringify(scenario, null, 2)}`);
    }
    for (const k of known) tally.set(`${k.kind}:${k.id}`, (tally.get(`${k.kind}:${k.id}`) ?? 0) + 1);
    return true;
  });
}

describe("differential: Gatehouse vs @cloud-copilot/iam-simulate", () => {
  it("decides like iam-simulate except for documented classes", { timeout: 120_000 }, () => {
    const tally = new Map<string, number>();
    fc.assert(agreesOrKnown(decideWithGatehouse, tally), { seed, numRuns });
    console.log("differential tally:", Object.fromEntries([...tally].sort()));
    // Guard against a vacuous pass: the generator must produce every outcome.
    for (const decision of ["Allow", "ExplicitDeny", "ImplicitDeny"]) {
      expect(tally.get(`gatehouse=${decision}`) ?? 0, decision).toBeGreaterThan(numRuns / 50);
    }
  });

  it("fails when an engine answers differently (the test can fail)", () => {
    // A subtly broken engine: explicit denies in identity policies are ignored (become Allow).
    const broken = (s: Scenario): Decision => {
      const d = decideWithGatehouse(s);
      return d === "ExplicitDeny" ? "Allow" : d;
    };
    const result = fc.check(agreesOrKnown(broken, new Map()), { seed, numRuns: 500 });
    expect(result.failed).toBe(true);
  });
});
