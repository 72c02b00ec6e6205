import { type Context, lookupContext } from "./context-lookup.ts";
import { parseTemplate, type TemplatePart, type VariableRef } from "./policy-variables.ts";

/**
 * Match results. `UNRESOLVED`: a policy variable needed for the match had no value, so the pattern
 * matches nothing. A pattern that fails on its literal prefix reports `NO_MATCH` without resolving
 * variables; callers for whom an unresolvable pattern must poison the statement (NotResource,
 * negated operators) ask {@link Pattern.unresolvable}.
 */
export const NO_MATCH = 0;
/** The pattern matched. */
export const MATCH = 1;
/** A policy variable needed for the match has no value. */
export const UNRESOLVED = 3;
/** One of {@link NO_MATCH}, {@link MATCH}, {@link UNRESOLVED}. */
export type MatchResult = typeof NO_MATCH | typeof MATCH | typeof UNRESOLVED;

/** A segment part: literal text, `ONE` (the `?` wildcard), or an index into the pattern's variables. */
type Part = string | number;
const ONE = -1;

interface Segment {
  readonly parts: readonly Part[];
  /** The whole segment when it is plain literal text (the common case: indexOf/startsWith apply). */
  readonly literal: string | undefined;
  /** Length contributed by literal text and `?`; variables add their resolved length. */
  readonly fixedLength: number;
}

const NO_PARTS: readonly Part[] = Object.freeze([]);
const NO_VARIABLES: readonly VariableRef[] = Object.freeze([]);
const NO_SEGMENTS: readonly Segment[] = Object.freeze([]);

const ANY = 0;
const EXACT = 1;
const PREFIX = 2;
const SUFFIX = 3;
const GENERAL = 4;

/** Resolved variable values of the pattern being matched; matching is never re-entered. */
const resolved: string[] = [];

function resolveVariable(v: VariableRef, ctx: Context): string | undefined {
  const value = lookupContext(ctx, v.key, v.lowerKey);
  if (value === undefined || typeof value === "object") {
    // Multivalued keys cannot be used as policy variables.
    return v.fallback;
  }
  return typeof value === "string" ? value : String(value);
}

/**
 * A compiled wildcard pattern (`*` any run, `?` one UTF-16 unit) with optional policy variables.
 * Built once at compile time; matching never allocates for variable-free patterns.
 */
export class Pattern {
  readonly source: string;
  readonly hasVariables: boolean;
  readonly hasWildcards: boolean;
  private readonly kind: number;
  private readonly literal: string;
  private readonly segments: readonly Segment[];
  private readonly variables: readonly VariableRef[];
  /** Literal text every match starts with (GENERAL patterns): checked before resolving variables. */
  private readonly prefix: string;
  /**
   * The last code unit of `literal` (`prefix` for GENERAL). ARNs share long prefixes and differ
   * near the end, so comparing this one first rejects most candidates without a string compare.
   */
  private readonly probe: number;

  constructor(
    source: string,
    kind: number,
    literal: string,
    segments: readonly Segment[],
    variables: readonly VariableRef[],
    hasWildcards: boolean,
  ) {
    this.source = source;
    this.kind = kind;
    this.literal = literal;
    this.segments = segments;
    this.variables = variables;
    this.hasVariables = variables.length > 0;
    this.hasWildcards = hasWildcards;
    const lead = segments[0]?.parts[0];
    this.prefix = typeof lead === "string" ? lead : "";
    const probeText = kind === GENERAL ? this.prefix : literal;
    this.probe = probeText.length === 0 ? -1 : probeText.charCodeAt(probeText.length - 1);
  }

  /** True when the pattern is a plain `*`. */
  get isAny(): boolean {
    return this.kind === ANY;
  }

