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
 * may absorb anything (including `specific`'s own wildcards); `?` covers one literal or `?`. With
 * `arnSegments` (Resource patterns) the wildcards follow the Resource element's rules: `?` and a `*`
 * followed by more text of its segment never cover a colon, nor a `*` of `specific` that may
 * cross one.
 */
export function patternCovers(general: string, specific: string, arnSegments = false): boolean {
  const memo = new Map<number, boolean>();
  const width = specific.length + 1;
  // A `*` that may cross colons: any `*` outside ARN patterns, else one that ends its segment.
  const crosses = (p: string, i: number) => !arnSegments || i + 1 === p.length || p[i + 1] === ":";
  const go = (g: number, s: number): boolean => {
    const key = g * width + s;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (g === general.length) result = s === specific.length;
    else if (general[g] === "*") {
      const any = crosses(general, g);
      result = false;
      for (let k = s; k <= specific.length && !result; k++) {
        result = go(g + 1, k);
        // A segment-bound `*` stops before a colon, or a `*` of `specific` that crosses colons.
        const next = specific[k];
        if (!any && (next === ":" || (next === "*" && crosses(specific, k)))) break;
      }
    } else if (s === specific.length || specific[s] === "*") result = false;
    else if (general[g] === "?") result = !(arnSegments && specific[s] === ":") && go(g + 1, s + 1);
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

interface Shape {
  readonly statement: Statement;
  readonly key: string;
  readonly principal: string;
  readonly conditions: string;
  readonly actions: readonly string[] | undefined;
  readonly notResource: string;
}

function hasWildcard(s: string): boolean {
  return s.includes("*") || s.includes("?");
}

function listCovers(general: readonly string[], specific: readonly string[], arnSegments = false): boolean {
  return specific.every((sp) =>
    general.some((g) => {
      if (g === "*" || g === sp) return true;
      if (g.includes("${") || sp.includes("${") || !hasWildcard(g)) return false;
      return patternCovers(g, sp, arnSegments);
    }),
  );
}

/** Whether statement `b` allows/denies at least everything `a` does (a conservative check). */
function covers(b: Shape, a: Shape): boolean {
  const sa = a.statement;
  const sb = b.statement;
  if (sa.effect !== sb.effect || a.actions === undefined || b.actions === undefined) return false;
  if (a.principal !== b.principal) return false;
  if (sb.conditions.length > 0 && a.conditions !== b.conditions) return false;
  if (!listCovers(b.actions, a.actions)) return false;
  if (sb.notResource !== undefined || sa.notResource !== undefined) return a.notResource === b.notResource;
  if (sb.resource === undefined) return true;
  if (sa.resource === undefined) return false;
  return listCovers(sb.resource, sa.resource, true);
}

function shape(s: Statement): Shape {
  const conditions = canonicalConditions(s);
  const actions = s.action?.map((a) => a.toLowerCase());
  const principal = JSON.stringify([canonicalPrincipal(s.principal), canonicalPrincipal(s.notPrincipal)]);
  const notResource = JSON.stringify(sorted(s.notResource));
  const key = JSON.stringify([
    s.effect,
    sorted(actions),
    sorted(s.notAction?.map((a) => a.toLowerCase())),
    sorted(s.resource),
    notResource,
    principal,
    conditions,
  ]);
  return { statement: s, key, principal, conditions, actions, notResource };
}

/** Duplicate and redundant statements of one policy, each reported once (on the later or narrower one). */
export function findRedundantStatements(statements: readonly Statement[]): Redundancy[] {
  const result: Redundancy[] = [];
  const shapes = statements.map(shape);
  const keys = shapes.map((x) => x.key);
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
    const a = shapes[i] as Shape;
    for (let j = 0; j < statements.length; j++) {
      if (i === j || flagged.has(j)) continue;
      const b = shapes[j] as Shape;
      // Mutually covering statements: report only the later one.
      if (covers(b, a) && !(j > i && covers(a, b))) {
        result.push({ index: a.statement.index, coveredBy: b.statement.index, duplicate: false });
        flagged.add(i);
        break;
      }
    }
  }
  return result.sort((x, y) => x.index - y.index);
}
