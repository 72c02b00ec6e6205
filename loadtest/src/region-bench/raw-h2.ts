// The region bench's raw open-loop generator: unary gRPC calls written as HTTP/2 frames on a plain
// TCP socket, so that the generator's own CPU, allocations and pacing do not set the tail it
// measures (the node:http2 generator spends ~41 µs of CPU and ~6.8 KB of heap per call, h2load
// sends in ~10 ms bursts).
//
// What it does, and no more:
// - Each request is framed once, ahead of time: a HEADERS frame (HPACK: `:method POST` and
//   `:scheme http` from the static table, `:path`, `:authority`, `content-type: application/grpc`
//   and `te: trailers` as literals without indexing and without Huffman, so the server's decoder
//   table is never touched) followed by a DATA frame with END_STREAM holding the gRPC message.
//   Sending copies that template into a ring buffer and patches the two stream ids.
// - The connection: the preface, our SETTINGS (push off, a stream window of 2^31-1 so no stream of
//   a response ever waits), a connection WINDOW_UPDATE (1 GiB by default) replenished as response
//   DATA is consumed, the server's SETTINGS acknowledged (its MAX_CONCURRENT_STREAMS and
//   INITIAL_WINDOW_SIZE honoured; requests queue while the server's connection window or stream
//   limit does not let them go), PINGs answered, GOAWAY honoured (streams above its last id fail,
//   no new stream starts), RST_STREAM fails its stream.
// - Responses are checked: every header block is decoded by hpack.js (so the dynamic table stays
//   in step with the server's encoder). A block made only of one-byte indexed fields leaves the
//   table as it is, so its decoded result is remembered until a block that may change the table
//   arrives (nghttp2 indexes `grpc-status: 0`: from the second call on, trailers are such blocks).
//   A call succeeds when its stream ends after at least one gRPC message (≥ 5 bytes of DATA) and
//   its grpc-status (trailers, or the headers of a trailers-only answer) is 0 with `:status` 200.
// - Reads land in one preallocated buffer (net's `onread`); per call, the generator allocates the
//   view it writes and little else.
import { createRequire } from "node:module";
import { connect, type Socket } from "node:net";

/** hpack.js's decompressor (CommonJS, no types of its own). */
interface HpackDecompressor {
  write(chunk: Buffer): boolean;
  execute(): void;
  read(): { name: string; value: string } | null;
  on(event: "error", listener: (e: Error) => void): void;
}
const hpack = createRequire(import.meta.url)("hpack.js") as {
  decompressor: { create(options: { table: { size: number } }): HpackDecompressor };
};

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY_FLAG = 0x20;
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const DEFAULT_MAX_FRAME = 16_384;

/** How a call ended (`onDone`'s second argument): 0..16 is its grpc-status, negative a failure. */
export const Outcome = {
  ok: 0,
  /** The server reset the stream. */
  reset: -1,
  /** GOAWAY, the connection closed or failed before the call ended. */
  connection: -2,
  /** The stream ended without a grpc-status. */
  noStatus: -3,
  /** grpc-status 0 but no gRPC message in the body. */
  noMessage: -4,
  /** An HTTP `:status` other than 200. */
  httpStatus: -5,
} as const;

function frameHeader(buf: Buffer, at: number, length: number, type: number, flags: number, stream: number): void {
  buf[at] = (length >>> 16) & 0xff;
  buf[at + 1] = (length >>> 8) & 0xff;
  buf[at + 2] = length & 0xff;
  buf[at + 3] = type;
  buf[at + 4] = flags;
  buf.writeUInt32BE(stream & 0x7fffffff, at + 5);
}

