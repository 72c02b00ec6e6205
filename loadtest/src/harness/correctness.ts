/**
 * Correctness under load: decisions sampled from every region (and every propagation check) are
 * compared with the pure engine over the control plane's `ExportAccount` at the revision each
 * region said it used (`evaluated_at`).
 */
import type { Gatehouse } from "@gatehouse/sdk";
import type { LoadedAccount } from "./dataset.ts";
import { checkPlan } from "./dataset-plan.ts";
import { type AccountAt, accountAt, oracleDecision } from "./oracle.ts";
import type { Observation } from "./propagation.ts";

/**
 * Samples `rate` decisions per second from random regions about random principals of the
 * dataset until `stop()` resolves; returns what the regions answered.
 */
export function startSampler(opts: {
  readonly accounts: readonly LoadedAccount[];
  readonly regions: ReadonlyMap<string, Gatehouse>;
  readonly rate: number;
}): { stop(): Promise<Observation[]> } {
  const observations: Observation[] = [];
  const regions = [...opts.regions];
  let k = 0;
  let running = true;
  const pending = new Set<Promise<void>>();
  const timer = setInterval(
    () => {
      if (!running || opts.accounts.length === 0) return;
      const account = opts.accounts[Math.floor(Math.random() * opts.accounts.length)] as LoadedAccount;
      const [region, client] = regions[k % regions.length] as [string, Gatehouse];
      const check = checkPlan(account.accountId, account.users, k++, Math.random());
      const p = client.authz
        .authorize({ ...check, ...(check.context === undefined ? {} : { context: check.context }) })
        .then(
          (a) => {
            observations.push({
              region,
              accountId: account.accountId,
              ...check,
              decision: a.decision,
              evaluatedAt: a.evaluatedAt?.revision ?? 0,
            });
          },
          () => {},
        );
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    Math.max(1, 1000 / opts.rate),
  );
  return {
    async stop() {
      running = false;
      clearInterval(timer);
      await Promise.all(pending);
      return observations;
    },
  };
}

/** What the comparison found. */
export interface CorrectnessResult {
  readonly checked: number;
  readonly divergent: number;
  /** Samples not compared: over the export budget, or answered at revision 0. */
  readonly unverified: number;
  readonly exports: number;
  /** Checked decisions by what the region answered (a mix with no Allow or no deny proves little). */
  readonly byDecision: Readonly<Record<string, number>>;
  /** A few divergences, for the report. */
  readonly examples: readonly { observation: Observation; expected: string }[];
}

/**
 * Compares every observation with the pure engine over `ExportAccount(at_revision = evaluated_at)`
 * (one export per account and revision, at most `maxExports`; observations beyond it are counted
 * as unverified, never as agreeing).
 */
export async function verifyObservations(
  operator: Gatehouse,
  observations: readonly Observation[],
  maxExports: number,
): Promise<CorrectnessResult> {
  const groups = new Map<string, Observation[]>();
  let unverified = 0;
  for (const o of observations) {
    if (o.evaluatedAt <= 0) {
      unverified++;
      continue;
    }
    const key = `${o.accountId}@${o.evaluatedAt}`;
    const list = groups.get(key) ?? [];
    list.push(o);
    groups.set(key, list);
  }
  // The revisions with most samples first, so the export budget covers as many as it can.
  const ordered = [...groups.values()].sort((a, b) => b.length - a.length);
  let checked = 0;
  let divergent = 0;
  let exports = 0;
  const examples: { observation: Observation; expected: string }[] = [];
  const byDecision: Record<string, number> = { Allow: 0, ExplicitDeny: 0, ImplicitDeny: 0 };
  let next = 0;
  const worker = async () => {
    while (next < ordered.length) {
      const list = ordered[next++] as Observation[];
      if (exports >= maxExports) {
        unverified += list.length;
        continue;
      }
      exports++;
      const first = list[0] as Observation;
      const r = await operator.iam.exportAccount({ accountId: first.accountId, atRevision: first.evaluatedAt });
      const account: AccountAt = accountAt(r.snapshot);
      if (account.revision !== first.evaluatedAt) {
        throw new Error(
          `ExportAccount(${first.accountId}, at ${first.evaluatedAt}) answered revision ${account.revision}`,
        );
      }
      for (const o of list) {
        const expected = oracleDecision(account, o);
        checked++;
        byDecision[o.decision] = (byDecision[o.decision] ?? 0) + 1;
        if (expected !== o.decision) {
          divergent++;
          if (examples.length < 5) examples.push({ observation: o, expected });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return { checked, divergent, unverified, exports, byDecision, examples };
}
