import { isUtf8 } from "node:buffer";
import {
  AuthorizeRequest,
  AuthorizeResponse,
  BatchAuthorizeRequest,
  BatchAuthorizeResponse,
  type ContextValue,
  type Decision,
} from "@gatehouse/proto";

/*
 * The decider's wire codec for Authorize and BatchAuthorize: the same messages ts-proto decodes and
 * the same bytes it encodes (the tests compare both on random inputs), without what ts-proto's
 * generic code costs per check (a recursion-depth property set and restored in try/finally per
 * nested message, a map-entry object per context key, a writer fork per nested message).
 *
 * Only the shapes clients send are taken on the fast path: every field in its declared wire type,
 * ASCII strings, short varints. Anything else (unknown fields, non-ASCII text, long varints, a
 * truncated message, an errored check in a response) hands the whole message to ts-proto, so the
 * result is ts-proto's in every case, errors included.
 */

/** Set when the fast path meets a shape it leaves to ts-proto. */
let bail = false;
let pos = 0;

/**
 * Within one BatchAuthorize request (absent for a single Authorize): the principals and contexts
 * decoded so far, by their bytes. A batch usually asks about a few principals, each with its own
 * context: equal bytes decode to the very same object (what ts-proto would build, only shared),
 * so they are decoded once and the decider recognises repeats by identity. Bytes are always
 * compared in full, never trusted to a hash. Bounded per request; what does not fit is decoded as
 * usual.
 */
interface SharedPart {
  readonly start: number;
  readonly end: number;
  readonly value: unknown;
}
let sharedParts: Map<number, SharedPart> | undefined;
/** The principal and the context met last (checks of one request usually come together). */
let lastPrincipal: SharedPart | undefined;
let lastContext: SharedPart | undefined;
const MAX_SHARED_PARTS = 2048;

/**
 * While a BatchAuthorize call is decoded for the server ({@link decodeBatchAuthorizeCall}): where
 * each request's correlation id sits in the call's bytes, one entry per request (0, 0 when absent).
 */
let correlationStarts: number[] | undefined;
let correlationEnds: number[] | undefined;

/** The bytes at the end of a part that {@link hashOf} reads. */
const HASHED_TAIL = 24;

/**
 * The bytes being decoded, as a DataView: equal positions to `buf`'s. Read four bytes at a time
 * by {@link hashOf} and {@link sameRun} (half the time of a byte loop on a 60-byte ARN).
 */
let view: DataView = new DataView(new ArrayBuffer(0));

/**
 * A hash of the length of `view[start, end)` and of its last {@link HASHED_TAIL} bytes (all of a
 * shorter one), four bytes a step, as a small integer (a Map key V8 keeps unboxed). Only a lookup
 * key: a hit is then compared in full, once. The tail is where ARNs, actions and contexts that
 * repeat differ (the name, the object key, the last entry's value); parts equal there but not
 * before share a key, and the later ones are decoded as if new.
 */
function hashOf(start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  let i = Math.max(start, end - HASHED_TAIL);
  for (; i + 4 <= end; i += 4) {
    h = Math.imul(h ^ view.getUint32(i, true), 0x5bd1e995);
    h ^= h >>> 15;
  }
  for (; i < end; i++) h = Math.imul(h ^ view.getUint8(i), 0x01000193);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}

/**
 * Whether `n` bytes at `aStart` of `a` equal those at `bStart` of `b`, four at a time (the parts
 * are a few dozen to a few hundred bytes, where `Buffer.compare`'s argument checks and native
 * call cost more than the comparison).
 */
function sameRun(a: DataView, aStart: number, b: DataView, bStart: number, n: number): boolean {
  let i = 0;
  for (; i + 4 <= n; i += 4) if (a.getUint32(aStart + i, true) !== b.getUint32(bStart + i, true)) return false;
  for (; i < n; i++) if (a.getUint8(aStart + i) !== b.getUint8(bStart + i)) return false;
  return true;
}

/** Whether `part` was decoded from bytes equal to `view[start, end)` (both of this call). */
function sameBytes(start: number, end: number, part: SharedPart): boolean {
  return part.end - part.start === end - start && sameRun(view, start, view, part.start, end - start);
}