/** HPACK integer with an `n`-bit prefix, the prefix's other bits being `first`. */
function hpackInt(out: number[], first: number, n: number, value: number): void {
  const max = (1 << n) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function hpackString(out: number[], s: string): void {
  const bytes = Buffer.from(s, "latin1");
  hpackInt(out, 0x00, 7, bytes.length); // H = 0: no Huffman
  for (const b of bytes) out.push(b);
}

/** The HPACK block of a gRPC unary request's headers (no dynamic table, no Huffman). */
export function requestHeaderBlock(authority: string, path: string): Buffer {
  const out: number[] = [0x83, 0x86]; // :method POST, :scheme http (static 3 and 6)
  hpackInt(out, 0x00, 4, 4); // :path, literal without indexing, name static 4
  hpackString(out, path);
  hpackInt(out, 0x00, 4, 1); // :authority, name static 1
  hpackString(out, authority);
  hpackInt(out, 0x00, 4, 31); // content-type, name static 31
  hpackString(out, "application/grpc");
  out.push(0x00); // te, literal without indexing, new name
  hpackString(out, "te");
  hpackString(out, "trailers");
  return Buffer.from(out);
}

/**
 * One request as it goes on the wire: HEADERS (END_HEADERS) then DATA (END_STREAM) holding
 * `message` (a gRPC message: 5-byte prefix + serialized request), stream ids zero until sent.
 */
export function requestTemplate(authority: string, path: string, message: Uint8Array): Buffer {
  const block = requestHeaderBlock(authority, path);
  if (block.length > DEFAULT_MAX_FRAME || message.length > DEFAULT_MAX_FRAME)
    throw new Error("a request must fit in one HEADERS and one DATA frame of 16,384 bytes");
  const t = Buffer.alloc(9 + block.length + 9 + message.length);
  frameHeader(t, 0, block.length, HEADERS, END_HEADERS, 0);
  block.copy(t, 9);
  const data = 9 + block.length;
  frameHeader(t, data, message.length, DATA, END_STREAM, 0);
  t.set(message, data + 9);
  return t;
}

export interface RawH2Options {
  /** Calls this connection may make in all (sizes its per-stream arrays). */
  readonly capacity: number;
  /** The connection-level receive window we keep open (bytes); 1 GiB by default. */
  readonly receiveWindow?: number;
  /** Called once per call with its index (as given to `send`) and its outcome (`Outcome`). */
  readonly onDone: (call: number, outcome: number) => void;
  /** Called when a read is about to be processed (so a caller can take one clock reading per read). */
  readonly onRead?: () => void;
}

/** One HTTP/2 connection carrying pre-framed unary gRPC calls. */
export class RawH2Client {
  readonly socket: Socket;
  private readonly templates: Buffer[];
  private readonly dataOffset: number[];
  private readonly opts: RawH2Options;
  // Per stream (index (id - 1) / 2): the call it carries, its grpc-status, DATA bytes, state.
  private readonly callOf: Int32Array;
  private readonly statusOf: Int16Array;
  private readonly bytesOf: Int32Array;
  /** 0 unused, 1 open, 2 done. */
  private readonly stateOf: Uint8Array;
  private nextStream = 0;
  private open = 0;
  // Calls waiting for the server's window or stream limit: [call, template] pairs, FIFO.
  private readonly queue: Int32Array;
  private qHead = 0;
  private qTail = 0;
  private sendWindow = 65_535;
  private streamWindow = 65_535;
  private maxStreams = Number.POSITIVE_INFINITY;
  private readonly receiveWindow: number;
  private consumed = 0;
  private goawayLast = -1;
  private dead = false;
  /** Why the connection failed, if it did. */
  failure: string | undefined;
  // Writes: copied into a ring buffer that the socket writes from.
  private readonly ring = Buffer.allocUnsafe(1 << 22);
  private ringAt = 0;
  // Reads: one buffer (net's onread); a frame cut by a read's end waits in `carry`.
  private carry = Buffer.allocUnsafe(1 << 16);
  private carryLen = 0;
  // A header block being gathered (HEADERS + CONTINUATION).
  private block = Buffer.allocUnsafe(1 << 16);
  private blockLen = 0;
  private blockStream = 0;
  private blockEnds = false;
  // HPACK: the decoder, and results of blocks that cannot change its table, until one that can.
  private readonly decoder: HpackDecompressor;
  private decodeError: Error | undefined;
  private readonly indexedOnly = new Map<number, number>();
  private readonly control = Buffer.allocUnsafe(17);
  /** Statistics: header blocks decoded by hpack.js, and answered from the remembered results. */
  readonly decoded = { full: 0, remembered: 0 };

  constructor(address: string, templates: readonly Buffer[], opts: RawH2Options) {
    this.opts = opts;
    this.templates = [...templates];
    this.dataOffset = templates.map((t) => 9 + ((t[0] as number) << 16) + ((t[1] as number) << 8) + (t[2] as number));
    this.callOf = new Int32Array(opts.capacity);
    this.statusOf = new Int16Array(opts.capacity);
    this.bytesOf = new Int32Array(opts.capacity);
    this.stateOf = new Uint8Array(opts.capacity);
    this.queue = new Int32Array(2 * opts.capacity);
    this.receiveWindow = opts.receiveWindow ?? 1 << 30;
    this.decoder = hpack.decompressor.create({ table: { size: 4096 } });
    this.decoder.on("error", (e) => {
      this.decodeError = e;
    });
    const [host, port] = splitAddress(address);
    const readBuffer = Buffer.allocUnsafe(1 << 18);
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (n: number, buf: Uint8Array) => {
          this.opts.onRead?.();
          this.received(buf as Buffer, n);
          return true;
        },
      },
    });
    this.socket.on("error", (e) => this.fail(`socket: ${e.message}`));
    this.socket.on("close", () => this.fail("the connection closed"));
    // Preface, SETTINGS (ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 2^31-1), connection WINDOW_UPDATE.
    const hello = Buffer.alloc(PREFACE.length + 9 + 12 + 13);
    PREFACE.copy(hello, 0);
    let at = PREFACE.length;
    frameHeader(hello, at, 12, SETTINGS, 0, 0);
    hello.writeUInt16BE(0x2, at + 9);
    hello.writeUInt32BE(0, at + 11);
    hello.writeUInt16BE(0x4, at + 15);
    hello.writeUInt32BE(0x7fffffff, at + 17);
    at += 21;
    frameHeader(hello, at, 4, WINDOW_UPDATE, 0, 0);
    hello.writeUInt32BE(this.receiveWindow - 65_535, at + 9);
    this.socket.write(hello);
  }

  /** Calls started and not yet ended (sent or queued). */
  get outstanding(): number {
    return this.open + (this.qTail - this.qHead) / 2;
  }

  /** Starts call `call` with template `template` now, or as soon as the server's limits allow. */
  send(call: number, template: number): void {
    if (this.dead || this.goawayLast >= 0) {
      this.opts.onDone(call, Outcome.connection);
      return;
    }
    if (this.qHead === this.qTail && this.canSend(template)) {
      this.write(call, template);
      return;
    }
    this.queue[this.qTail++] = call;
    this.queue[this.qTail++] = template;
  }

  close(): void {
    this.dead = true;
    this.socket.destroy();
  }

  private canSend(template: number): boolean {
    const t = this.templates[template] as Buffer;
    const dataLen = t.length - (this.dataOffset[template] as number) - 9;
    return this.open < this.maxStreams && this.sendWindow >= dataLen && this.streamWindow >= dataLen;
  }

  private write(call: number, template: number): void {
    const t = this.templates[template] as Buffer;
    const seq = this.nextStream++;
    const id = 2 * seq + 1;
    this.callOf[seq] = call;
    this.statusOf[seq] = Outcome.noStatus;
    this.stateOf[seq] = 1;
    this.open++;
    this.sendWindow -= t.length - (this.dataOffset[template] as number) - 9;
    // Reuse the ring only while the socket has little queued (a queued write still reads it).
    let out: Buffer;
    if (this.socket.writableLength < this.ring.length >> 2) {
      if (this.ringAt + t.length > this.ring.length) this.ringAt = 0;
      out = this.ring.subarray(this.ringAt, this.ringAt + t.length);
      this.ringAt += t.length;
    } else out = Buffer.allocUnsafe(t.length);
    t.copy(out, 0);
    out.writeUInt32BE(id, 5);
    out.writeUInt32BE(id, (this.dataOffset[template] as number) + 5);
    this.socket.write(out);
  }

  private flushQueue(): void {
    while (this.qHead < this.qTail && !this.dead && this.goawayLast < 0) {
      const template = this.queue[this.qHead + 1] as number;
      if (!this.canSend(template)) return;
      const call = this.queue[this.qHead] as number;
      this.qHead += 2;
      this.write(call, template);
    }
  }

  private fail(why: string): void {
    if (this.dead && this.failure !== undefined) return;
    this.failure ??= why;
    this.dead = true;
    for (let s = 0; s < this.nextStream; s++) this.end(s, Outcome.connection);
    while (this.qHead < this.qTail) {
      const call = this.queue[this.qHead] as number;
      this.qHead += 2;
      this.opts.onDone(call, Outcome.connection);
    }
    this.socket.destroy();
  }

  private end(seq: number, outcome: number): void {
    if (this.stateOf[seq] !== 1) return;
    this.stateOf[seq] = 2;
    this.open--;
    this.opts.onDone(this.callOf[seq] as number, outcome);
  }

  private received(buf: Buffer, n: number): void {
    let at = 0;
    if (this.carryLen > 0) {
      // Complete the frame cut by the last read, then go on in `buf`.
      if (this.carryLen < 9) {
        const take = Math.min(9 - this.carryLen, n);
        this.ensureCarry(this.carryLen + take);
        buf.copy(this.carry, this.carryLen, 0, take);
        this.carryLen += take;
        at = take;
        if (this.carryLen < 9) return;
      }
      const need = 9 + ((this.carry[0] as number) << 16) + ((this.carry[1] as number) << 8) + (this.carry[2] as number);
      const take = Math.min(need - this.carryLen, n - at);
      this.ensureCarry(need);
      buf.copy(this.carry, this.carryLen, at, at + take);
      this.carryLen += take;
      at += take;
      if (this.carryLen < need) return;
      this.carryLen = 0;
      this.frame(this.carry, 0);
      if (this.dead) return;
    }
    while (at < n) {
      if (n - at < 9) break;
      const len = ((buf[at] as number) << 16) + ((buf[at + 1] as number) << 8) + (buf[at + 2] as number);
      if (n - at < 9 + len) break;
      this.frame(buf, at);
      if (this.dead) return;
      at += 9 + len;
    }
    if (at < n) {
      this.ensureCarry(n - at);
      buf.copy(this.carry, 0, at, n);
      this.carryLen = n - at;
    }
  }

  private ensureCarry(size: number): void {
    if (size <= this.carry.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(size, this.carry.length * 2));
    this.carry.copy(bigger, 0, 0, this.carryLen);
    this.carry = bigger;
  }

  private frame(b: Buffer, at: number): void {
    const len = ((b[at] as number) << 16) + ((b[at + 1] as number) << 8) + (b[at + 2] as number);
    const type = b[at + 3] as number;
    const flags = b[at + 4] as number;
    const stream = b.readUInt32BE(at + 5) & 0x7fffffff;
    const p = at + 9;
    if (this.blockStream !== 0 && type !== CONTINUATION) {
      this.fail("protocol: a header block was interrupted");
      return;
    }
    switch (type) {
      case DATA: {
        this.consumed += len;
        if (this.consumed >= this.receiveWindow >> 1) {
          this.windowUpdate(this.consumed);
          this.consumed = 0;
        }
        const seq = (stream - 1) >> 1;
        if (stream === 0 || seq >= this.nextStream) {
          this.fail("protocol: DATA on a stream we did not open");
          return;
        }
        const pad = flags & PADDED ? (b[p] as number) + 1 : 0;
        this.bytesOf[seq] = (this.bytesOf[seq] as number) + len - pad;
        if (flags & END_STREAM) this.ended(seq);
        return;
      }
      case HEADERS: {
        let q = p;
        let end = p + len;
        if (flags & PADDED) {
          end -= b[q] as number;
          q++;
        }
        if (flags & PRIORITY_FLAG) q += 5;
        this.blockLen = 0;
        this.appendBlock(b, q, end);
        this.blockStream = stream;
        this.blockEnds = (flags & END_STREAM) !== 0;
        if (flags & END_HEADERS) this.headerBlock();
        return;
      }
      case CONTINUATION: {
        if (stream !== this.blockStream) {
          this.fail("protocol: CONTINUATION out of place");
          return;
        }
        this.appendBlock(b, p, p + len);
        if (flags & END_HEADERS) this.headerBlock();
        return;
      }
      case RST_STREAM: {
        const seq = (stream - 1) >> 1;
        if (stream !== 0 && seq < this.nextStream) this.end(seq, Outcome.reset);
        this.flushQueue();
        return;
      }
      case SETTINGS: {
        if (flags & ACK) return;
        for (let s = p; s + 6 <= p + len; s += 6) {
          const id = b.readUInt16BE(s);
          const value = b.readUInt32BE(s + 2);
          if (id === 0x3) this.maxStreams = value;
          else if (id === 0x4) this.streamWindow = value;
        }
        frameHeader(this.control, 0, 0, SETTINGS, ACK, 0);
        this.socket.write(Buffer.from(this.control.subarray(0, 9)));
        this.flushQueue();
        return;
      }
      case PING: {
        if (flags & ACK) return;
        const pong = Buffer.allocUnsafe(17);
        frameHeader(pong, 0, 8, PING, ACK, 0);
        b.copy(pong, 9, p, p + 8);
        this.socket.write(pong);
        return;
      }
      case GOAWAY: {
        const last = b.readUInt32BE(p) & 0x7fffffff;
        this.goawayLast = last;
        for (let s = last + 2; s <= 2 * this.nextStream - 1; s += 2) this.end((s - 1) >> 1, Outcome.connection);
        while (this.qHead < this.qTail) {
          const call = this.queue[this.qHead] as number;
          this.qHead += 2;
          this.opts.onDone(call, Outcome.connection);
        }
        this.failure ??= `GOAWAY (last stream ${last}, error ${b.readUInt32BE(p + 4)})`;
        return;
      }
      case WINDOW_UPDATE: {
        if (stream === 0) {
          this.sendWindow += b.readUInt32BE(p) & 0x7fffffff;
          this.flushQueue();
        }
        return;
      }
      case PUSH_PROMISE:
        this.fail("protocol: PUSH_PROMISE with push disabled");
        return;
      default:
        return; // PRIORITY and unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  private appendBlock(b: Buffer, from: number, to: number): void {
    const size = this.blockLen + (to - from);
    if (size > this.block.length) {
      const bigger = Buffer.allocUnsafe(Math.max(size, this.block.length * 2));
      this.block.copy(bigger, 0, 0, this.blockLen);
      this.block = bigger;
    }
    b.copy(this.block, this.blockLen, from, to);
    this.blockLen = size;
  }

  private headerBlock(): void {
    const stream = this.blockStream;
    this.blockStream = 0;
    const result = this.decodeBlock();
    if (result === undefined) return; // the connection failed
    const seq = (stream - 1) >> 1;
    if (stream === 0 || seq >= this.nextStream) {
      this.fail("protocol: HEADERS on a stream we did not open");
      return;
    }
    if (result === Outcome.httpStatus) this.statusOf[seq] = Outcome.httpStatus;
    else if (result >= 0 && this.statusOf[seq] !== Outcome.httpStatus) this.statusOf[seq] = result;
    if (this.blockEnds) this.ended(seq);
  }

  private ended(seq: number): void {
    const status = this.statusOf[seq] as number;
    if (status === Outcome.ok && (this.bytesOf[seq] as number) < 5) this.end(seq, Outcome.noMessage);
    else this.end(seq, status);
    this.flushQueue();
  }

  /**
   * The block's grpc-status (0..), `Outcome.httpStatus` for a `:status` other than 200, or -3
   * when it names neither; undefined if the block does not decode (the connection then fails).
   */
  private decodeBlock(): number | undefined {
    const n = this.blockLen;
    let key = -1;
    if (n > 0 && n <= 6) {
      key = n;
      for (let i = 0; i < n; i++) {
        const byte = this.block[i] as number;
        if (byte < 0x81 || byte === 0xff) {
          key = -1;
          break;
        }
        key = key * 256 + byte;
      }
    }
    if (key >= 0) {
      const known = this.indexedOnly.get(key);
      if (known !== undefined) {
        this.decoded.remembered++;
        return known;
      }
    } else this.indexedOnly.clear(); // this block may change the dynamic table
    this.decoded.full++;
    this.decoder.write(Buffer.from(this.block.subarray(0, n)));
    this.decoder.execute();
    if (this.decodeError !== undefined) {
      this.fail(`HPACK: ${this.decodeError.message}`);
      return undefined;
    }
    let result: number = Outcome.noStatus;
    for (let h = this.decoder.read(); h !== null; h = this.decoder.read()) {
      if (h.name === ":status" && h.value !== "200") result = Outcome.httpStatus;
      else if (h.name === "grpc-status" && result !== Outcome.httpStatus) {
        const s = /^\d+$/.test(h.value) ? Number(h.value) : Number.NaN;
        result = Number.isInteger(s) && s <= 0x7fff ? s : 2; // unparsable: UNKNOWN
      }
    }
    if (key >= 0) this.indexedOnly.set(key, result);
    return result;
  }

  private windowUpdate(increment: number): void {
    const f = Buffer.allocUnsafe(13);
    frameHeader(f, 0, 4, WINDOW_UPDATE, 0, 0);
    f.writeUInt32BE(increment, 9);
    this.socket.write(f);
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i).replace(/^\[|\]$/g, ""), Number(address.slice(i + 1))];
}