  /** Matches `s.slice(start, end)` without slicing. */
  match(s: string, start: number, end: number, ctx: Context): MatchResult {
    switch (this.kind) {
      case ANY:
        return MATCH;
      case EXACT: {
        const n = this.literal.length;
        if (end - start !== n) return NO_MATCH;
        return n === 0 || (s.charCodeAt(end - 1) === this.probe && s.startsWith(this.literal, start))
          ? MATCH
          : NO_MATCH;
      }
      case PREFIX: {
        const n = this.literal.length;
        if (end - start < n) return NO_MATCH;
        return n === 0 || (s.charCodeAt(start + n - 1) === this.probe && s.startsWith(this.literal, start))
          ? MATCH
          : NO_MATCH;
      }
      case SUFFIX: {
        const n = this.literal.length;
        if (end - start < n) return NO_MATCH;
        return n === 0 || (s.charCodeAt(end - 1) === this.probe && s.startsWith(this.literal, end - n))
          ? MATCH
          : NO_MATCH;
      }
      default:
        return this.matchGeneral(s, start, end, ctx);
    }
  }

  /** Matches a whole string. */
  test(s: string, ctx: Context): MatchResult {
    return this.match(s, 0, s.length, ctx);
  }

  /**
   * The pattern with its variables substituted, for patterns without wildcards (IgnoreCase
   * operators); undefined when a variable cannot be resolved.
   */
  resolve(ctx: Context): string | undefined {
    if (!this.hasVariables) return this.kind === EXACT ? this.literal : (this.segments[0]?.literal ?? this.source);
    let out = "";
    for (const part of this.segments[0]?.parts ?? []) {
      if (typeof part === "string") out += part;
      else {
        const v = this.variables[part];
        const value = v === undefined ? undefined : resolveVariable(v, ctx);
        if (value === undefined) return undefined;
        out += value;
      }
    }
    return out;
  }

  private matchGeneral(s: string, start: number, end: number, ctx: Context): MatchResult {
    const prefix = this.prefix;
    const pn = prefix.length;
    if (pn > 0 && (end - start < pn || s.charCodeAt(start + pn - 1) !== this.probe || !s.startsWith(prefix, start))) {
      return NO_MATCH;
    }
    const vars = this.variables;
    for (let i = 0; i < vars.length; i++) {
      const v = vars[i] as VariableRef;
      const value = resolveVariable(v, ctx);
      if (value === undefined) return UNRESOLVED;
      resolved[i] = value;
    }
    const segs = this.segments;
    const n = segs.length;
    const first = segs[0] as Segment;
    if (n === 1) return matchAt(first, s, start, end) === end ? MATCH : NO_MATCH;
    let p = matchAt(first, s, start, end);
    if (p < 0) return NO_MATCH;
    const last = segs[n - 1] as Segment;
    const lastStart = end - segmentLength(last);
    if (lastStart < p || matchAt(last, s, lastStart, end) !== end) return NO_MATCH;
    for (let i = 1; i < n - 1; i++) {
      p = find(segs[i] as Segment, s, p, lastStart);
      if (p < 0) return NO_MATCH;
    }
    return MATCH;
  }

  /** Whether some policy variable of the pattern has no value in `ctx` (and no default). */
  unresolvable(ctx: Context): boolean {
    for (const v of this.variables) if (resolveVariable(v, ctx) === undefined) return true;
    return false;
  }
}

function segmentLength(seg: Segment): number {
  let len = seg.fixedLength;
  for (const part of seg.parts) {
    if (typeof part === "number" && part !== ONE) len += (resolved[part] as string).length;
  }
  return len;
}

/** Matches `seg` at `pos`; returns the end position or -1. */
function matchAt(seg: Segment, s: string, pos: number, end: number): number {
  const lit = seg.literal;
  if (lit !== undefined) {
    const n = lit.length;
    if (n === 0) return pos;
    return pos + n <= end && s.charCodeAt(pos + n - 1) === lit.charCodeAt(n - 1) && s.startsWith(lit, pos)
      ? pos + n
      : -1;
  }
  for (const part of seg.parts) {
    if (part === ONE) {
      if (pos >= end) return -1;
      pos++;
    } else {
      const text = typeof part === "string" ? part : (resolved[part] as string);
      if (pos + text.length > end || !s.startsWith(text, pos)) return -1;
      pos += text.length;
    }
  }
  return pos;
}

