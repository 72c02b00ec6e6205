/**
 * Propagation under a write load: writes at a target rate (each rewrites an account's probe user's
 * inline policy to allow one new object), and for each write, in every region, the time from the
 * control plane's answer to the region answering an `Authorize` with `min_revision` = the write's
 * revision (the region holds such a call until it has applied that revision: its own
 * read-your-writes wait, so no polling interval is added). Every answer is kept for the
 * correctness check and the lost-update count.
 */
import type { Gatehouse } from "@gatehouse/sdk";
import type { LoadedAccount } from "./dataset.ts";
import { type Histogram, histogram, openLoop, recordMs } from "./latency.ts";
import type { Progress } from "./progress.ts";
import type { Throughput } from "./timeline.ts";

/** One acknowledged write. */
export interface AckedWrite {
  readonly seq: number;
  readonly account: LoadedAccount;
  readonly revision: number;
  /** The history the revision was committed in (Revision.epoch). */
  readonly epoch: string;
  readonly resource: string;
}

/** A decision a region gave, with the revision it said it used. */
export interface Observation {
  readonly region: string;
  readonly accountId: string;
  readonly principalArn: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
  readonly decision: "Allow" | "ExplicitDeny" | "ImplicitDeny";
  readonly evaluatedAt: number;
  /** The write this check followed (propagation checks only). */
  readonly write?: AckedWrite;
}

/** Results of {@link runPropagation}. */
export interface PropagationResult {
  readonly writes: AckedWrite[];
  readonly failedWrites: number;
  readonly writeMs: number;
  /** Per region: ack → the region answers at the write's revision. */
  readonly perRegion: Map<string, Histogram>;
  /** Ack → every region answered (the slowest region per write). */
  readonly allRegions: Histogram;
  readonly observations: Observation[];
  readonly timeouts: number;
  /** Per write and region: when the write was acknowledged (epoch ms) and how long until visible. */
  readonly visible: { acked_ms: number; region: string; ms: number }[];
}

/** The probe policy a write puts: allows exactly its own object. */
export const probeResource = (runId: string, seq: number) => `arn:aws:s3:::lt-probe/${runId}/${seq}`;

/** Writes at `rate`/s for `durationMs` over `accounts`, measuring propagation to every region. */
export async function runPropagation(opts: {
  readonly accounts: readonly LoadedAccount[];
  /** A root client per account id. */
  readonly writers: ReadonlyMap<string, Gatehouse>;
  /** A check client per region. */
  readonly regions: ReadonlyMap<string, Gatehouse>;
  readonly rate: number;
  readonly durationMs: number;
  readonly runId: string;
  readonly progress: Progress;
  /** Counts acknowledged writes per second (the report's throughput chart). */
  readonly throughput?: Throughput;
}): Promise<PropagationResult> {
  const perRegion = new Map([...opts.regions.keys()].map((r) => [r, histogram()]));
  const allRegions = histogram();
  const writes: AckedWrite[] = [];
  const observations: Observation[] = [];
  const visible: PropagationResult["visible"] = [];
  let timeouts = 0;
  const writeLatency = histogram();
  opts.progress.start("propagation", Math.floor((opts.rate * opts.durationMs) / 1000));
  const started = performance.now();
  const result = await openLoop(
    opts.rate,
    opts.durationMs,
    async (seq) => {
      const account = opts.accounts[seq % opts.accounts.length] as LoadedAccount;
      const gh = opts.writers.get(account.accountId) as Gatehouse;
      const resource = probeResource(opts.runId, seq);
      const r = await gh.iam.putUserPolicy({
        userName: "lt-probe",
        policyName: "probe",
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: resource }],
        }),
      });
      const acked = performance.now();
      const ackedMs = Date.now();
      opts.throughput?.count("writes (propagation)");
      const write: AckedWrite = {
        seq,
        account,
        revision: r.revision?.revision ?? 0,
        epoch: r.revision?.epoch ?? "",
        resource,
      };
      writes.push(write);
      const answered = await Promise.all(
        [...opts.regions].map(async ([region, client]) => {
          try {
            const a = await client.authz.authorize(
              {
                principalArn: account.probeArn,
                action: "s3:GetObject",
                resource,
                minRevision: { accountId: account.accountId, revision: write.revision, epoch: write.epoch },
              },
              { timeoutMs: 30_000 },
            );
            const ms = performance.now() - acked;
            recordMs(perRegion.get(region) as Histogram, ms);
            visible.push({ acked_ms: ackedMs, region, ms });
            observations.push({
              region,
              accountId: account.accountId,
              principalArn: account.probeArn,
              action: "s3:GetObject",
              resource,
              decision: a.decision,
              evaluatedAt: a.evaluatedAt?.revision ?? 0,
              write,
            });
            return ms;
          } catch {
            timeouts++;
            return Number.POSITIVE_INFINITY;
          }
        }),
      );
      const slowest = Math.max(...answered);
      if (Number.isFinite(slowest)) recordMs(allRegions, slowest);
    },
    writeLatency,
    () => opts.progress.tick(),
  );
  opts.progress.done();
  return {
    writes,
    failedWrites: result.failed,
    writeMs: performance.now() - started,
    perRegion,
    allRegions,
    observations,
    timeouts,
    visible,
  };
}