/** Starts decoding `buf`: {@link view} over it, at position 0, no bail. */
function begin(buf: Buffer): void {
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  bail = false;
  pos = 0;
}

/** A varint of at most 4 bytes (values below 2^28), else bail. */
function varint(buf: Uint8Array): number {
  let v = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const b = buf[pos++];
    if (b === undefined) break;
    v |= (b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
  bail = true;
  return 0;
}

/** A length-delimited ASCII string, else bail (ts-proto decodes other UTF-8, and refuses bad UTF-8). */
function ascii(buf: Buffer): string {
  const n = varint(buf);
  const start = pos;
  const end = start + n;
  if (end > buf.length) {
    bail = true;
    return "";
  }
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) >= 0x80) {
      bail = true;
      return "";
    }
  }
  pos = end;
  return buf.toString("latin1", start, end);
}

/**
 * Strings that recur across checks and calls (actions, resources, resource accounts), by
 * {@link hashOf} their bytes, each with a copy of its bytes: a repeat is the very string decoded before (no
 * copy, and the Maps the decider looks it up in find its hash already computed). The bytes are
 * always compared in full, never trusted to the hash (compared as bytes: `charCodeAt` on a string
 * V8 has since internalized takes a slow path). Bounded: emptied when full.
 */
interface InternedString {
  readonly text: string;
  readonly bytes: DataView;
}
const interned = new Map<number, InternedString>();
const MAX_INTERNED = 8192;

/**
 * A length-delimited ASCII string, as {@link ascii}, taken from {@link interned} when an equal one
 * is there (else decoded and added).
 */
function internedAscii(buf: Buffer): string {
  const n = varint(buf);
  const start = pos;
  const end = start + n;
  if (end > buf.length) {
    bail = true;
    return "";
  }
  const key = hashOf(start, end);
  const known = interned.get(key);
  // The bytes of a known string are ASCII (checked when it was added): equal ones are too.
  if (known !== undefined && known.bytes.byteLength === n && sameRun(view, start, known.bytes, 0, n)) {
    pos = end;
    return known.text;
  }
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) >= 0x80) {
      bail = true;
      return "";
    }
  }
  pos = end;
  const text = buf.toString("latin1", start, end);
  if (known === undefined) {
    if (interned.size >= MAX_INTERNED) interned.clear();
    const copy = Uint8Array.prototype.slice.call(buf, start, end);
    interned.set(key, { text, bytes: new DataView(copy.buffer, copy.byteOffset, copy.byteLength) });
  }
  return text;
}

/** The end of a length-delimited submessage starting at `pos`, within `limit`. */
function submessageEnd(buf: Buffer, limit: number): number {
  const n = varint(buf);
  const end = pos + n;
  if (end > limit) bail = true;
  return end;
}

/** What {@link sharedPart} decodes: a request's principal, or its run of context entries. */
const PRINCIPAL = 0;
const CONTEXT = 1;

/**
 * The principal or context (`kind`) decoded from the call's bytes `[start, end)` (leaving `pos` at
 * `end`), or the same object an earlier part of this batch with equal bytes decoded to (`last`
 * first, then any in `parts`, the batch's {@link sharedParts}). No closure per check: a check's
 * decode allocates only its request object.
 */
function sharedPart(
  parts: Map<number, SharedPart>,
  buf: Buffer,
  start: number,
  end: number,
  last: SharedPart | undefined,
  kind: typeof PRINCIPAL | typeof CONTEXT,
): SharedPart {
  if (last !== undefined && sameBytes(start, end, last)) {
    pos = end;
    return last;
  }
  const key = hashOf(start, end);
  const known = parts.get(key);
  if (known !== undefined && sameBytes(start, end, known)) {
    pos = end;
    return known;
  }
  const part = { start, end, value: kind === PRINCIPAL ? principalOf(buf, end) : contextOf(buf, start, end) };
  if (!bail && known === undefined && parts.size < MAX_SHARED_PARTS) parts.set(key, part);
  return part;
}

