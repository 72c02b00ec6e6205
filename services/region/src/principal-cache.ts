import type { CompiledPrincipal } from "./compile-principal.ts";

/**
 * The decider's L1: compiled principals by ARN, least recently used evicted first once their
 * estimated bytes exceed the bound. Eviction by invalidation is exact: a principal named by an
 * applied revision above the one it was compiled at is dropped, and a compile that finishes
 * after such an invalidation is not cached (it may still answer its own call, at its revision).
 */
const MAX_MARKS = 100_000;

export class PrincipalCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, CompiledPrincipal>();
  /** The highest revision that invalidated each principal / each whole account. */
  readonly #invalidatedAt = new Map<string, number>();
  readonly #accountInvalidatedAt = new Map<string, number>();
  #bytes = 0;
  #generation = 0;
  /**
   * The entry last in the Map's order, when known. Moving it to the end would change nothing, and
   * would cost much: a Map keeps each deleted slot in its key's hash chain until it rehashes, so
   * one principal asked again and again (a batch of one principal's checks) makes its own chain
   * longer with every delete-and-set, and every lookup of it walks that chain.
   */
  #last: CompiledPrincipal | undefined;
  hits = 0;
  misses = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(arn: string): CompiledPrincipal | undefined {
    const hit = this.#entries.get(arn);
    if (hit === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (hit === this.#last) return hit;
    // Re-insert: Map order is the LRU order.
    this.#entries.delete(arn);
    this.#entries.set(arn, hit);
    this.#last = hit;
    return hit;
  }

  /**
   * Counts a hit on an entry {@link PrincipalCache.get} returned earlier in the same synchronous
   * pass (a batch's later checks of one principal), without moving it again in the LRU order.
   */
  countHit(): void {
    this.hits++;
  }

  /** The cached entry for `arn`, without counting a hit or a miss or moving it in the LRU order. */
  peek(arn: string): CompiledPrincipal | undefined {
    return this.#entries.get(arn);
  }

  /**
   * Whether `entry` is the cached one: then no invalidation above its revision was seen, and it is
   * valid up to the latest processed notification.
   */
  isCurrent(entry: CompiledPrincipal): boolean {
    return this.#entries.get(entry.arn) === entry;
  }

  /**
   * Bumped whenever the invalidation marks are forgotten (they are bounded): a load that began in
   * an earlier generation cannot be checked against them and is not cached.
   */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Caches `entry`, loaded in `generation`, unless an invalidation above its revision was seen
   * since the load began (it may still answer its own call, at its own revision).
   */
  set(entry: CompiledPrincipal, generation: number): void {
    if (generation !== this.#generation) return;
    const stale = Math.max(
      this.#invalidatedAt.get(entry.arn) ?? 0,
      this.#accountInvalidatedAt.get(entry.accountId) ?? 0,
    );
    if (entry.revision < stale) return;
    this.#drop(entry.arn);
    this.#entries.set(entry.arn, entry);
    this.#last = entry;
    this.#bytes += entry.bytes;
    for (const [arn, e] of this.#entries) {
      if (this.#bytes <= this.#maxBytes || e === entry) break;
      this.#drop(arn);
    }
  }

  /** Revision `revision` of `accountId` changed these principals (or all of the account's). */
  invalidate(accountId: string, revision: number, all: boolean, principals: readonly string[]): void {
    // The marks only guard loads in flight; bound them (cached entries were evicted already).
    if (this.#invalidatedAt.size + this.#accountInvalidatedAt.size > MAX_MARKS) {
      this.#invalidatedAt.clear();
      this.#accountInvalidatedAt.clear();
      this.#generation++;
    }
    if (all) {
      this.#accountInvalidatedAt.set(accountId, Math.max(revision, this.#accountInvalidatedAt.get(accountId) ?? 0));
      for (const [arn, e] of this.#entries) if (e.accountId === accountId && e.revision < revision) this.#drop(arn);
      return;
    }
    for (const arn of principals) {
      this.#invalidatedAt.set(arn, Math.max(revision, this.#invalidatedAt.get(arn) ?? 0));
      const e = this.#entries.get(arn);
      if (e !== undefined && e.revision < revision) this.#drop(arn);
    }
  }

  /**
   * `accountId`'s view was replaced (see the view's `replaced` notification): every entry of the
   * account goes, whatever its revision (another history may reuse the revision numbers), and no
   * load begun before now is cached (the generation moves on: loads of other accounts in flight
   * are not cached either, a cost paid once per heal).
   */
  replaceAccount(accountId: string): void {
    for (const [arn, e] of this.#entries) if (e.accountId === accountId) this.#drop(arn);
    this.#generation++;
  }

  /** Empties the cache, returning what it held (most recently used last). */
  drain(): CompiledPrincipal[] {
    const all = [...this.#entries.values()];
    this.clear();
    return all;
  }

  /** Forgets everything (the notification stream was interrupted: invalidations may be lost). */
  clear(): void {
    this.#entries.clear();
    this.#last = undefined;
    this.#bytes = 0;
  }

  #drop(arn: string): void {
    const e = this.#entries.get(arn);
    if (e === undefined) return;
    this.#entries.delete(arn);
    if (e === this.#last) this.#last = undefined;
    this.#bytes -= e.bytes;
  }
}
