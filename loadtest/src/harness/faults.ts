/**
 * The fault drills (`--scenario faults`). Each drill writes at the target rate from before the
 * fault until after the system converged (every write followed, in every region, by an
 * `Authorize` at its revision for its own object and for the object the write revoked), injects
 * the fault into a process or link the harness owns, brings the failed part back, and measures the
 * time until every region answers at the control plane's revision of every account. Then the
 * drill's acknowledged writes are checked (none lost), the revoked objects (no Allow at or after
 * the revoking revision) and the decisions sampled meanwhile (against the pure engine over
 * `ExportAccount` at the revision each region reported).
 */

import { connect } from "node:net";
import type { Gatehouse } from "@gatehouse/sdk";
import { Redis } from "ioredis";
import { type CorrectnessResult, startSampler, verifyObservations } from "./correctness.ts";
import type { LoadedAccount } from "./dataset.ts";
import { checkPlan } from "./dataset-plan.ts";
import { type AckedWrite, finalChecks, lostUpdates, type Observation, probeResource } from "./propagation.ts";
import type { FaultResult } from "./summary.ts";
import type { Supervisor } from "./supervisor.ts";
import type { TcpProxy } from "./tcp-proxy.ts";
import type { Throughput } from "./timeline.ts";

/** The drills, in the order they run. */
export const DRILLS = [
  "applier-kill",
  "redis-flush",
  "decider-kill",
  "relay-kill",
  "kafka-restart",
  "region-partition",
] as const;
export type DrillName = (typeof DRILLS)[number];

/** What each drill does (also printed by `--help` and in the README). */
export const DRILL_TEXT: Readonly<Record<DrillName, string>> = {
  "applier-kill": "kill -9 the first region's applier mid-stream, start it again after the hold",
  "redis-flush": "FLUSHALL the second region's Redis (its applier exits 75 and is restarted)",
  "decider-kill": "kill -9 a decider of the third region under an Authorize load, start it again after the hold",
  "relay-kill": "kill -9 the control plane (the outbox relay), start it again after the hold",
  "kafka-restart": "stop the Kafka broker (infra.sh down kafka), start it again after the hold",
  "region-partition":
    "cut the last region's applier off from Kafka (its proxy holds all traffic) for 30 s, then restore the link with 100 ms of latency each way",
};

/** Drills that need a component the harness started itself. */
export const DRILL_NEEDS: Readonly<Partial<Record<DrillName, "kafka" | "redis">>> = {
  "kafka-restart": "kafka",
  "redis-flush": "redis",
  "region-partition": "kafka",
};

/** Timings of the drills. */
export interface DrillTimings {
  /** Writes before the fault. */
  readonly preMs: number;
  /** How long a killed or stopped part stays down. */
  readonly holdMs: number;
  /** How long the partitioned region is cut off. */
  readonly partitionMs: number;
  /** Latency added to the partitioned region's link once it is restored. */
  readonly latencyMs: number;
  /** Writes after the system converged. */
  readonly postMs: number;
  /** A region that has not converged by then counts as never converged (and its checks time out). */
  readonly convergeTimeoutMs: number;
}

/** Everything the drills use. */
export interface FaultContext {
  readonly supervisor: Supervisor;
  readonly accounts: readonly LoadedAccount[];
  readonly operator: Gatehouse;
  readonly writers: ReadonlyMap<string, Gatehouse>;
  readonly regions: ReadonlyMap<string, Gatehouse>;
  readonly regionNames: readonly string[];
  /** The partitioned region's proxy to Kafka (only when the partition drill runs). */
  readonly proxy?: { readonly region: string; readonly proxy: TcpProxy };
  readonly writeRate: number;
  readonly authorizeRate: number;
  readonly sampleRate: number;
  /** ExportAccount budget of each drill's correctness check. */
  readonly maxExports: number;
  readonly runId: string;
  readonly timings: DrillTimings;
  readonly log: (line: string) => void;
  /** Counts the drills' writes (acknowledged, failed) and Authorize answers per second (the report). */
  readonly throughput?: Throughput;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `call(msLeft)` until it answers or `deadline` passes: a region whose Redis was just
 * flushed, or whose decider was killed, may answer an error before it answers at a revision, and
 * an error is not an answer. Throws the last error after the deadline.
 */
async function untilAnswered<T>(deadline: number, call: (msLeft: number) => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call(Math.max(1000, deadline - Date.now()));
    } catch (e) {
      if (Date.now() >= deadline) throw e;
      await sleep(200);
    }
  }
}