function principalOf(buf: Buffer, end: number): AuthorizeRequest["principal"] {
  const principal: NonNullable<AuthorizeRequest["principal"]> = { kind: undefined };
  while (pos < end && !bail) {
    const tag = buf[pos++] as number;
    if (tag === 10) principal.kind = { $case: "arn", value: ascii(buf) };
    else if (tag === 18) principal.kind = { $case: "accessKeyId", value: ascii(buf) };
    else bail = true;
  }
  if (pos !== end) bail = true;
  return principal;
}

function contextValueOf(buf: Buffer, end: number): ContextValue {
  const value: ContextValue = { kind: undefined };
  while (pos < end && !bail) {
    const tag = buf[pos++] as number;
    if (tag === 10) value.kind = { $case: "stringValue", value: ascii(buf) };
    else if (tag === 24) {
      const b = buf[pos++];
      if (b === undefined || b > 1) bail = true;
      value.kind = { $case: "boolValue", value: b === 1 };
    } else if (tag === 17) {
      if (pos + 8 > end) bail = true;
      else value.kind = { $case: "numberValue", value: buf.readDoubleLE(pos) };
      pos += 8;
    } else if (tag === 34) {
      const listEnd = submessageEnd(buf, end);
      const values: string[] = [];
      while (pos < listEnd && !bail) {
        if (buf[pos++] !== 10) bail = true;
        else values.push(ascii(buf));
      }
      if (pos !== listEnd) bail = true;
      value.kind = { $case: "listValue", value: { values } };
    } else bail = true;
  }
  if (pos !== end) bail = true;
  return value;
}

function minRevisionOf(buf: Buffer, end: number): AuthorizeRequest["minRevision"] {
  const revision = { accountId: "", revision: 0, epoch: "" };
  while (pos < end && !bail) {
    const tag = buf[pos++] as number;
    if (tag === 10) revision.accountId = ascii(buf);
    else if (tag === 16) revision.revision = varint(buf);
    else if (tag === 26) revision.epoch = ascii(buf);
    else bail = true;
  }
  if (pos !== end) bail = true;
  return revision;
}

/** The end of the run of context entries (field 5) starting at `start`, within `limit`. */
function contextRunEnd(buf: Buffer, start: number, limit: number): number {
  pos = start;
  while (pos < limit && buf[pos] === 42 && !bail) {
    pos++;
    pos = submessageEnd(buf, limit);
  }
  if (pos > limit) bail = true;
  const end = pos;
  pos = start;
  return end;
}

/** The context map of the entries in `buf[start, end)`, leaving `pos` at `end`. */
function contextOf(buf: Buffer, start: number, end: number): Record<string, ContextValue> {
  const context: Record<string, ContextValue> = {};
  pos = start;
  while (pos < end && !bail) {
    pos++; // field 5's tag, checked by contextRunEnd
    const entryEnd = submessageEnd(buf, end);
    let key = "";
    let value: ContextValue | undefined;
    while (pos < entryEnd && !bail) {
      const t = buf[pos++] as number;
      if (t === 10) key = ascii(buf);
      else if (t === 18) value = contextValueOf(buf, submessageEnd(buf, entryEnd));
      else bail = true;
    }
    if (pos !== entryEnd) bail = true;
    if (value !== undefined) context[key] = value;
  }
  return context;
}

/** Where a request's context stands until its entries are read (never left in a request). */
const NO_CONTEXT: Readonly<Record<string, ContextValue>> = Object.freeze({});

