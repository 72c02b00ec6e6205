import type { CompiledPrincipal } from "./compile-principal.ts";

/**
 * The decider's L1: compiled principals by ARN, least recently used evicted first once their
 * estimated bytes exceed the bound. Eviction by invalidation is exact: a principal named by an
 * applied revision above the one it was compiled at is dropped, and a compile that finishes
 * after such an invalidation is not cached (it may still answer its own call, at its revision).
 */
export class PrincipalCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, CompiledPrincipal>();
  /** The highest revision that invalidated each principal / each whole account. */
  readonly #invalidatedAt = new Map<string, number>();
  readonly #accountInvalidatedAt = new Map<string, number>();
  #bytes = 0;
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
    // Re-insert: Map order is the LRU order.
    this.#entries.delete(arn);
    this.#entries.set(arn, hit);
    return hit;
  }

  /** Whether no invalidation above `entry`'s revision was seen (it is valid up to the latest notification). */
  isCurrent(entry: CompiledPrincipal): boolean {
    return (
      entry.revision >=
      Math.max(this.#invalidatedAt.get(entry.arn) ?? 0, this.#accountInvalidatedAt.get(entry.accountId) ?? 0)
    );
  }

  /** Caches `entry` unless an invalidation above its revision was seen meanwhile. */
  set(entry: CompiledPrincipal): void {
    if (!this.isCurrent(entry)) return;
    this.#drop(entry.arn);
    this.#entries.set(entry.arn, entry);
    this.#bytes += entry.bytes;
    for (const [arn, e] of this.#entries) {
      if (this.#bytes <= this.#maxBytes || e === entry) break;
      this.#drop(arn);
    }
  }

  /** Revision `revision` of `accountId` changed these principals (or all of the account's). */
  invalidate(accountId: string, revision: number, all: boolean, principals: readonly string[]): void {
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

  /** Forgets everything (the notification stream was interrupted: invalidations may be lost). */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #drop(arn: string): void {
    const e = this.#entries.get(arn);
    if (e === undefined) return;
    this.#entries.delete(arn);
    this.#bytes -= e.bytes;
  }
}