/** Calls `call` `rate` times a second (open loop) until `stop()`; `stop` waits for the calls in flight. */
function rateLoop(rate: number, call: (i: number) => Promise<void>): { stop(): Promise<void>; sent(): number } {
  let running = true;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    const start = performance.now();
    while (running) {
      const due = Math.floor(((performance.now() - start) * rate) / 1000) + 1;
      for (; sent < due && running; sent++) {
        const p = call(sent).catch(() => {});
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await sleep(Math.max(1, Math.min(5, start + (sent * 1000) / rate - performance.now())));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
    },
    sent: () => sent,
  };
}

/** The writes of one drill and what the regions answered about them. */
class DrillWriter {
  readonly writes: AckedWrite[] = [];
  readonly observations: Observation[] = [];
  failed = 0;
  timeouts = 0;
  staleAllows = 0;
  pending = 0;
  lastError: string | undefined;
  private readonly loop: ReturnType<typeof rateLoop>;
  private readonly ctx: FaultContext;
  /** Acknowledged writes of every drill so far, per account (the revoke checks' "previous"). */
  private readonly history: Map<string, AckedWrite[]>;
  private readonly nextSeq: () => number;

  constructor(ctx: FaultContext, history: Map<string, AckedWrite[]>, nextSeq: () => number) {
    this.ctx = ctx;
    this.history = history;
    this.nextSeq = nextSeq;
    this.loop = rateLoop(ctx.writeRate, (i) => this.write(i));
  }

  private async write(i: number): Promise<void> {
    const account = this.ctx.accounts[i % this.ctx.accounts.length] as LoadedAccount;
    const writer = this.ctx.writers.get(account.accountId) as Gatehouse;
    const seq = this.nextSeq();
    const resource = probeResource(this.ctx.runId, seq);
    let revision: number;
    let epoch: string;
    try {
      const r = await writer.iam.putUserPolicy({
        userName: "lt-probe",
        policyName: "probe",
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: resource }],
        }),
      });
      revision = r.revision?.revision ?? 0;
      epoch = r.revision?.epoch ?? "";
    } catch {
      this.failed++;
      this.ctx.throughput?.count("writes failed (drills)");
      return;
    }
    this.ctx.throughput?.count("writes (drills)");
    const write: AckedWrite = { seq, account, revision, epoch, resource };
    const list = this.history.get(account.accountId) ?? [];
    // The write this one replaced: the highest revision below its own.
    const previous = list.filter((w) => w.revision < revision).sort((a, b) => b.revision - a.revision)[0];
    list.push(write);
    this.history.set(account.accountId, list);
    this.writes.push(write);
    this.pending++;
    try {
      await Promise.all(
        [...this.ctx.regions].flatMap(([region, client]) =>
          [write, previous].map(async (check) => {
            if (check === undefined) return;
            try {
              const a = await untilAnswered(Date.now() + this.ctx.timings.convergeTimeoutMs, (timeoutMs) =>
                client.authz.authorize(
                  {
                    principalArn: account.probeArn,
                    action: "s3:GetObject",
                    resource: check.resource,
                    minRevision: { accountId: account.accountId, revision, epoch },
                  },
                  { timeoutMs },
                ),
              );
              const evaluatedAt = a.evaluatedAt?.revision ?? 0;
              // The revoked object allowed at or after the revision that revoked it.
              if (check !== write && a.decision === "Allow" && evaluatedAt >= revision) this.staleAllows++;
              this.observations.push({
                region,
                accountId: account.accountId,
                principalArn: account.probeArn,
                action: "s3:GetObject",
                resource: check.resource,
                decision: a.decision,
                evaluatedAt,
                write: check,
              });
            } catch (e) {
              this.timeouts++;
              this.lastError = (e as Error).message;
            }
          }),
        ),
      );
    } finally {
      this.pending--;
    }
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}

/** Authorize calls at `rate` against one region while a decider is killed; failures counted. */
function authorizeLoad(ctx: FaultContext, region: string) {
  const client = ctx.regions.get(region) as Gatehouse;
  const observations: Observation[] = [];
  let failed = 0;
  let answered = 0;
  const loop = rateLoop(ctx.authorizeRate, async (i) => {
    const account = ctx.accounts[i % ctx.accounts.length] as LoadedAccount;
    const check = checkPlan(account.accountId, account.users, i, Math.random());
    try {
      const a = await client.authz.authorize(
        { ...check, ...(check.context === undefined ? {} : { context: check.context }) },
        { timeoutMs: 10_000 },
      );
      answered++;
      ctx.throughput?.count("Authorize (decider drill)");
      if (i % 10 === 0) {
        observations.push({
          region,
          accountId: account.accountId,
          ...check,
          decision: a.decision,
          evaluatedAt: a.evaluatedAt?.revision ?? 0,
        });
      }
    } catch {
      failed++;
    }
  });
  return {
    async stop() {
      await loop.stop();
      return { observations, failed, answered };
    },
  };
}