/** One AuthorizeRequest from `pos` to `end`, as ts-proto builds it (same fields, same order). */
function requestOf(buf: Buffer, end: number): AuthorizeRequest {
  let contextRead = false;
  let correlationStart = 0;
  let correlationEnd = 0;
  const r: AuthorizeRequest = {
    principal: undefined,
    action: "",
    resource: "",
    resourceAccount: "",
    // Set below: the shared context decoded, else an empty one of the request's own.
    context: NO_CONTEXT,
    resourcePolicy: "",
    minRevision: undefined,
    explain: false,
    maxStalenessMs: 0,
    correlationId: "",
    sessionToken: "",
  };
  while (pos < end && !bail) {
    const tag = buf[pos++] as number;
    switch (tag) {
      case 10: {
        const principalEnd = submessageEnd(buf, end);
        const start = pos;
        if (bail) break;
        if (sharedParts === undefined) {
          r.principal = principalOf(buf, principalEnd);
          break;
        }
        lastPrincipal = sharedPart(sharedParts, buf, start, principalEnd, lastPrincipal, PRINCIPAL);
        r.principal = lastPrincipal.value as AuthorizeRequest["principal"];
        break;
      }
      case 18:
        r.action = internedAscii(buf);
        break;
      case 26:
        r.resource = internedAscii(buf);
        break;
      case 34:
        r.resourceAccount = internedAscii(buf);
        break;
      case 42: {
        // The context's entries are taken as one run (clients write a map's entries together): a
        // second run in one request is left to ts-proto, which merges it into the first.
        if (contextRead) {
          bail = true;
          break;
        }
        contextRead = true;
        const runStart = pos - 1;
        const runEnd = contextRunEnd(buf, runStart, end);
        if (bail) break;
        if (sharedParts === undefined) {
          r.context = contextOf(buf, runStart, runEnd);
          break;
        }
        lastContext = sharedPart(sharedParts, buf, runStart, runEnd, lastContext, CONTEXT);
        r.context = lastContext.value as AuthorizeRequest["context"];
        break;
      }
      case 50:
        r.resourcePolicy = ascii(buf);
        break;
      case 58:
        r.minRevision = minRevisionOf(buf, submessageEnd(buf, end));
        break;
      case 64: {
        const b = buf[pos++];
        if (b === undefined || b > 1) bail = true;
        r.explain = b === 1;
        break;
      }
      case 72:
        r.maxStalenessMs = varint(buf);
        break;
      case 82:
        if (correlationStarts === undefined) r.correlationId = ascii(buf);
        else {
          // Kept as a span of the call's bytes, copied as bytes into the response (never a string).
          const n = varint(buf);
          correlationStart = pos;
          correlationEnd = pos + n;
          if (correlationEnd > buf.length) bail = true;
          else if (!plainUtf8(buf, correlationStart, correlationEnd)) bail = true;
          pos = correlationEnd;
        }
        break;
      case 162:
        // Field 20 (session_token): its tag takes two bytes, 0xA2 0x01.
        if (buf[pos++] === 1) r.sessionToken = ascii(buf);
        else bail = true;
        break;
      default:
        bail = true;
    }
  }
  if (pos !== end) bail = true;
  if (!contextRead) r.context = {};
  if (correlationStarts !== undefined && correlationEnds !== undefined) {
    correlationStarts.push(correlationStart);
    correlationEnds.push(correlationEnd);
  }
  return r;
}

/**
 * Whether `buf[start, end)` is text ts-proto decodes and encodes back to the same bytes: ASCII or
 * valid UTF-8 (a leading byte order mark included: ts-proto keeps it).
 */
function plainUtf8(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) >= 0x80) {
      return isUtf8(buf.subarray(start, end));
    }
  }
  return true;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes an AuthorizeRequest exactly as `AuthorizeRequest.decode` does, faster for the usual shapes. */
export function decodeAuthorizeRequest(bytes: Uint8Array): AuthorizeRequest {
  const buf = asBuffer(bytes);
  begin(buf);
  const r = requestOf(buf, buf.length);
  return bail ? AuthorizeRequest.decode(bytes) : r;
}

/**
 * Where each check's correlation id sits in a BatchAuthorize call's bytes: request `i`'s is
 * `source[starts[i], ends[i])`, valid UTF-8 that ts-proto would decode and encode back unchanged.
 */
export interface CorrelationIds {
  readonly source: Buffer;
  readonly starts: readonly number[];
  readonly ends: readonly number[];
}

/**
 * A BatchAuthorize call as the decider's server decodes it. With `correlationIds`, each request's
 * `correlationId` is left empty and the id is where `correlationIds` says (see {@link BatchAnswers},
 * which copies it into the response as bytes); without, it is ts-proto's message.
 */
export interface BatchAuthorizeCall extends BatchAuthorizeRequest {
  readonly correlationIds?: CorrelationIds;
}

