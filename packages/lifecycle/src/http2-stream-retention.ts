import { subscribe } from "node:diagnostics_channel";
import type { Http2Session } from "node:http2";
import type { Duplex } from "node:stream";
import { isMap, isSet } from "node:util/types";
import { setFlagsFromString } from "node:v8";

/**
 * Keeps finished HTTP/2 calls from surviving V8's young-generation collections.
 *
 * Two things in node:http2 keep a call's objects — the stream, its listeners and all they close
 * over (grpc-js's whole per-call state) — alive past its end, until the next full collection:
 *
 * 1. **The session's stream table.** Each session keeps its open streams in a `Map` (a client also
 *    a `Set` of streams waiting for an id): one `set` and one `delete` per call. A `Map` that has
 *    seen enough deletes rehashes into a new table and leaves the old one pointing at it, entries
 *    and all. Once one table is in the old generation (a full collection promotes the table in
 *    use) and then replaced, it is dead but stays until the next full collection, and every
 *    scavenge until then keeps what it points at: the next table, the streams it held, the table
 *    after that… every call.
 * 2. **The native stream handle.** A stream whose last bytes are still being written when it is
 *    destroyed is freed by the garbage collector; until then its handle — a wrapper that node:http2
 *    has given a property, which V8's scavenger therefore treats as a root — keeps the JS stream,
 *    and through its listeners the call.
 *
 * So every call was promoted, the old generation filled with dead calls and mark-compacts
 * followed one another: on a no-op grpc-js server at ~16,000 calls/s (h2load, one connection),
 * 210 MB promoted in 6 s, scavenges of 8–12 ms; with the stream tables renewed, 24 MB and
 * 0.4–0.5 ms. The second path is what is left (see the test: 4.7 MB of 500 calls' state promoted
 * with the tables renewed, 0.55 MB with listeners dropped too).
 *
 * What this does, through node:http2's public diagnostics channels
 * (`http2.server.stream.created`, `http2.client.stream.created`): every
 * {@link RENEW_EVERY_STREAMS} streams of a session, its stream `Map` and pending-stream `Set` are
 * replaced by fresh copies (a handful of entries: the calls in flight), so no new table points
 * back into an old chain; and once a stream has emitted `close` (its last event), its listeners
 * are dropped (an `error` listener that does nothing stays), so a stream kept by its handle no
 * longer keeps the call. The session state is node:http2's internal `state` object, found by its
 * symbol's description and its shape; if a Node version changes that shape, tables are not renewed
 * and {@link Http2StreamRetention.active} says why (and the callers' `onUnavailable` are told).
 */
export interface Http2StreamRetention {
  /** Whether session stream tables are being renewed (false: `reason` says why not). */
  readonly active: boolean;
  readonly reason?: string;
  /** Sessions' stream tables replaced so far in this process. */
  readonly renewals: number;
}

/** Streams of one session between two renewals of its tables. */
export const RENEW_EVERY_STREAMS = 64;

const CHANNELS = ["http2.server.stream.created", "http2.client.stream.created"] as const;

interface SessionState {
  streams: Map<number, unknown>;
  pendingStreams: Set<unknown>;
}

let stateSymbol: symbol | undefined;
let renewals = 0;
let failure: string | undefined;
let installed = false;
/** Told once, when the session state turns out not to be what this expects. */
const unavailableListeners: ((reason: string) => void)[] = [];
const streamsSeen = new WeakMap<Http2Session, number>();

/** node:http2's own SafeMap and SafeSet are real Maps and Sets whose prototypes are not Map's and Set's. */
function isSessionState(value: unknown): value is SessionState {
  const state = value as Partial<SessionState> | undefined;
  return isMap(state?.streams) && isSet(state?.pendingStreams);
}

function stateOf(session: Http2Session): SessionState | undefined {
  const holder = session as unknown as Record<symbol, unknown>;
  stateSymbol ??= Object.getOwnPropertySymbols(session).find(
    (s) => s.description === "state" && isSessionState(holder[s]),
  );
  if (stateSymbol === undefined) return undefined;
  const state = holder[stateSymbol];
  return isSessionState(state) ? state : undefined;
}