/**
 * Acknowledged writes whose effect a region did not show: an answer at or above the write's
 * revision that did not allow its object, with no later write of that account at or below the
 * revision answered at (which would have replaced it). `finals` are the end-of-run checks.
 */
export function lostUpdates(writes: readonly AckedWrite[], observations: readonly Observation[]): number {
  const byAccount = new Map<string, number[]>();
  for (const w of writes) {
    const list = byAccount.get(w.account.accountId) ?? [];
    list.push(w.revision);
    byAccount.set(w.account.accountId, list);
  }
  let lost = 0;
  for (const o of observations) {
    const w = o.write;
    if (w === undefined || o.decision === "Allow") continue;
    const replaced = (byAccount.get(w.account.accountId) ?? []).some((rev) => rev > w.revision && rev <= o.evaluatedAt);
    if (!replaced || o.evaluatedAt < w.revision) lost++;
  }
  return lost;
}

/**
 * The end-of-run check: per account, the last acknowledged write (highest revision) must be
 * visible in every region (its object allowed at or above its revision, within 30 s) and the
 * write before it replaced. Returns the observations (with `write`) and the writes never seen.
 */
export async function finalChecks(
  writes: readonly AckedWrite[],
  regions: ReadonlyMap<string, Gatehouse>,
): Promise<{ observations: Observation[]; unseen: number }> {
  const last = new Map<string, AckedWrite>();
  const previous = new Map<string, AckedWrite>();
  for (const w of [...writes].sort((a, b) => a.revision - b.revision)) {
    const before = last.get(w.account.accountId);
    if (before !== undefined) previous.set(w.account.accountId, before);
    last.set(w.account.accountId, w);
  }
  const observations: Observation[] = [];
  let unseen = 0;
  await Promise.all(
    [...last.values()].flatMap((w) =>
      [...regions].flatMap(([region, client]) =>
        [w, previous.get(w.account.accountId)].map(async (check) => {
          if (check === undefined) return;
          try {
            const a = await client.authz.authorize(
              {
                principalArn: w.account.probeArn,
                action: "s3:GetObject",
                resource: check.resource,
                minRevision: { accountId: w.account.accountId, revision: w.revision, epoch: w.epoch },
              },
              { timeoutMs: 30_000 },
            );
            observations.push({
              region,
              accountId: w.account.accountId,
              principalArn: w.account.probeArn,
              action: "s3:GetObject",
              resource: check.resource,
              decision: a.decision,
              evaluatedAt: a.evaluatedAt?.revision ?? 0,
              write: check,
            });
          } catch {
            // Never answered at the last write's revision: every write of the account counts.
            if (check === w) unseen += writes.filter((x) => x.account.accountId === w.account.accountId).length;
          }
        }),
      ),
    ),
  );
  return { observations, unseen };
}