/**
 * Decodes a BatchAuthorize call for the server: the message `BatchAuthorizeRequest.decode` makes,
 * except that on the fast path the correlation ids stay bytes ({@link BatchAuthorizeCall}).
 */
export function decodeBatchAuthorizeCall(bytes: Uint8Array): BatchAuthorizeCall {
  const buf = asBuffer(bytes);
  begin(buf);
  sharedParts = new Map();
  lastPrincipal = undefined;
  lastContext = undefined;
  const starts: number[] = [];
  const ends: number[] = [];
  correlationStarts = starts;
  correlationEnds = ends;
  const requests: AuthorizeRequest[] = [];
  try {
    while (pos < buf.length && !bail) {
      if (buf[pos++] !== 10) {
        bail = true;
        break;
      }
      const end = submessageEnd(buf, buf.length);
      if (!bail) requests.push(requestOf(buf, end));
    }
  } finally {
    sharedParts = undefined;
    lastPrincipal = undefined;
    lastContext = undefined;
    correlationStarts = undefined;
    correlationEnds = undefined;
  }
  return bail ? BatchAuthorizeRequest.decode(bytes) : { requests, correlationIds: { source: buf, starts, ends } };
}

/** The correlation id of request `i` of a decoded call. */
export function correlationIdOf(call: BatchAuthorizeCall, i: number): string {
  const ids = call.correlationIds;
  if (ids === undefined) return (call.requests[i] as AuthorizeRequest).correlationId;
  return ids.source.toString("utf8", ids.starts[i] as number, ids.ends[i] as number);
}

/** Decodes a BatchAuthorizeRequest exactly as `BatchAuthorizeRequest.decode` does, faster for the usual shapes. */
export function decodeBatchAuthorizeRequest(bytes: Uint8Array): BatchAuthorizeRequest {
  const call = decodeBatchAuthorizeCall(bytes);
  if (call.correlationIds === undefined) return call;
  const { requests } = call;
  for (let i = 0; i < requests.length; i++) (requests[i] as AuthorizeRequest).correlationId = correlationIdOf(call, i);
  return { requests };
}

/** Bytes of a varint of `v` (a non-negative safe integer). */
function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Buffer, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

/** The length of an ASCII string, or -1 when it has another character. */
function asciiLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return -1;
  return s.length;
}

/** The evaluatedAt last sized, and its field's bytes (tag, length, body). */
let sizedAt: AuthorizeResponse["evaluatedAt"];
let sizedAtBytes = 0;

/** The bytes of an evaluatedAt field (tag, length, body), or -1 to leave it to ts-proto. */
function evaluatedAtSize(at: NonNullable<AuthorizeResponse["evaluatedAt"]>): number {
  // A batch's answers usually share one evaluatedAt object (see the decider server): sized once.
  if (at !== sizedAt) {
    const account = asciiLength(at.accountId);
    if (account < 0 || !Number.isSafeInteger(at.revision) || at.revision < 0 || at.epoch !== "") return -1;
    let inner = 0;
    if (account > 0) inner += 1 + varintSize(account) + account;
    if (at.revision !== 0) inner += 1 + varintSize(at.revision);
    sizedAt = at;
    sizedAtBytes = 1 + varintSize(inner) + inner;
  }
  return sizedAtBytes;
}

/** The body size of a response the fast path encodes, or -1 to leave it to ts-proto. */
function responseSize(r: AuthorizeResponse): number {
  if (r.error !== undefined || r.decision < 0 || r.decision > 127) return -1;
  const explanation = asciiLength(r.explanationJson);
  const correlation = asciiLength(r.correlationId);
  if (explanation < 0 || correlation < 0) return -1;
  let size = r.decision === 0 ? 0 : 2;
  if (explanation > 0) size += 1 + varintSize(explanation) + explanation;
  const at = r.evaluatedAt;
  if (at !== undefined) {
    const atBytes = evaluatedAtSize(at);
    if (atBytes < 0) return -1;
    size += atBytes;
  }
  if (correlation > 0) size += 1 + varintSize(correlation) + correlation;
  return size;
}

