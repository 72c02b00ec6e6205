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

/**
 * A segment part: literal text, `ONE` (the `?` wildcard), `ONE_IN_SEGMENT` (`?` in an ARN pattern,
 * which never matches a colon), or an index (>= 0) into the pattern's variables.
 */
type Part = string | number;
const ONE = -1;
const ONE_IN_SEGMENT = -2;
const COLON = 58;

/** Kinds of `*` in a resource ARN pattern (see {@link PatternOptions.arnSegments}). */
const STAR_ANY = 0;
const STAR_IN_SEGMENT = 1;

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
const NO_BLOCKS = new Int32Array(0);

const ANY = 0;
const EXACT = 1;
const PREFIX = 2;
const SUFFIX = 3;
const GENERAL = 4;
/** GENERAL with at least one `*` that must not cross a colon: matched block by block. */
const SEGMENTED = 5;

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
  /** Literal text every match starts with (GENERAL and SEGMENTED): checked before resolving variables. */
  private readonly prefix: string;
  /**
   * The last code unit of `literal` (`prefix` for GENERAL and SEGMENTED). ARNs share long prefixes and differ
   * near the end, so comparing this one first rejects most candidates without a string compare.
   */
  private readonly probe: number;
  /**
   * SEGMENTED patterns: the index of the first segment of each block, a block being segments
   * joined by `*`s that stay within an ARN segment; blocks are separated by `*`s that may cross
   * colons. Fixed at compile time, so matching allocates nothing.
   */
  private readonly blockStarts: Int32Array;

  constructor(
    source: string,
    kind: number,
    literal: string,
    segments: readonly Segment[],
    variables: readonly VariableRef[],
    hasWildcards: boolean,
    blockStarts: Int32Array = NO_BLOCKS,
  ) {
    this.source = source;
    this.blockStarts = blockStarts;
    this.kind = kind;
    this.literal = literal;
    this.segments = segments;
    this.variables = variables;
    this.hasVariables = variables.length > 0;
    this.hasWildcards = hasWildcards;
    // Only GENERAL and SEGMENTED patterns have segments; reading index 0 of the shared empty
    // array would be an out-of-bounds load, which V8 handles off its fast path.
    const parts = segments.length === 0 ? NO_PARTS : (segments[0] as Segment).parts;
    const lead = parts.length === 0 ? undefined : parts[0];
    this.prefix = typeof lead === "string" ? lead : "";
    const probeText = kind === GENERAL || kind === SEGMENTED ? this.prefix : literal;
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
      case GENERAL:
        return this.matchGeneral(s, start, end, ctx);
      default:
        return this.matchSegmented(s, start, end, ctx);
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

  /** The literal prefix check, then variable resolution into `resolved`; MATCH when matching may go on. */
  private prepare(s: string, start: number, end: number, ctx: Context): MatchResult {
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
    return MATCH;
  }

  private matchGeneral(s: string, start: number, end: number, ctx: Context): MatchResult {
    const ready = this.prepare(s, start, end, ctx);
    if (ready !== MATCH) return ready;
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

  /**
   * Segments joined by `*`s of two kinds: one that may cross colons (`.*`) separates blocks, one
   * that may not (`[^:]*`) joins the segments of a block. The last block is placed as late as it
   * can end at `end`, the first at `start` as early as it can end, each middle block at its
   * earliest end: an earlier end never hurts, since only a colon-crossing `*` follows.
   */
  private matchSegmented(s: string, start: number, end: number, ctx: Context): MatchResult {
    const ready = this.prepare(s, start, end, ctx);
    if (ready !== MATCH) return ready;
    const segs = this.segments;
    const blocks = this.blockStarts;
    const nb = blocks.length;
    if (nb === 1) return matchBlockBetween(segs, 0, segs.length, s, start, end) ? MATCH : NO_MATCH;
    const limit = matchBlockBackward(segs, blocks[nb - 1] as number, segs.length, s, start, end);
    if (limit < 0) return NO_MATCH;
    let p = matchBlockForward(segs, 0, blocks[1] as number, s, start, limit);
    for (let b = 1; b < nb - 1 && p >= 0; b++) {
      p = findBlock(segs, blocks[b] as number, blocks[b + 1] as number, s, p, limit);
    }
    return p >= 0 ? MATCH : NO_MATCH;
  }

  /** Whether some policy variable of the pattern has no value in `ctx` (and no default). */
  unresolvable(ctx: Context): boolean {
    for (const v of this.variables) if (resolveVariable(v, ctx) === undefined) return true;
    return false;
  }
}

function segmentLength(seg: Segment): number {
  let len = seg.fixedLength;
  // Indexed loops here and in matchAt: a for…of's iterator was not always optimized away on the
  // hot path (bench:region's heap profile showed its results allocated under matchSegmented).
  const parts = seg.parts;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (typeof part === "number" && part >= 0) len += (resolved[part] as string).length;
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
  const parts = seg.parts;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Part;
    if (part === ONE) {
      if (pos >= end) return -1;
      pos++;
    } else if (part === ONE_IN_SEGMENT) {
      if (pos >= end || s.charCodeAt(pos) === COLON) return -1;
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

/** The first colon in [from, limit), or `limit`. */
function colonOrLimit(s: string, from: number, limit: number): number {
  const at = s.indexOf(":", from);
  return at < 0 || at > limit ? limit : at;
}

/**
 * Earliest occurrence of `seg` at or after `from` with no colon between `from` and it (the gap a
 * segment-bound `*` absorbs), ending by `limit`; returns its end or -1. Taking the earliest is
 * safe: a later placement's gap contains the earlier one's.
 */
function findInSegment(seg: Segment, s: string, from: number, limit: number): number {
  const len = segmentLength(seg);
  const last = Math.min(colonOrLimit(s, from, limit), limit - len);
  const lead = seg.parts[0];
  for (let q = from; q <= last; q++) {
    if (typeof lead === "string") {
      q = s.indexOf(lead, q);
      if (q < 0 || q > last) return -1;
    }
    const e = matchAt(seg, s, q, limit);
    if (e >= 0) return e;
  }
  return -1;
}

/** Latest occurrence of `seg` ending at or before `to`, with no colon between its end and `to`, starting at or after `lower`; returns its start or -1. */
function findInSegmentBackward(seg: Segment, s: string, to: number, lower: number): number {
  const len = segmentLength(seg);
  let firstEnd = lower + len;
  for (let i = to - 1; i >= firstEnd; i--) {
    if (s.charCodeAt(i) === COLON) {
      firstEnd = i + 1;
      break;
    }
  }
  for (let e = to; e >= firstEnd; e--) {
    if (matchAt(seg, s, e - len, e) === e) return e - len;
  }
  return -1;
}

/** Segments [from, to) of one block, the first at exactly `at`, each next one as early as it can go; returns the block's end or -1. */
function matchBlockForward(
  segs: readonly Segment[],
  from: number,
  to: number,
  s: string,
  at: number,
  limit: number,
): number {
  let p = matchAt(segs[from] as Segment, s, at, limit);
  for (let i = from + 1; i < to && p >= 0; i++) p = findInSegment(segs[i] as Segment, s, p, limit);
  return p;
}

/** Segments [from, to) of the last block, ending exactly at `end`, each as late as it can go; returns the block's start or -1. */
function matchBlockBackward(
  segs: readonly Segment[],
  from: number,
  to: number,
  s: string,
  lower: number,
  end: number,
): number {
  const last = segs[to - 1] as Segment;
  let q = end - segmentLength(last);
  if (q < lower || matchAt(last, s, q, end) !== end) return -1;
  for (let i = to - 2; i >= from && q >= 0; i--) q = findInSegmentBackward(segs[i] as Segment, s, q, lower);
  return q;
}

/** A whole pattern that is one block: from exactly `start` to exactly `end`. */
function matchBlockBetween(
  segs: readonly Segment[],
  from: number,
  to: number,
  s: string,
  start: number,
  end: number,
): boolean {
  const last = segs[to - 1] as Segment;
  const lastStart = end - segmentLength(last);
  if (lastStart < start || matchAt(last, s, lastStart, end) !== end) return false;
  if (to - from === 1) return lastStart === start;
  const p = matchBlockForward(segs, from, to - 1, s, start, lastStart);
  return p >= 0 && colonOrLimit(s, p, lastStart) === lastStart;
}

/**
 * The earliest end of a block starting anywhere at or after `from` and ending by `limit`, or -1.
 * Of two starts that both work the earlier never ends later, so the first start that works wins.
 */
function findBlock(segs: readonly Segment[], from: number, to: number, s: string, p: number, limit: number): number {
  const first = segs[from] as Segment;
  const len = segmentLength(first);
  const lead = first.parts[0];
  for (let a = p; a + len <= limit; a++) {
    if (typeof lead === "string") {
      a = s.indexOf(lead, a);
      if (a < 0 || a + len > limit) return -1;
    }
    const e = matchBlockForward(segs, from, to, s, a, limit);
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
  /**
   * Only text from this offset on may hold policy variables; before it `${…}` is literal text.
   * Resource and NotResource pass the offset after the ARN's fifth colon (see
   * {@link resourcePartOffset}). Defaults to 0.
   */
  variablesFrom?: number;
  /**
   * Resource/NotResource wildcards, segment by segment (the parts of the ARN between colons):
   * `?` never matches a colon, and `*` matches across colons only when it is the last character
   * of its segment (followed by a colon or the end of the pattern). AWS, "Using wildcards in
   * resource ARNs": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards
   */
  arnSegments?: boolean;
}

/**
 * The offset just after the fifth colon of an ARN pattern (colons inside `${…}` do not count), or
 * the text's length when it has fewer than five: where the resource part starts, the only place a
 * Resource may use policy variables. AWS: "You can use a policy variable in the Resource element,
 * but only in the resource portion of the ARN. This portion of the ARN appears after the fifth
 * colon (:)." https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-infotouse
 */
export function resourcePartOffset(arn: string): number {
  let colons = 0;
  let depth = 0;
  for (let i = 0; i < arn.length; i++) {
    const c = arn.charCodeAt(i);
    if (c === 36 && arn.charCodeAt(i + 1) === 123) depth++;
    else if (c === 125 && depth > 0) depth--;
    else if (c === COLON && depth === 0 && ++colons === 5) return i + 1;
  }
  return arn.length;
}

/** The index of each block's first segment, given the kind of the `*` after each segment. */
function blockStartsOf(starKinds: readonly number[]): Int32Array | undefined {
  if (!starKinds.includes(STAR_IN_SEGMENT)) return undefined;
  const starts = [0];
  for (let i = 0; i < starKinds.length; i++) if (starKinds[i] === STAR_ANY) starts.push(i + 1);
  return Int32Array.from(starts);
}

/** Compiles a policy string into a {@link Pattern}. Lower-case the text first for case-insensitive use. */
export function compilePattern(text: string, options: PatternOptions): Pattern {
  const arn = options.arnSegments === true && options.wildcards;
  const variablesFrom = options.variablesFrom ?? 0;
  const withVariables = options.variables && text.indexOf("${", variablesFrom) >= 0;
  if (!withVariables && (!options.wildcards || !text.includes("?"))) {
    // The common case: literal text, possibly with `*`s; simple shapes need no segments.
    const star = options.wildcards ? text.indexOf("*") : -1;
    if (star < 0) return new Pattern(text, EXACT, text, NO_SEGMENTS, NO_VARIABLES, false);
    const nextStar = text.indexOf("*", star + 1);
    if (nextStar < 0 && star === text.length - 1) {
      return new Pattern(text, text.length === 1 ? ANY : PREFIX, text.slice(0, -1), NO_SEGMENTS, NO_VARIABLES, true);
    }
    // In an ARN pattern a leading `*` not followed by a colon stays within the first segment.
    if (nextStar < 0 && star === 0 && (!arn || text.charCodeAt(1) === COLON)) {
      return new Pattern(text, SUFFIX, text.slice(1), NO_SEGMENTS, NO_VARIABLES, true);
    }
    const segments: Segment[] = [];
    const starKinds: number[] = [];
    let from = 0;
    let allEmpty = true;
    for (;;) {
      const at = text.indexOf("*", from);
      const piece = at < 0 ? text.slice(from) : text.slice(from, at);
      if (piece !== "") allEmpty = false;
      segments.push({ parts: piece === "" ? NO_PARTS : [piece], literal: piece, fixedLength: piece.length });
      if (at < 0) break;
      const next = text.charCodeAt(at + 1);
      starKinds.push(!arn || Number.isNaN(next) || next === COLON ? STAR_ANY : STAR_IN_SEGMENT);
      from = at + 1;
    }
    if (allEmpty && starKinds.every((k) => k === STAR_ANY)) {
      return new Pattern(text, ANY, "", NO_SEGMENTS, NO_VARIABLES, true);
    }
    const blocks = blockStartsOf(starKinds);
    return blocks === undefined
      ? new Pattern(text, GENERAL, "", segments, NO_VARIABLES, true)
      : new Pattern(text, SEGMENTED, "", segments, NO_VARIABLES, true, blocks);
  }
  let template: readonly TemplatePart[] = [{ text }];
  if (withVariables) {
    const parsed = parseTemplate(text.slice(variablesFrom));
    if ("parts" in parsed)
      template = variablesFrom > 0 ? [{ text: text.slice(0, variablesFrom) }, ...parsed.parts] : parsed.parts;
  }
  const segments: Segment[] = [];
  const starKinds: number[] = [];
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
  template.forEach((part, index) => {
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
        if (c === 42) {
          endSegment();
          // The last character of its ARN segment: followed by a colon or by nothing at all (a
          // variable or `${*}` escape that follows is text of the same segment).
          const next = i + 1 < t.length ? t.charCodeAt(i + 1) : index + 1 < template.length ? 0 : COLON;
          starKinds.push(!arn || next === COLON ? STAR_ANY : STAR_IN_SEGMENT);
        } else {
          flush();
          parts.push(arn ? ONE_IN_SEGMENT : ONE);
          fixed++;
        }
      }
      buffer += t.slice(from);
    }
  });
  endSegment();
  const hasWildcards =
    segments.length > 1 || segments.some((seg) => seg.parts.includes(ONE) || seg.parts.includes(ONE_IN_SEGMENT));
  const first = segments[0] as Segment;
  const simpleExact = variables.length === 0 && segments.length === 1 && first.literal !== undefined;
  if (simpleExact) return new Pattern(text, EXACT, first.literal as string, NO_SEGMENTS, NO_VARIABLES, false);
  const blocks = blockStartsOf(starKinds);
  return blocks === undefined
    ? new Pattern(text, GENERAL, "", segments, variables, hasWildcards)
    : new Pattern(text, SEGMENTED, "", segments, variables, hasWildcards, blocks);
}
