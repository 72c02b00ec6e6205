import type { ContextValue } from "./authz-request.ts";

/** The request context as the engine reads it. */
export type Context = Readonly<Record<string, ContextValue>>;

/** Shared empty context for requests without one. */
export const EMPTY_CONTEXT: Context = Object.freeze({});

function isContextValue(v: unknown): v is ContextValue {
  const t = typeof v;
  return t === "string" || t === "number" || t === "boolean" || Array.isArray(v);
}

/**
 * ASCII-folding comparison of `a` with an already lower-cased `lowerB`, without allocating unless
 * `a` holds non-ASCII characters.
 */
export function equalsLowered(a: string, lowerB: string): boolean {
  if (a.length !== lowerB.length) return false;
  for (let i = 0; i < a.length; i++) {
    let c = a.charCodeAt(i);
    if (c > 127) return a.toLowerCase() === lowerB;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lowerB.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Reads a context key case-insensitively (IAM condition keys are case-insensitive). Tries the
 * spelling of the policy, then the lower-case spelling, then scans; nothing is allocated.
 */
export function lookupContext(ctx: Context, key: string, lowerKey: string): ContextValue | undefined {
  let v: unknown = ctx[key];
  if (v !== undefined && isContextValue(v)) return v;
  if (lowerKey !== key) {
    v = ctx[lowerKey];
    if (v !== undefined && isContextValue(v)) return v;
  }
  for (const k in ctx) {
    if (equalsLowered(k, lowerKey)) {
      v = ctx[k];
      if (v !== undefined && isContextValue(v)) return v;
    }
  }
  return undefined;
}

/** A present, non-empty value or undefined: an empty multivalued key counts as missing. */
export function presentValue(v: ContextValue | undefined): ContextValue | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "object" && v.length === 0) return undefined;
  return v;
}

/** The string form of a scalar context value, as policy variables and string operators see it. */
export function scalarToString(v: string | number | boolean): string {
  return typeof v === "string" ? v : String(v);
}