function writeString(out: Buffer, at: number, tag: number, s: string): number {
  out[at++] = tag;
  at = writeVarint(out, at, s.length);
  return at + out.write(s, at, s.length, "latin1");
}

function writeEvaluatedAt(out: Buffer, at: number, ev: NonNullable<AuthorizeResponse["evaluatedAt"]>): number {
  out[at++] = 26;
  const inner =
    (ev.accountId === "" ? 0 : 1 + varintSize(ev.accountId.length) + ev.accountId.length) +
    (ev.revision === 0 ? 0 : 1 + varintSize(ev.revision));
  at = writeVarint(out, at, inner);
  if (ev.accountId !== "") at = writeString(out, at, 10, ev.accountId);
  if (ev.revision !== 0) {
    out[at++] = 16;
    at = writeVarint(out, at, ev.revision);
  }
  return at;
}

function writeResponse(out: Buffer, at: number, r: AuthorizeResponse): number {
  if (r.decision !== 0) {
    out[at++] = 8;
    out[at++] = r.decision;
  }
  if (r.explanationJson !== "") at = writeString(out, at, 18, r.explanationJson);
  if (r.evaluatedAt !== undefined) at = writeEvaluatedAt(out, at, r.evaluatedAt);
  if (r.correlationId !== "") at = writeString(out, at, 34, r.correlationId);
  return at;
}

/** Encodes an AuthorizeResponse to the bytes `AuthorizeResponse.encode` writes. */
export function encodeAuthorizeResponse(r: AuthorizeResponse): Buffer {
  sizedAt = undefined;
  const size = responseSize(r);
  if (size < 0) return Buffer.from(AuthorizeResponse.encode(r).finish());
  const out = Buffer.allocUnsafe(size);
  writeResponse(out, 0, r);
  return out;
}

type EvaluatedAt = NonNullable<AuthorizeResponse["evaluatedAt"]>;

/**
 * The answers to a BatchAuthorize call, as the server fills them: a plain answer (a decision at a
 * revision, no explanation, no error) is a byte and a shared evaluatedAt, its correlation id the
 * call's own bytes; anything else a whole AuthorizeResponse. {@link encodeBatchAuthorizeResponse}
 * writes them straight into one buffer; `responses` spells them out (for telemetry and tests).
 */
export class BatchAnswers implements BatchAuthorizeResponse {
  /** Per check, the decision of a plain answer, or 0 where `full` holds the response. */
  readonly decisions: Uint8Array;
  readonly evaluatedAt: (EvaluatedAt | undefined)[];
  readonly full: (AuthorizeResponse | undefined)[];
  readonly call: BatchAuthorizeCall;

  constructor(call: BatchAuthorizeCall) {
    this.call = call;
    const n = call.requests.length;
    this.decisions = new Uint8Array(n);
    this.evaluatedAt = new Array(n);
    this.full = new Array(n);
  }

  /** Check `i`'s correlation id, as a string (for the answers that are not plain). */
  correlationId(i: number): string {
    return correlationIdOf(this.call, i);
  }

  /** Check `i` answered `decision` (1 to 127) at `evaluatedAt`, without an explanation. */
  plain(i: number, decision: Decision, evaluatedAt: EvaluatedAt): void {
    this.decisions[i] = decision;
    this.evaluatedAt[i] = evaluatedAt;
  }

  /** Check `i` answered with `response` (an error, an explanation). */
  set(i: number, response: AuthorizeResponse): void {
    this.decisions[i] = 0;
    this.full[i] = response;
  }

  get responses(): AuthorizeResponse[] {
    const out: AuthorizeResponse[] = new Array(this.decisions.length);
    for (let i = 0; i < out.length; i++) {
      const decision = this.decisions[i] as Decision;
      out[i] =
        decision === 0
          ? (this.full[i] ?? { decision: 0, explanationJson: "", correlationId: this.correlationId(i) })
          : {
              decision,
              explanationJson: "",
              evaluatedAt: this.evaluatedAt[i],
              correlationId: this.correlationId(i),
            };
    }
    return out;
  }
}

