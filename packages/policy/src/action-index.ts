import { actionMatches, type CompiledStatement } from "./compiled-statement.ts";
import type { Pattern } from "./pattern.ts";

const EMPTY: readonly CompiledStatement[] = Object.freeze([]);

/** The literal service prefix of a lower-cased action pattern; undefined when it has wildcards. */
function serviceOf(lowerPattern: string): string | undefined {
  const colon = serviceEnd(lowerPattern);
  return colon < 0 ? undefined : lowerPattern.slice(0, colon);
}

/** The colon after a literal service prefix, or -1 when there is none or the service has wildcards. */
function serviceEnd(lowerPattern: string): number {
  const colon = lowerPattern.indexOf(":");
  if (colon <= 0) return -1;
  for (let i = 0; i < colon; i++) {
    const c = lowerPattern.charCodeAt(i);
    if (c === 42 || c === 63) return -1;
  }
  return colon;
}

/** Whether `wild` (a pattern with a literal service) and `action` name the same service, without slicing. */
function sameService(wild: string, action: string): boolean {
  const colon = wild.indexOf(":");
  if (action.length <= colon || action.charCodeAt(colon) !== 58) return false;
  for (let i = 0; i < colon; i++) if (wild.charCodeAt(i) !== action.charCodeAt(i)) return false;
  return true;
}

/**
 * Statements of one slot and effect, indexed by action: exact lower-case actions in a map, patterns
 * with a literal service prefix (`s3:Get*`) by service, everything else (`*`, `s3*:…`, NotAction)
 * in a fallback list. Each statement lands in at most one bucket per request action, so candidates
 * never repeat. A bucket holding one statement holds it without an array (most exact actions).
 */
export class ActionIndex {
  // Created on first use: a principal has eight indexes (four slots, two effects) and most of them
  // stay empty (no boundary, session policies or guardrails, few denies).
  private exact: Map<string, Bucket> | undefined;
  private byService: Map<string, Bucket> | undefined;
  private readonly fallback: CompiledStatement[] = [];
  size = 0;

  private exactMap(): Map<string, Bucket> {
    if (this.exact === undefined) this.exact = new Map();
    return this.exact;
  }

  private serviceMap(): Map<string, Bucket> {
    if (this.byService === undefined) this.byService = new Map();
    return this.byService;
  }

  /**
   * Indexes `s`. Statements with up to 16 patterns (nearly all) are indexed by scanning the
   * pattern list for duplicates instead of building sets: a cold compile indexes every statement.
   */
  add(s: CompiledStatement): void {
    this.size++;
    const patterns = s.actions;
    if (patterns === undefined) {
      this.fallback.push(s);
      return;
    }
    if (patterns.length > 16) {
      this.addMany(s, patterns);
      return;
    }
    // A wildcard service (`s3*:…`, `*`) means fallback.
    for (const p of patterns) {
      if (p.hasWildcards && serviceEnd(p.source) < 0) {
        this.fallback.push(s);
        return;
      }
    }
    // Each service matched by wildcard once, in order of first appearance.
    for (let i = 0; i < patterns.length; i++) {
      const p = patterns[i] as Pattern;
      if (p.hasWildcards && !earlierWildcardOfService(patterns, i, p.source)) {
        push(this.serviceMap(), serviceOf(p.source) as string, s);
      }
    }
    // Exact actions not already covered by a wildcard of their service, each once.
    for (let i = 0; i < patterns.length; i++) {
      const p = patterns[i] as Pattern;
      if (p.hasWildcards) continue;
      const a = p.source;
      if (earlierWildcardOfService(patterns, patterns.length, a) || earlierExact(patterns, i, a)) continue;
      push(this.exactMap(), a, s);
    }
  }

  /**
   * {@link add} for a statement with many actions, with Sets where `add` scans arrays: AWS's
   * ReadOnlyAccess has 1,500 actions in one statement, and scanning made indexing it quadratic
   * (milliseconds per principal). Short statements keep the arrays, which are cheaper to build.
   */
  private addMany(s: CompiledStatement, patterns: readonly Pattern[]): void {
    const wildServices = new Set<string>();
    for (const p of patterns) {
      if (!p.hasWildcards) continue;
      const service = serviceOf(p.source);
      if (service === undefined) {
        this.fallback.push(s);
        return;
      }
      wildServices.add(service);
    }
    for (const service of wildServices) push(this.serviceMap(), service, s);
    for (const p of patterns) {
      if (p.hasWildcards) continue;
      const a = p.source;
      if (wildServices.size > 0 && wildServices.has(serviceOf(a) ?? "")) continue;
      pushOnce(this.exactMap(), a, s);
    }
  }

  /** Statements whose Action/NotAction matches `lowerAction`, in ordinal order (a fresh array, or a shared empty one). */
  candidates(lowerAction: string): readonly CompiledStatement[] {
    if (this.size === 0) return EMPTY;
    const result: CompiledStatement[] = [];
    const exact = this.exact?.get(lowerAction);
    if (Array.isArray(exact)) result.push(...exact);
    else if (exact !== undefined) result.push(exact);
    const colon = lowerAction.indexOf(":");
    if (colon > 0) {
      const byService = this.byService?.get(lowerAction.slice(0, colon));
      if (Array.isArray(byService)) {
        for (const s of byService) if (actionMatches(s, lowerAction)) result.push(s);
      } else if (byService !== undefined && actionMatches(byService, lowerAction)) result.push(byService);
    }
    for (const s of this.fallback) if (actionMatches(s, lowerAction)) result.push(s);
    if (result.length === 0) return EMPTY;
    return result.sort((a, b) => a.ordinal - b.ordinal);
  }
}

/** One statement, or several in the order they were added. */
type Bucket = CompiledStatement | CompiledStatement[];

/**
 * {@link push}, unless `s` is already the last statement under `key`: statements are added one at
 * a time, so that is how an action listed twice in one statement shows (no Set of added actions).
 */
function pushOnce(map: Map<string, Bucket>, key: string, s: CompiledStatement): void {
  const bucket = map.get(key);
  if (bucket === undefined) map.set(key, s);
  else if (Array.isArray(bucket)) {
    if (bucket[bucket.length - 1] !== s) bucket.push(s);
  } else if (bucket !== s) map.set(key, [bucket, s]);
}

function push(map: Map<string, Bucket>, key: string, s: CompiledStatement): void {
  const bucket = map.get(key);
  if (bucket === undefined) map.set(key, s);
  else if (Array.isArray(bucket)) bucket.push(s);
  else map.set(key, [bucket, s]);
}

/** Whether a wildcard pattern among `patterns[0, end)` has the service of `action`. */
function earlierWildcardOfService(patterns: readonly Pattern[], end: number, action: string): boolean {
  for (let j = 0; j < end; j++) {
    const q = patterns[j] as Pattern;
    if (q.hasWildcards && sameService(q.source, action)) return true;
  }
  return false;
}

/** Whether an exact pattern among `patterns[0, end)` is `action`. */
function earlierExact(patterns: readonly Pattern[], end: number, action: string): boolean {
  for (let j = 0; j < end; j++) {
    const q = patterns[j] as Pattern;
    if (!q.hasWildcards && q.source === action) return true;
  }
  return false;
}