/** The control plane's revision of every account (retried while it does not answer). */
async function controlPlaneRevisions(ctx: FaultContext, deadline: number): Promise<Map<string, number>> {
  const ids = new Set(ctx.accounts.map((a) => a.accountId));
  for (;;) {
    try {
      const revisions = new Map<string, number>();
      for await (const a of ctx.operator.iam.paginate.listAccounts()) {
        if (ids.has(a.accountId)) revisions.set(a.accountId, a.revision);
      }
      return revisions;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(200);
    }
  }
}

/**
 * Waits until every region answers at the control plane's current revision of every account.
 * Returns when it happened per region (epoch ms), or nothing for a region that did not.
 */
async function convergence(ctx: FaultContext, errors: string[]): Promise<Map<string, number | undefined>> {
  const deadline = Date.now() + ctx.timings.convergeTimeoutMs;
  const target = await controlPlaneRevisions(ctx, deadline);
  const byRegion = new Map<string, number | undefined>();
  await Promise.all(
    [...ctx.regions].map(async ([region, client]) => {
      try {
        await Promise.all(
          ctx.accounts.map((a) =>
            untilAnswered(deadline, (timeoutMs) =>
              client.authz.authorize(
                {
                  principalArn: a.probeArn,
                  action: "s3:GetObject",
                  resource: "*",
                  minRevision: { accountId: a.accountId, revision: target.get(a.accountId) ?? 0 },
                },
                { timeoutMs },
              ),
            ),
          ),
        );
        byRegion.set(region, Date.now());
      } catch (e) {
        errors.push(`${region} did not converge: ${(e as Error).message}`);
        byRegion.set(region, undefined);
      }
    }),
  );
  return byRegion;
}