/** The body sizes of `answers`' responses into `sizes`, and their total framed size; -1 to leave it to ts-proto. */
function answersSize(answers: BatchAnswers, sizes: Int32Array): number {
  const { decisions, evaluatedAt, full } = answers;
  const ids = answers.call.correlationIds;
  const requests = answers.call.requests;
  let total = 0;
  for (let i = 0; i < decisions.length; i++) {
    let size: number;
    if (decisions[i] === 0) {
      const r = full[i];
      size = r === undefined ? -1 : responseSize(r);
    } else {
      size = 2;
      const at = evaluatedAt[i];
      if (at !== undefined) {
        const atBytes = evaluatedAtSize(at);
        size = atBytes < 0 ? -1 : size + atBytes;
      }
      const correlation =
        ids === undefined
          ? asciiLength((requests[i] as AuthorizeRequest).correlationId)
          : (ids.ends[i] as number) - (ids.starts[i] as number);
      if (correlation < 0) size = -1;
      else if (correlation > 0 && size > 0) size += 1 + varintSize(correlation) + correlation;
    }
    if (size < 0) return -1;
    sizes[i] = size;
    total += 1 + varintSize(size) + size;
  }
  return total;
}

function encodeAnswers(answers: BatchAnswers): Buffer {
  const { decisions, evaluatedAt, full } = answers;
  const ids = answers.call.correlationIds;
  const requests = answers.call.requests;
  sizedAt = undefined;
  const sizes = new Int32Array(decisions.length);
  const total = answersSize(answers, sizes);
  if (total < 0) return Buffer.from(BatchAuthorizeResponse.encode({ responses: answers.responses }).finish());
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  // Where the last evaluatedAt written sits in `out`: the next answer with the same one (a
  // batch's run of checks of one principal) copies those bytes instead of encoding it again.
  let lastAt: EvaluatedAt | undefined;
  let lastAtStart = 0;
  let lastAtEnd = 0;
  for (let i = 0; i < decisions.length; i++) {
    out[at++] = 10;
    at = writeVarint(out, at, sizes[i] as number);
    const decision = decisions[i] as number;
    if (decision === 0) {
      at = writeResponse(out, at, full[i] as AuthorizeResponse);
      continue;
    }
    out[at++] = 8;
    out[at++] = decision;
    const ev = evaluatedAt[i];
    if (ev !== undefined) {
      if (ev === lastAt) {
        for (let j = lastAtStart; j < lastAtEnd; j++) out[at++] = out[j] as number;
      } else {
        lastAt = ev;
        lastAtStart = at;
        at = writeEvaluatedAt(out, at, ev);
        lastAtEnd = at;
      }
    }
    if (ids === undefined) {
      const id = (requests[i] as AuthorizeRequest).correlationId;
      if (id !== "") at = writeString(out, at, 34, id);
      continue;
    }
    const start = ids.starts[i] as number;
    const end = ids.ends[i] as number;
    if (end === start) continue;
    out[at++] = 34;
    at = writeVarint(out, at, end - start);
    // Correlation ids are short: a loop costs less than a native copy's call.
    const source = ids.source;
    for (let j = start; j < end; j++) out[at++] = source[j] as number;
  }
  return out;
}

/** Encodes a BatchAuthorizeResponse (or {@link BatchAnswers}) to the bytes `BatchAuthorizeResponse.encode` writes. */
export function encodeBatchAuthorizeResponse(batch: BatchAuthorizeResponse): Buffer {
  if (batch instanceof BatchAnswers) return encodeAnswers(batch);
  const { responses } = batch;
  sizedAt = undefined;
  const sizes = new Int32Array(responses.length);
  let total = 0;
  for (let i = 0; i < responses.length; i++) {
    const size = responseSize(responses[i] as AuthorizeResponse);
    if (size < 0) return Buffer.from(BatchAuthorizeResponse.encode(batch).finish());
    sizes[i] = size;
    total += 1 + varintSize(size) + size;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < responses.length; i++) {
    out[at++] = 10;
    at = writeVarint(out, at, sizes[i] as number);
    at = writeResponse(out, at, responses[i] as AuthorizeResponse);
  }
  return out;
}
