/**
 * A bounded cache from document text to its parsed form, looked up without hashing the text.
 *
 * A `Map<string, …>` hashes every new string object it is asked about, and a region receives each
 * policy as a new string: hashing ten 2 KB documents cost about a tenth of a cold compile. Here a
 * text is first bucketed by a fingerprint of its length and a few dozen sampled characters (about
 * a hundred character reads); a text whose bucket is empty, the cold case, is never hashed. One
 * entry in a bucket is compared with `===` (V8 compares contents, faster than hashing them). Only a
 * bucket holding several texts (same length, same sampled characters, e.g. one template filled with
 * different account ids) becomes a `Map`, so the worst case is what a plain `Map` costs anyway.
 */

interface Entry<V> {
  readonly fingerprint: number;
  readonly text: string;
  readonly value: V;
}

/** Characters sampled across the text (evenly spaced), plus the last {@link TAIL}. */
const SAMPLES = 64;
const TAIL = 16;

/** A 32-bit fingerprint of `text`: its length, evenly spaced characters and its tail. */
export function textFingerprint(text: string): number {
  const n = text.length;
  let h = n ^ 0x811c9dc5;
  const step = n > SAMPLES ? Math.floor(n / SAMPLES) : 1;
  for (let i = 0; i < n; i += step) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  for (let i = n > TAIL ? n - TAIL : 0; i < n; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/** Text → value, at most `capacity` entries, the oldest evicted first. */
export class ParsedTextCache<V> {
  private buckets = new Map<number, Entry<V> | Map<string, Entry<V>>>();
  /** Entries in insertion order, for eviction; `head` is the oldest live one. */
  private order: (Entry<V> | undefined)[] = [];
  private head = 0;
  private count = 0;
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.count;
  }

  get(text: string): V | undefined {
    const bucket = this.buckets.get(textFingerprint(text));
    if (bucket === undefined) return undefined;
    if (bucket instanceof Map) return bucket.get(text)?.value;
    return bucket.text === text ? bucket.value : undefined;
  }

  /** Adds `text` (which must not be cached yet), evicting the oldest entry when full. */
  set(text: string, value: V): void {
    if (this.count >= this.capacity) this.evictOldest();
    const fingerprint = textFingerprint(text);
    const entry: Entry<V> = { fingerprint, text, value };
    const bucket = this.buckets.get(fingerprint);
    if (bucket === undefined) this.buckets.set(fingerprint, entry);
    else if (bucket instanceof Map) bucket.set(text, entry);
    else
      this.buckets.set(
        fingerprint,
        new Map([
          [bucket.text, bucket],
          [text, entry],
        ]),
      );
    this.order.push(entry);
    this.count++;
  }

  clear(): void {
    // A new map, not Map.prototype.clear(), which links the old table to the new one (see
    // clearCompileCaches in compile-policy-set.ts).
    this.buckets = new Map();
    this.order = [];
    this.head = 0;
    this.count = 0;
  }

  private evictOldest(): void {
    const entry = this.order[this.head];
    this.order[this.head] = undefined;
    this.head++;
    // Drop the consumed front once it is half the array, so the array stays O(capacity).
    if (this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    if (entry === undefined) return;
    this.count--;
    const bucket = this.buckets.get(entry.fingerprint);
    if (bucket === entry) this.buckets.delete(entry.fingerprint);
    else if (bucket instanceof Map) {
      bucket.delete(entry.text);
      if (bucket.size === 0) this.buckets.delete(entry.fingerprint);
    }
  }
}