/** Resolves once `address` accepts TCP connections (a restarted decider is back in service). */
async function listening(address: string, deadline: number): Promise<void> {
  const [host, port] = address.split(/:(?=\d+$)/) as [string, string];
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port: Number(port) });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${address} did not listen in time`);
}

/** A drill's fault: inject it, bring the failed part back. */
interface Fault {
  readonly region: string | null;
  readonly holdMs: number;
  inject(): Promise<void>;
  recover(): Promise<void>;
  /** After the drill (the partition's latency is removed). */
  cleanup?(): Promise<void>;
  /** An Authorize load on that region during the drill. */
  readonly load?: string;
}

function faultOf(ctx: FaultContext, name: DrillName): Fault {
  const regions = ctx.regionNames;
  const pick = (i: number) => regions[Math.min(i, regions.length - 1)] as string;
  const s = ctx.supervisor;
  const t = ctx.timings;
  switch (name) {
    case "applier-kill": {
      const region = pick(0);
      return {
        region,
        holdMs: t.holdMs,
        inject: () => s.kill9(`${region}-applier`),
        recover: async () => void s.restart(`${region}-applier`),
      };
    }
    case "redis-flush": {
      const region = pick(1);
      const url = new Map(
        (s.infraEnv().GATEHOUSE_REDIS_URLS ?? "")
          .split(",")
          .filter(Boolean)
          .map((p) => p.split(/=(.*)/s).slice(0, 2) as [string, string]),
      ).get(region);
      if (url === undefined) throw new Error(`infra.env names no Redis for ${region}`);
      return {
        region,
        holdMs: 0,
        inject: async () => {
          const redis = new Redis(url, { lazyConnect: true });
          try {
            await redis.connect();
            await redis.flushall();
          } finally {
            redis.disconnect();
          }
        },
        // The server never went away: the flushed view is back in the region's hands at once.
        recover: async () => {},
      };
    }
    case "decider-kill": {
      const region = pick(2);
      return {
        region,
        holdMs: t.holdMs,
        load: region,
        inject: () => s.kill9(`${region}-decider-1`),
        // Back when it listens again.
        recover: async () => {
          const again = s.restart(`${region}-decider-1`);
          await listening(again.spec.env.GATEHOUSE_REGION_LISTEN as string, Date.now() + t.convergeTimeoutMs);
        },
      };
    }
    case "relay-kill":
      return {
        region: null,
        holdMs: t.holdMs,
        inject: () => s.kill9("control-plane"),
        // Back when it answers a signed call (its relay runs by then).
        recover: async () => {
          s.restart("control-plane");
          await controlPlaneRevisions(ctx, Date.now() + t.convergeTimeoutMs);
        },
      };
    case "kafka-restart":
      return {
        region: null,
        holdMs: t.holdMs,
        inject: () => s.infra(["down", "kafka"]),
        recover: () => s.infra(["up", "kafka"]),
      };
    case "region-partition": {
      const p = ctx.proxy;
      if (p === undefined) throw new Error("the partition drill needs the region's Kafka proxy");
      return {
        region: p.region,
        holdMs: t.partitionMs,
        inject: async () => p.proxy.cut(),
        recover: async () => {
          p.proxy.setLatency(t.latencyMs);
          p.proxy.restore();
        },
        cleanup: async () => p.proxy.setLatency(0),
      };
    }
  }
}

/** One drill's outcome with what its correctness check found (for the run's totals). */
export interface DrillOutcome {
  readonly result: FaultResult;
  readonly correctness: CorrectnessResult;
  readonly writes: readonly AckedWrite[];
}

/** Runs the drills in order; `progress` gets a status line at least every two seconds. */
export async function runDrills(
  ctx: FaultContext,
  names: readonly DrillName[],
  progress: (line: string) => void,
): Promise<DrillOutcome[]> {
  const history = new Map<string, AckedWrite[]>();
  let seq = 0;
  const outcomes: DrillOutcome[] = [];
  for (const [i, name] of names.entries()) {
    const fault = faultOf(ctx, name);
    const unexpectedBefore = ctx.supervisor.unexpected.length;
    let phase = "writing";
    const began = Date.now();
    const writer = new DrillWriter(ctx, history, () => seq++);
    const sampler = startSampler({ accounts: ctx.accounts, regions: ctx.regions, rate: ctx.sampleRate });
    const load = fault.load === undefined ? undefined : authorizeLoad(ctx, fault.load);
    const status = () =>
      progress(
        `faults [${i + 1}/${names.length}] ${name}: ${phase}, ${((Date.now() - began) / 1000).toFixed(0)}s, ${writer.writes.length} writes acked, ${writer.failed} failed, ${writer.pending} awaiting every region`,
      );
    const timer = setInterval(status, 2000);
    try {
      await sleep(ctx.timings.preMs);
      phase = `injecting (${DRILL_TEXT[name]})`;
      status();
      const startedAt = Date.now();
      await fault.inject();
      phase = `down for ${fault.holdMs / 1000}s`;
      await sleep(fault.holdMs);
      phase = "recovering";
      await fault.recover();
      const recoveredAt = Date.now();
      phase = "converging";
      status();
      const errors: string[] = [];
      const byRegion = await convergence(ctx, errors);
      const times = [...byRegion.values()];
      const convergedAt = times.every((x) => x !== undefined) ? Math.max(...(times as number[])) : null;
      phase = "writing after convergence";
      await sleep(ctx.timings.postMs);
      phase = "draining checks";
      const [, sampled, loaded] = await Promise.all([writer.stop(), sampler.stop(), load?.stop()]);
      await fault.cleanup?.();
      phase = "final checks";
      const finals = await finalChecks(writer.writes, ctx.regions);
      const lost = lostUpdates(writer.writes, [...writer.observations, ...finals.observations]) + finals.unseen;
      phase = "comparing with the pure engine";
      const observations = [
        ...writer.observations,
        ...finals.observations,
        ...sampled,
        ...(loaded?.observations ?? []),
      ];
      const correctness = await verifyObservations(ctx.operator, observations, ctx.maxExports);
      const result: FaultResult = {
        name,
        converge_ms: convergedAt === null ? null : convergedAt - recoveredAt,
        lost_updates: lost,
        divergent_decisions: correctness.divergent + writer.staleAllows,
        started_at_ms: startedAt,
        recovered_at_ms: recoveredAt,
        converged_at_ms: convergedAt,
        what: DRILL_TEXT[name],
        region: fault.region,
        converge_ms_by_region: Object.fromEntries(
          [...byRegion].map(([r, at]) => [r, at === undefined ? null : at - recoveredAt]),
        ),
        writes_acked: writer.writes.length,
        writes_failed: writer.failed,
        checks_timed_out: writer.timeouts,
        stale_allows: writer.staleAllows,
        checked_decisions: correctness.checked,
        unverified_decisions: correctness.unverified,
        ...(loaded === undefined ? {} : { authorize_answered: loaded.answered, authorize_failed: loaded.failed }),
        errors: writer.lastError === undefined ? errors : [...errors, `a check: ${writer.lastError}`],
        unexpected_exits: ctx.supervisor.unexpected
          .slice(unexpectedBefore)
          .map((u) => `${u.name} exited ${u.code} at ${u.atMs}`),
      };
      ctx.log(
        `faults: ${name}: converged in ${result.converge_ms ?? "never (timed out)"} ms after recovery, ${lost} lost, ${result.divergent_decisions} divergent of ${correctness.checked} checked, ${writer.writes.length} writes acked, ${writer.failed} failed`,
      );
      outcomes.push({ result, correctness, writes: writer.writes });
    } finally {
      clearInterval(timer);
      // Stopped already unless the drill threw (then nothing may keep writing).
      await Promise.all([writer.stop(), sampler.stop(), load?.stop()]);
    }
  }
  return outcomes;
}
