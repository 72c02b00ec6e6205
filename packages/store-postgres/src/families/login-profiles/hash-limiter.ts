import { IamError } from "@gatehouse/core";

/** Options of {@link createHashLimiter}. */
export interface HashLimiterOptions {
  /** Hashes running at once in the process; the rest wait. */
  readonly concurrency: number;
  /** Password writes one account may have in progress; more are refused with Throttling. */
  readonly writesPerAccount: number;
}

/**
 * Bounds slow password hashing (argon2: a password write may verify two dozen earlier hashes).
 * Work waits for one of `concurrency` slots, and the slots are handed out round-robin between the
 * accounts waiting, so an account with many queued hashes delays another account's hash by at
 * most one hash per waiting account rather than by its whole queue.
 */
export interface HashLimiter {
  /**
   * Admits one password write of `accountId`, or throws Throttling (retriable) when the account
   * already has `writesPerAccount` in progress. Call the returned function once the write ended.
   */
  admit(accountId: string): () => void;
  /** Runs one hash of `accountId` in a slot, after the work queued before it in the rotation. */
  run<T>(accountId: string, work: () => Promise<T>): Promise<T>;
  /** Hashes running now and waiting now (for tests and metrics). */
  stats(): { running: number; waiting: number };
}

/**
 * A {@link HashLimiter}.
 * @example
 * const limiter = createHashLimiter({ concurrency: 2, writesPerAccount: 4 });
 * const release = limiter.admit(accountId);
 * try { await limiter.run(accountId, () => hash(password)); } finally { release(); }
 */
export function createHashLimiter(options: HashLimiterOptions): HashLimiter {
  const { concurrency, writesPerAccount } = options;
  const inProgress = new Map<string, number>();
  const waiting = new Map<string, (() => void)[]>();
  // Accounts with waiting work, in the order they are served next.
  const rotation: string[] = [];
  let running = 0;
  let queued = 0;

  const next = (): void => {
    while (running < concurrency) {
      const account = rotation.shift();
      if (account === undefined) return;
      const queue = waiting.get(account) ?? [];
      const start = queue.shift();
      if (queue.length === 0) waiting.delete(account);
      else rotation.push(account);
      if (start === undefined) continue;
      queued--;
      running++;
      start();
    }
  };

  return {
    admit(accountId) {
      const n = inProgress.get(accountId) ?? 0;
      if (n >= writesPerAccount) {
        throw new IamError(
          "Throttling",
          `account ${accountId} already has ${n} password writes in progress (at most ${writesPerAccount}); retry later`,
          { retriable: true },
        );
      }
      inProgress.set(accountId, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (inProgress.get(accountId) ?? 1) - 1;
        if (left === 0) inProgress.delete(accountId);
        else inProgress.set(accountId, left);
      };
    },
    async run(accountId, work) {
      await new Promise<void>((resolve) => {
        const queue = waiting.get(accountId);
        if (queue === undefined) {
          waiting.set(accountId, [resolve]);
          rotation.push(accountId);
        } else queue.push(resolve);
        queued++;
        next();
      });
      try {
        return await work();
      } finally {
        running--;
        next();
      }
    },
    stats: () => ({ running, waiting: queued }),
  };
}