/** The same kind of collection with the same entries. */
function copyOf<T extends Map<unknown, unknown> | Set<unknown>>(collection: T): T {
  return new (collection.constructor as new (entries: T) => T)(collection);
}

function renewTables(session: Http2Session): void {
  const count = (streamsSeen.get(session) ?? 0) + 1;
  if (count < RENEW_EVERY_STREAMS) {
    streamsSeen.set(session, count);
    return;
  }
  streamsSeen.set(session, 0);
  const state = stateOf(session);
  if (state === undefined) {
    failure = "node:http2's session state has no `streams` Map and `pendingStreams` Set in this Node version";
    for (const listener of unavailableListeners.splice(0)) listener(failure);
    return;
  }
  state.streams = copyOf(state.streams);
  state.pendingStreams = copyOf(state.pendingStreams);
  renewals++;
}

const ignore = () => {};

/** An EventEmitter's own listener table (node's `events` module, stable across Node versions). */
interface ListenerTable {
  _events?: unknown;
  _eventsCount?: unknown;
}

/**
 * Drops every listener of a closed stream but an `error` listener that does nothing. Through the
 * emitter's own table when it has the shape node's `events` module gives it: `removeAllListeners()`
 * on an Http2Stream emits `removeListener` for each listener (node:http2 listens for it, to count
 * `priority` and `frameError` listeners on the session a closed stream no longer has) and
 * schedules a `process.nextTick` (Readable's override), for a stream nothing will emit on again.
 * In a decider's CPU profile at saturation (bench:region), this code's share of busy samples went
 * from 6.6% (removeAllListeners, one immediate per stream) to 0.9%.
 */
function dropListenersOf(stream: Duplex): void {
  const table = stream as unknown as ListenerTable;
  if (typeof table._events === "object" && table._events !== null && typeof table._eventsCount === "number") {
    table._events = { __proto__: null, error: ignore };
    table._eventsCount = 1;
    return;
  }
  stream.removeAllListeners();
  stream.on("error", ignore);
}

/** Streams closed since the last {@link dropClosedListeners}. */
let closed: Duplex[] = [];

function dropClosedListeners(): void {
  const streams = closed;
  closed = [];
  for (const stream of streams) dropListenersOf(stream);
}

/**
 * After `close`, a stream's last event, and whatever `close` listeners scheduled: one immediate
 * for every stream closed in the same turn of the event loop.
 */
function dropListeners(this: Duplex): void {
  if (closed.length === 0) setImmediate(dropClosedListeners);
  closed.push(this);
}

function onStreamCreated(message: unknown): void {
  const stream = (message as { stream?: Duplex & { session?: Http2Session } }).stream;
  if (stream === undefined) return;
  stream.once("close", dropListeners);
  if (failure === undefined && stream.session !== undefined) renewTables(stream.session);
}

/**
 * Starts limiting what finished HTTP/2 streams keep alive in this process (servers and clients,
 * grpc-js's included) and turns V8's allocation-site pretenuring off; idempotent. Call it at
 * start-up, before serving or connecting. Whether the tables can be renewed is known at the first
 * session's {@link RENEW_EVERY_STREAMS}th stream: `onUnavailable` is told then (at once if that
 * was found already) if they cannot.
 *
 * @example
 * limitHttp2StreamRetention((reason) => logger.warn({ reason }, "http2 stream tables are not renewed"));
 */
export function limitHttp2StreamRetention(onUnavailable?: (reason: string) => void): Http2StreamRetention {
  if (onUnavailable !== undefined) {
    if (failure === undefined) unavailableListeners.push(onUnavailable);
    else onUnavailable(failure);
  }
  if (!installed) {
    installed = true;
    setFlagsFromString("--no-allocation-site-pretenuring");
    for (const channel of CHANNELS) subscribe(channel, onStreamCreated);
  }
  return http2StreamRetention();
}

/** Where {@link limitHttp2StreamRetention} stands in this process. */
export function http2StreamRetention(): Http2StreamRetention {
  if (!installed) return { active: false, reason: "limitHttp2StreamRetention() was not called", renewals };
  return failure === undefined ? { active: true, renewals } : { active: false, reason: failure, renewals };
}
