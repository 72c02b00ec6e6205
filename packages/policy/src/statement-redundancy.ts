import type { PrincipalElement, Statement } from "./policy.ts";

/** A statement that adds nothing because another one covers it. */
export interface Redundancy {
  index: number;
  coveredBy: number;
  /** Identical to `coveredBy` apart from the Sid. */
  duplicate: boolean;
}

/**
 * Whether wildcard pattern `general` matches every string `specific` matches. `*` in `general`
 * may absorb anything (including `specific`'s own wildcards); `?` covers one literal or `?`.
 */
export function patternCovers(general: string, specific: string): boolean {
  const memo = new Map<number, boolean>();
  const width = specific.length + 1;
  const go = (g: number, s: number): boolean => {
    const key = g * width + s;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (g === general.length) result = s === specific.length;
    else if (general[g] === "*") {
      result = false;
      for (let k = s; k <= specific.length && !result; k++) result = go(g + 1, k);
    } else if (s === specific.length || specific[s] === "*") result = false;
    else if (general[g] === "?") result = go(g + 1, s + 1);
    else result = specific[s] !== "?" && general[g] === specific[s] && go(g + 1, s + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

function sorted(list: readonly string[] | undefined): string[] | undefined {
  return list === undefined ? undefined : [...list].sort();
}

function canonicalPrincipal(p: PrincipalElement | undefined): unknown {
  if (p === undefined) return undefined;
  return [p.any, sorted(p.aws), sorted(p.service), sorted(p.federated), sorted(p.canonicalUser)];
}

function canonicalConditions(s: Statement): string {
  return JSON.stringify(
    s.conditions
      .map((c) => [c.operator, c.key.toLowerCase(), [...c.values].sort()])
      .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
  );
}

function canonical(s: Statement): string {
  return JSON.stringify([
    s.effect,
    sorted(s.action?.map((a) => a.toLowerCase())),
    sorted(s.notAction?.map((a) => a.toLowerCase())),
    sorted(s.resource),
    sorted(s.notResource),
    canonicalPrincipal(s.principal),
    canonicalPrincipal(s.notPrincipal),
    canonicalConditions(s),
  ]);
}

function listCovers(general: readonly string[], specific: readonly string[], fold: boolean): boolean {
  return specific.every((sp) =>
    general.some((g) => {
      const a = fold ? g.toLowerCase() : g;
      const b = fold ? sp.toLowerCase() : sp;
      if (a.includes("${") || b.includes("${")) return a === b;
      return patternCovers(a, b);
    }),
  );
}

/** Whether statement `b` allows/denies at least everything `a` does (a conservative check). */
function covers(b: Statement, a: Statement): boolean {
  if (a.effect !== b.effect) return false;
  if (a.action === undefined || b.action === undefined) return false;
  if (JSON.stringify(canonicalPrincipal(a.principal)) !== JSON.stringify(canonicalPrincipal(b.principal))) return false;
  if (JSON.stringify(canonicalPrincipal(a.notPrincipal)) !== JSON.stringify(canonicalPrincipal(b.notPrincipal)))
    return false;
  if (b.conditions.length > 0 && canonicalConditions(a) !== canonicalConditions(b)) return false;
  if (!listCovers(b.action, a.action, true)) return false;
  if (b.notResource !== undefined || a.notResource !== undefined) {
    return JSON.stringify(sorted(a.notResource)) === JSON.stringify(sorted(b.notResource));
  }
  if (b.resource === undefined) return true;
  if (a.resource === undefined) return false;
  return listCovers(b.resource, a.resource, false);
}

/** Duplicate and redundant statements of one policy, each reported once (on the later or narrower one). */
export function findRedundantStatements(statements: readonly Statement[]): Redundancy[] {
  const result: Redundancy[] = [];
  const keys = statements.map(canonical);
  const flagged = new Set<number>();
  for (let i = 0; i < statements.length; i++) {
    for (let j = 0; j < i; j++) {
      if (keys[i] === keys[j] && !flagged.has(j)) {
        result.push({
          index: (statements[i] as Statement).index,
          coveredBy: (statements[j] as Statement).index,
          duplicate: true,
        });
        flagged.add(i);
        break;
      }
    }
  }
  for (let i = 0; i < statements.length; i++) {
    if (flagged.has(i)) continue;
    const a = statements[i] as Statement;
    for (let j = 0; j < statements.length; j++) {
      if (i === j || flagged.has(j)) continue;
      const b = statements[j] as Statement;
      // Mutually covering statements: report only the later one.
      if (covers(b, a) && !(j > i && covers(a, b))) {
        result.push({ index: a.index, coveredBy: b.index, duplicate: false });
        flagged.add(i);
        break;
      }
    }
  }
  return result.sort((x, y) => x.index - y.index);
}