/** Leftmost occurrence of `seg` within [from, limit]; returns its end position or -1. */
function find(seg: Segment, s: string, from: number, limit: number): number {
  const lit = seg.literal;
  if (lit !== undefined) {
    const at = s.indexOf(lit, from);
    return at >= 0 && at + lit.length <= limit ? at + lit.length : -1;
  }
  const len = segmentLength(seg);
  const lead = seg.parts[0];
  for (let p = from; p + len <= limit; p++) {
    if (typeof lead === "string") {
      // Jump to the next occurrence of the segment's leading literal.
      p = s.indexOf(lead, p);
      if (p < 0 || p + len > limit) return -1;
    }
    const e = matchAt(seg, s, p, limit);
    if (e >= 0) return e;
  }
  return -1;
}

/** Options of {@link compilePattern}. */
export interface PatternOptions {
  /** `*` and `?` are wildcards (Resource, Action, StringLike, ArnLike); otherwise literal. */
  wildcards: boolean;
  /** `${…}` are policy variables (2012-10-17 policies, string/ARN operators, Resource). */
  variables: boolean;
}

/** Compiles a policy string into a {@link Pattern}. Lower-case the text first for case-insensitive use. */
export function compilePattern(text: string, options: PatternOptions): Pattern {
  const plain = !options.variables || !text.includes("${");
  if (plain && (!options.wildcards || !text.includes("?"))) {
    // The common case: literal text, possibly with `*`s; simple shapes need no segments.
    const star = options.wildcards ? text.indexOf("*") : -1;
    if (star < 0) return new Pattern(text, EXACT, text, NO_SEGMENTS, NO_VARIABLES, false);
    const nextStar = text.indexOf("*", star + 1);
    if (nextStar < 0 && star === text.length - 1) {
      return new Pattern(text, text.length === 1 ? ANY : PREFIX, text.slice(0, -1), NO_SEGMENTS, NO_VARIABLES, true);
    }
    if (nextStar < 0 && star === 0) return new Pattern(text, SUFFIX, text.slice(1), NO_SEGMENTS, NO_VARIABLES, true);
    const segments: Segment[] = [];
    let from = 0;
    let allEmpty = true;
    for (;;) {
      const at = text.indexOf("*", from);
      const piece = at < 0 ? text.slice(from) : text.slice(from, at);
      if (piece !== "") allEmpty = false;
      segments.push({ parts: piece === "" ? NO_PARTS : [piece], literal: piece, fixedLength: piece.length });
      if (at < 0) break;
      from = at + 1;
    }
    return new Pattern(text, allEmpty ? ANY : GENERAL, "", segments, NO_VARIABLES, true);
  }
  let template: readonly TemplatePart[] = [{ text }];
  if (options.variables && text.includes("${")) {
    const parsed = parseTemplate(text);
    if ("parts" in parsed) template = parsed.parts;
  }
  const segments: Segment[] = [];
  const variables: VariableRef[] = [];
  let parts: Part[] = [];
  let buffer = "";
  let fixed = 0;
  const flush = () => {
    if (buffer !== "") {
      parts.push(buffer);
      fixed += buffer.length;
      buffer = "";
    }
  };
  const endSegment = () => {
    flush();
    const literal = parts.length === 0 ? "" : parts.length === 1 && typeof parts[0] === "string" ? parts[0] : undefined;
    segments.push({ parts, literal, fixedLength: fixed });
    parts = [];
    fixed = 0;
  };
  for (const part of template) {
    if ("variable" in part) {
      flush();
      parts.push(variables.length);
      variables.push(part.variable);
    } else if ("literal" in part) {
      buffer += part.literal;
    } else if (!options.wildcards) {
      buffer += part.text;
    } else {
      const t = part.text;
      let from = 0;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (c !== 42 && c !== 63) continue;
        buffer += t.slice(from, i);
        from = i + 1;
        if (c === 42) endSegment();
        else {
          flush();
          parts.push(ONE);
          fixed++;
        }
      }
      buffer += t.slice(from);
    }
  }
  endSegment();
  const hasWildcards = segments.length > 1 || segments.some((seg) => seg.parts.includes(ONE));
  const first = segments[0] as Segment;
  const simpleExact = variables.length === 0 && segments.length === 1 && first.literal !== undefined;
  return simpleExact
    ? new Pattern(text, EXACT, first.literal as string, NO_SEGMENTS, NO_VARIABLES, false)
    : new Pattern(text, GENERAL, "", segments, variables, hasWildcards);
}
