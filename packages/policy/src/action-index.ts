import { actionMatches, type CompiledStatement } from "./compiled-statement.ts";

const EMPTY: readonly CompiledStatement[] = Object.freeze([]);

function serviceOf(lowerPattern: string): string | undefined {
  const colon = lowerPattern.indexOf(":");
  if (colon <= 0) return undefined;
  const service = lowerPattern.slice(0, colon);
  return service.includes("*") || service.includes("?") ? undefined : service;
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
    const patterns = s.statement.action;
    if (patterns === undefined) {
      this.fallback.push(s);
      return;
    }
    const lower = patterns.map((a) => a.toLowerCase());
    if (lower.some((a) => serviceOf(a) === undefined)) {
      this.fallback.push(s);
      return;
    }
    const wildServices = new Set<string>();
    for (const a of lower) if (a.includes("*") || a.includes("?")) wildServices.add(serviceOf(a) as string);
    for (const service of wildServices) push(this.byService, service, s);
    const exact = new Set<string>();
    for (const a of lower) {
      if (!wildServices.has(serviceOf(a) as string)) exact.add(a);
    }
    for (const a of exact) push(this.exact, a, s);
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
