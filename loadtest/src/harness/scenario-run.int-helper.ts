// What the scenario tests (smoke, faults) do after a `./gw run loadtest` child, passed or failed.
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { removeRunLeftovers } from "@gatehouse/testkit";

/** Where a scenario test's run lives: its work dir and its own names on the shared servers. */
export interface ScenarioRun {
  readonly work: string;
  readonly postgresUrl: string;
  readonly brokers: readonly string[];
  readonly schema: string;
  readonly topic: string;
}

/**
 * Stops a run cut short (SIGINT to its process group, which stops the stack it started; the child
 * must be spawned `detached`), removes its work dir, then its schema, topic and the control plane's
 * consumer group (the regions' groups had offsets on the topic only, and go with it).
 */
export async function endScenarioRun(child: ChildProcess | undefined, run: ScenarioRun): Promise<void> {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((ok) => child.once("exit", ok));
    process.kill(-child.pid, "SIGINT");
    await exited;
  }
  rmSync(run.work, { recursive: true, force: true });
  await removeRunLeftovers({
    postgresUrl: run.postgresUrl,
    schemas: [run.schema],
    brokers: run.brokers,
    topics: [run.topic],
    groups: [`gatehouse-control-plane-${run.schema}`],
  });
}
