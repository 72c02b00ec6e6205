import { actionMatches, type CompiledStatement } from "./compiled-statement.ts";
import type { Pattern } from "./pattern.ts";

const EMPTY: readonly CompiledStatement[] = Object.freeze([]);

/** The literal service prefix of a lower-cased action pattern; undefined when it has wildcards. */
function serviceOf(lowerPattern: string): string | undefined {
  const colon = lowerPattern.indexOf(":");
  if (colon <= 0) return undefined;
  for (let i = 0; i < colon; i++) {
    const c = lowerPattern.charCodeAt(i);
    if (c === 42 || c === 63) return undefined;
  }
  return lowerPattern.slice(0, colon);
}

/**
 * Statements of one slot and effect, indexed by action: exact lower-case actions in a map, patterns
 * with a literal service prefix (`s3:Get*`) by service, everything else (`*`, `s3*:…`, NotAction)
 * in a fallback list. Each statement lands in at most one bucket per request action, so candidates
 * never repeat.
 */
export class ActionIndex {
  private readonly exact = new Map<string, CompiledStatement[]>();
  private readonly byService = new Map<string, CompiledStatement[]>();
  private readonly fallback: CompiledStatement[] = [];
  size = 0;

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
    // Services whose actions this statement matches by wildcard; a wildcard service means fallback.
    let wildServices: string[] | undefined;
    for (const p of patterns) {
      if (!p.hasWildcards) continue;
      const service = serviceOf(p.source);
      if (service === undefined) {
        this.fallback.push(s);
        return;
      }
      if (wildServices === undefined) wildServices = [service];
      else if (!wildServices.includes(service)) wildServices.push(service);
    }
    if (wildServices !== undefined) for (const service of wildServices) push(this.byService, service, s);
    let added: string[] | undefined;
    for (const p of patterns) {
      if (p.hasWildcards) continue;
      const a = p.source;
      if (wildServices?.includes(serviceOf(a) ?? "")) continue;
      if (added?.includes(a)) continue;
      push(this.exact, a, s);
      if (added === undefined) added = [a];
      else added.push(a);
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
    for (const service of wildServices) push(this.byService, service, s);
    const added = new Set<string>();
    for (const p of patterns) {
      if (p.hasWildcards) continue;
      const a = p.source;
      if (wildServices.has(serviceOf(a) ?? "") || added.has(a)) continue;
      added.add(a);
      push(this.exact, a, s);
    }
  }

  /** Statements whose Action/NotAction matches `lowerAction`, in ordinal order (a fresh array, or a shared empty one). */
  candidates(lowerAction: string): readonly CompiledStatement[] {
    if (this.size === 0) return EMPTY;
    const result: CompiledStatement[] = [];
    const exact = this.exact.get(lowerAction);
    if (exact !== undefined) result.push(...exact);
    const colon = lowerAction.indexOf(":");
    if (colon > 0) {
      const byService = this.byService.get(lowerAction.slice(0, colon));
      if (byService !== undefined) for (const s of byService) if (actionMatches(s, lowerAction)) result.push(s);
    }
    for (const s of this.fallback) if (actionMatches(s, lowerAction)) result.push(s);
    if (result.length === 0) return EMPTY;
    return result.sort((a, b) => a.ordinal - b.ordinal);
  }
}

function push(map: Map<string, CompiledStatement[]>, key: string, s: CompiledStatement): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [s]);
  else list.push(s);
}
