/**
 * Documented classes of disagreement between Gatehouse and @cloud-copilot/iam-simulate. Each entry
 * is a case where AWS's documentation says Gatehouse's answer is the right one; the differential
 * test (`differential.test.ts`) tolerates a disagreement only when exactly such a class explains it,
 * and fails on any other.
 *
 * An entry must be narrow: `applies` looks at the scenario's structure (which operator, which
 * pattern, which decisions), never just "the engines disagree".
 */

import type { Decision } from "@gatehouse/policy";
import type { Scenario } from "./differential-scenario.ts";

/** One documented class of disagreement. */
export interface KnownDifference {
  /** Stable, kebab-case. */
  id: string;
  /** What differs and why Gatehouse's answer is right. */
  summary: string;
  /** The AWS documentation page that settles it. */
  awsDocs: string;
  /** True when this class explains the disagreement on this scenario. */
  applies(scenario: Scenario, gatehouse: Decision, iamSimulate: Decision): boolean;
}

/** Every known class; empty means the engines must agree on every generated scenario. */
export const knownDifferences: readonly KnownDifference[] = [];

/** The classes that explain a disagreement (none: the disagreement is a finding). */
export function explainDifference(scenario: Scenario, gatehouse: Decision, iamSimulate: Decision): KnownDifference[] {
  return knownDifferences.filter((k) => k.applies(scenario, gatehouse, iamSimulate));
}
