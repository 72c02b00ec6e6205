/**
 * The hot path: `Authorize` open loop at a target rate (coordinated-omission corrected), closed
 * loop to saturation, and `BatchAuthorize` closed loop, against one region or all of them (one
 * client per decider process, requests spread round-robin). A sample of the answers goes to the
 * correctness check.
 */
import type { AuthorizeInput, Gatehouse } from "@gatehouse/sdk";
import type { LoadedAccount } from "./dataset.ts";
import { type CheckPlan, checkPlan } from "./dataset-plan.ts";
import { closedLoop, type Histogram, histogram, openLoop } from "./latency.ts";
import type { Observation } from "./propagation.ts";
import type { Throughput } from "./timeline.ts";

/** One decider process to send checks to. */
export interface DeciderTarget {
  readonly region: string;
  readonly address: string;
  readonly client: Gatehouse;
}

/** Results of {@link runHotPath}. */
export interface HotPathResult {
  readonly open: { rate: number; sent: number; failed: number; ms: number; latency: Histogram };
  readonly closed: { concurrency: number; calls: number; failed: number; ms: number; latency: Histogram };
  readonly batch: {
    size: number;
    concurrency: number;
    calls: number;
    decisions: number;
    ms: number;
    latency: Histogram;
  };
  readonly observations: Observation[];
}

const input = (c: CheckPlan): AuthorizeInput => ({
  principalArn: c.principalArn,
  action: c.action,
  resource: c.resource,
  ...(c.context === undefined ? {} : { context: c.context }),
});

/** Runs the three loads one after the other, each for `durationMs`. */
export async function runHotPath(opts: {
  readonly accounts: readonly LoadedAccount[];
  readonly targets: readonly DeciderTarget[];
  readonly rate: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly durationMs: number;
  /** Every n-th answer is kept for the correctness check. */
  readonly sampleEvery: number;
  readonly log: (line: string) => void;
  /** Counts answered calls and decisions per second (the report's throughput chart). */
  readonly throughput?: Throughput;
}): Promise<HotPathResult> {
  const checks: { account: LoadedAccount; check: CheckPlan }[] = [];
  for (let k = 0; k < 4096; k++) {
    const account = opts.accounts[k % opts.accounts.length] as LoadedAccount;
    checks.push({ account, check: checkPlan(account.accountId, account.users, k, Math.random()) });
  }
  const observations: Observation[] = [];
  const ask = async (i: number) => {
    const target = opts.targets[i % opts.targets.length] as DeciderTarget;
    const { account, check } = checks[i % checks.length] as (typeof checks)[number];
    const a = await target.client.authz.authorize(input(check));
    opts.throughput?.count("Authorize");
    if (i % opts.sampleEvery === 0) {
      observations.push({
        region: target.region,
        accountId: account.accountId,
        ...check,
        decision: a.decision,
        evaluatedAt: a.evaluatedAt?.revision ?? 0,
      });
    }
    return 1;
  };
  opts.log(`hot path: Authorize open loop at ${opts.rate}/s for ${opts.durationMs / 1000}s`);
  const openLatency = histogram();
  const open = await openLoop(opts.rate, opts.durationMs, async (i) => void (await ask(i)), openLatency);
  opts.log(`hot path: Authorize closed loop, ${opts.concurrency} in flight, ${opts.durationMs / 1000}s`);
  const closedLatency = histogram();
  const closed = await closedLoop(opts.concurrency, opts.durationMs, ask, closedLatency);
  opts.log(`hot path: BatchAuthorize of ${opts.batchSize}, ${opts.concurrency} in flight, ${opts.durationMs / 1000}s`);
  const batchLatency = histogram();
  const batch = await closedLoop(
    opts.concurrency,
    opts.durationMs,
    async (i) => {
      const target = opts.targets[i % opts.targets.length] as DeciderTarget;
      const inputs = Array.from({ length: opts.batchSize }, (_, j) => {
        const { check } = checks[(i * opts.batchSize + j) % checks.length] as (typeof checks)[number];
        return input(check);
      });
      const answers = await target.client.authz.batchAuthorize(inputs);
      const decided = answers.filter((a) => !(a instanceof Error)).length;
      opts.throughput?.count("BatchAuthorize decisions", decided);
      return decided;
    },
    batchLatency,
  );
  return {
    open: { rate: opts.rate, sent: open.sent, failed: open.failed, ms: open.ms, latency: openLatency },
    closed: {
      concurrency: opts.concurrency,
      calls: closed.calls,
      failed: closed.failed,
      ms: closed.ms,
      latency: closedLatency,
    },
    batch: {
      size: opts.batchSize,
      concurrency: opts.concurrency,
      calls: batch.calls,
      decisions: batch.units,
      ms: batch.ms,
      latency: batchLatency,
    },
    observations,
  };
}
