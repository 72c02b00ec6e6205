import type { RegionView } from "@gatehouse/view-redis";
import type { Logger } from "pino";
import type { AccountSource } from "./control-plane-source.ts";
import type { CompleteRevision } from "./revision-assembler.ts";

/** Options of {@link createAccountHealer}. */
export interface AccountHealerOptions {
  readonly view: RegionView;
  readonly source: AccountSource;
  readonly logger: Logger;
  /** Accounts healed at once (each an export and one replace script). */
  readonly concurrency?: number;
  /** Backoff between failed attempts of one account: doubles from `initialMs` up to `maxMs`, with jitter. */
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
  /** Revisions held per account while it heals; past it the oldest go (the export covers them). */
  readonly maxHeldRevisions?: number;
  /** An account was healed: replaced at `revision`, then its held revisions applied. */
  readonly onHealed?: (accountId: string, revision: number) => void;
  /** The view refused a write for good (`view-lost`, `fenced`): the applier must stop. */
  readonly onFatal: (outcome: "view-lost" | "fenced") => void;
}

/** An account being healed, for status. */
export interface HealingAccount {
  readonly accountId: string;
  /** Epoch ms when the gap was met. */
  readonly sinceMs: number;
  readonly attempts: number;
  readonly lastError?: string;
  /** Revisions read from the topic while it heals, held to apply after the export. */
  readonly held: number;
}

/**
 * Heals accounts whose stream has a gap (or a rewound history) from the control plane's export,
 * off the consume loop: the loop hands over the revision the view refused and every later one of
 * the account ({@link AccountHealer.hold}) and goes on with other accounts. A heal exports the
 * account (its current revision, at least any revision it published), replaces the account's
 * view at that revision in one script, then applies the held revisions above it in order. An
 * export that fails is retried with backoff; the account stays gapped in the view (and in
 * status) until then. Offsets are committed only below the first revision held for a healing
 * account, so a process killed mid-heal re-reads them.
 */
export interface AccountHealer {
  /** Whether the account is healing: its revisions must be {@link hold}-ed, not applied. */
  isHealing(accountId: string): boolean;
  /** Holds a revision read from `partition` (refused by the view, or read while healing) and heals its account. */
  hold(partition: number, revision: CompleteRevision): void;
  /** Heals an account found gapped in the view (at start-up), with the epoch it was applied under. */
  heal(accountId: string, epoch: string): void;
  /** The offset the consumer may commit on `partition` once all before `next` was handled. */
  committableOffset(partition: number, next: bigint): bigint;
  /** Forgets what was held from partitions no longer assigned (their new reader re-reads them). */
  keepPartitions(assigned: ReadonlySet<number>): void;
  healing(): HealingAccount[];
  /** Heals completed by this process. */
  healed(): number;
  stop(): Promise<void>;
}

interface Held {
  readonly partition: number;
  readonly revision: CompleteRevision;
}

interface State {
  epoch: string;
  readonly sinceMs: number;
  attempts: number;
  lastError?: string;
  /** Held revisions by revision number. */
  readonly held: Map<number, Held>;
  /** Per partition, the first offset of anything held since the heal began (kept even if dropped). */
  readonly holds: Map<number, bigint>;
  queued: boolean;
  running: boolean;
  timer?: NodeJS.Timeout;
}

/** Creates the healer; see {@link AccountHealer}. */
export function createAccountHealer(options: AccountHealerOptions): AccountHealer {
  const { view, source, logger } = options;
  const concurrency = options.concurrency ?? 4;
  const retry = options.retry ?? { initialMs: 200, maxMs: 30_000 };
  const maxHeld = options.maxHeldRevisions ?? 10_000;
  const states = new Map<string, State>();
  const queue: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let running = 0;
  let healed = 0;
  let stopped = false;

  const stateOf = (accountId: string, epoch: string): State => {
    let st = states.get(accountId);
    if (st === undefined) {
      st = {
        epoch,
        sinceMs: Date.now(),
        attempts: 0,
        held: new Map(),
        holds: new Map(),
        queued: false,
        running: false,
      };
      states.set(accountId, st);
      enqueue(accountId, st);
    }
    return st;
  };

  const enqueue = (accountId: string, st: State) => {
    if (st.queued || st.running || st.timer !== undefined || stopped) return;
    st.queued = true;
    queue.push(accountId);
    pump();
  };

  const pump = () => {
    while (running < concurrency && queue.length > 0 && !stopped) {
      const accountId = queue.shift() as string;
      const st = states.get(accountId);
      if (st === undefined) continue;
      st.queued = false;
      st.running = true;
      running++;
      const task = run(accountId, st).finally(() => {
        st.running = false;
        running--;
        inFlight.delete(task);
        pump();
      });
      inFlight.add(task);
    }
  };

  const retryLater = (accountId: string, st: State) => {
    const base = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(30, st.attempts - 1));
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    st.timer = setTimeout(() => {
      st.timer = undefined;
      enqueue(accountId, st);
    }, delay);
  };

  /** One attempt: export, replace, apply what was held. Leaves the state when done. */
  const run = async (accountId: string, st: State): Promise<void> => {
    st.attempts++;
    try {
      const exported = await source.exportAccount(accountId);
      if (stopped) return;
      // The export's own history when the control plane names it: after a failover to a rewound
      // timeline, the state exported is of the new history, whatever the gapped event said.
      const epoch = exported.epoch !== "" ? exported.epoch : st.epoch;
      const out = await view.replaceAccount(accountId, exported.revision, epoch, exported.entities);
      if (out.kind === "view-lost" || out.kind === "fenced") {
        options.onFatal(out.kind);
        return;
      }
      let applied = out.kind === "replaced" ? out.revision : out.appliedRevision;
      logger.info(
        { accountId, revision: exported.revision, outcome: out.kind, attempts: st.attempts, held: st.held.size },
        "account healed from the control plane's export",
      );
      for (;;) {
        if (stopped) return;
        let next: Held | undefined;
        for (const h of st.held.values())
          if (next === undefined || h.revision.revision < next.revision.revision) next = h;
        if (next === undefined) break;
        st.held.delete(next.revision.revision);
        if (next.revision.revision <= applied) continue;
        const r = next.revision;
        const res = await view.applyRevision(accountId, r.revision, r.epoch, r.entities);
        if (res.kind === "view-lost" || res.kind === "fenced") {
          options.onFatal(res.kind);
          return;
        }
        if (res.kind === "applied") applied = res.revision;
        else if (res.kind !== "duplicate") {
          // A hole among the held revisions (some were dropped, or the topic skips one again): the
          // next export is at least this revision.
          st.held.set(r.revision, next);
          logger.warn(
            { accountId, revision: r.revision, outcome: res.kind },
            "held revision not applicable: healing again",
          );
          // Queued once this attempt has ended (a running account is not queued twice).
          st.timer = setTimeout(() => {
            st.timer = undefined;
            enqueue(accountId, st);
          }, 0);
          return;
        }
      }
      // Nothing awaits between the last check of `held` and here: no revision can slip in between.
      states.delete(accountId);
      healed++;
      options.onHealed?.(accountId, applied);
    } catch (e) {
      st.lastError = e instanceof Error ? e.message : String(e);
      logger.warn({ err: e, accountId, attempts: st.attempts }, "healing from the control plane failed: retrying");
      retryLater(accountId, st);
    }
  };

  return {
    isHealing: (accountId) => states.has(accountId),
    hold(partition, revision) {
      const st = stateOf(revision.accountId, revision.epoch);
      if (revision.epoch !== "") st.epoch = revision.epoch;
      const first = st.holds.get(partition);
      if (first === undefined || revision.firstOffset < first) st.holds.set(partition, revision.firstOffset);
      st.held.set(revision.revision, { partition, revision });
      if (st.held.size > maxHeld) {
        const oldest = Math.min(...st.held.keys());
        st.held.delete(oldest);
      }
    },
    heal(accountId, epoch) {
      stateOf(accountId, epoch);
    },
    committableOffset(partition, next) {
      let min = next;
      for (const st of states.values()) {
        const first = st.holds.get(partition);
        if (first !== undefined && first < min) min = first;
      }
      return min;
    },
    keepPartitions(assigned) {
      for (const st of states.values()) {
        for (const p of [...st.holds.keys()]) if (!assigned.has(p)) st.holds.delete(p);
        for (const [rev, h] of [...st.held]) if (!assigned.has(h.partition)) st.held.delete(rev);
      }
    },
    healing: () =>
      [...states].map(([accountId, st]) => ({
        accountId,
        sinceMs: st.sinceMs,
        attempts: st.attempts,
        held: st.held.size,
        ...(st.lastError === undefined ? {} : { lastError: st.lastError }),
      })),
    healed: () => healed,
    async stop() {
      stopped = true;
      for (const st of states.values()) clearTimeout(st.timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
