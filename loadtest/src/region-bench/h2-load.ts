// The region bench's load generator: unary gRPC calls whose requests were serialized and framed
// ahead of time, sent straight over node:http2 (as h2load would), from worker threads so that no
// client library's per-call work competes with the service for this machine's two cores.
//
// A call succeeds when its grpc-status (in the trailers, or in the headers of a trailers-only
// response) is 0. The response message is read and dropped.
import { connect } from "node:http2";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { type ProcessStalls, watchStalls } from "./process-watch.ts";

/** One load run, as a worker thread performs it. */
export interface LoadRun {
  /** host:port of the gRPC server. */
  readonly address: string;
  /** The method's path, e.g. `/gatehouse.v1.AuthorizerService/Authorize`. */
  readonly path: string;
  /** gRPC message frames (5-byte prefix + serialized request), sent in turn. */
  readonly frames: readonly Uint8Array[];
  /**
   * `closed`: `concurrency` callers each send their next call as soon as the last is answered
   * (saturation). `open`: calls start on a fixed schedule of `rate` per second whatever the
   * answers do; latency counts from each call's scheduled start (coordinated omission corrected).
   */
  readonly mode:
    | { readonly kind: "closed"; readonly concurrency: number }
    | { readonly kind: "open"; readonly rate: number };
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** HTTP/2 connections the worker spreads its calls over. */
  readonly connections: number;
}

/** What one worker measured in its timed window. */
export interface LoadResult {
  readonly completed: number;
  /** Calls completed in the whole run, warm-up included. */
  readonly completedAll: number;
  readonly errors: number;
  readonly seconds: number;
  /** Latency of each completed call in the window, in microseconds. */
  readonly latenciesUs: Float64Array;
  /** CPU ms the worker's thread used in the window. */
  readonly cpuMs: number;
  /** The first error seen, for the report. */
  readonly firstError?: string;
  /** This worker thread's event-loop delay (and the process's GC pauses) in the window. */
  readonly stalls: ProcessStalls;
  /** How late calls were sent after they were due (h2load and the raw generator). */
  readonly pacing?: {
    readonly send_lag_p50_ms: number;
    readonly send_lag_p99_ms: number;
    readonly send_lag_max_ms?: number;
  };
}

function sender(address: string) {
  const session = connect(`http://${address}`);
  // A broken connection fails the calls on it, which count as errors.
  session.on("error", () => {});
  const headersOf = (path: string) => ({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
  });
  return {
    send(path: string, frame: Uint8Array): Promise<void> {
      return new Promise((resolve, reject) => {
        const stream = session.request(headersOf(path));
        let status: unknown;
        stream.on("response", (headers) => {
          status = headers["grpc-status"];
        });
        stream.on("trailers", (trailers) => {
          status = trailers["grpc-status"] ?? status;
        });
        stream.resume();
        stream.on("end", () => (status === "0" ? resolve() : reject(new Error(`grpc-status ${String(status)}`))));
        stream.on("error", reject);
        stream.end(frame);
      });
    },
    close: () => session.close(),
  };
}

async function run(p: LoadRun): Promise<LoadResult> {
  const senders = Array.from({ length: p.connections }, () => sender(p.address));
  let next = 0;
  const call = (): Promise<void> => {
    const i = next++;
    const s = senders[i % senders.length] as ReturnType<typeof sender>;
    return s.send(p.path, p.frames[i % p.frames.length] as Uint8Array);
  };
  let firstError: string | undefined;
  const failed = (e: unknown) => {
    firstError ??= e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e);
  };
  const latencies: number[] = [];
  let completed = 0;
  let completedAll = 0;
  let errors = 0;
  let recording = false;
  let cpuStart = process.threadCpuUsage();
  let windowStart = 0;
  let windowEnd = 0;
  const totalMs = (p.warmupSeconds + p.seconds) * 1000;
  const began = performance.now();
  let watch: ReturnType<typeof watchStalls> | undefined;
  const startWindow = () => {
    recording = true;
    cpuStart = process.threadCpuUsage();
    windowStart = performance.now();
    watch = watchStalls();
  };
  const warmupTimer = setTimeout(startWindow, p.warmupSeconds * 1000);

  if (p.mode.kind === "closed") {
    const until = began + totalMs;
    const loop = async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          await call();
          completedAll++;
          if (recording) {
            completed++;
            latencies.push((performance.now() - t0) * 1000);
          }
        } catch (e) {
          if (recording) errors++;
          failed(e);
        }
      }
    };
    await Promise.all(Array.from({ length: p.mode.concurrency }, loop));
    windowEnd = performance.now();
  } else {
    const intervalMs = 1000 / p.mode.rate;
    const total = Math.floor((totalMs / 1000) * p.mode.rate);
    const warmupCalls = Math.floor(p.warmupSeconds * p.mode.rate);
    const pending: Promise<void>[] = [];
    let sent = 0;
    await new Promise<void>((done) => {
      const tick = (): void => {
        const due = Math.min(total, Math.floor((performance.now() - began) / intervalMs) + 1);
        while (sent < due) {
          const i = sent++;
          // Latency counts from when the call was due, not from when the timer let it go.
          const intended = began + i * intervalMs;
          const measured = i >= warmupCalls;
          pending.push(
            call().then(
              () => {
                completedAll++;
                if (!measured) return;
                completed++;
                latencies.push((performance.now() - intended) * 1000);
              },
              (e: unknown) => {
                if (measured) errors++;
                failed(e);
              },
            ),
          );
          if (pending.length > 4096) void Promise.all(pending.splice(0));
        }
        if (sent >= total) done();
        else setTimeout(tick, 1);
      };
      tick();
    });
    windowEnd = performance.now();
    await Promise.all(pending);
    if (!recording) startWindow();
  }
  clearTimeout(warmupTimer);
  const stalls = (watch ?? watchStalls()).stop();
  const cpu = process.threadCpuUsage(cpuStart);
  for (const s of senders) s.close();
  return {
    completed,
    completedAll,
    errors,
    seconds: (windowEnd - windowStart) / 1000,
    latenciesUs: Float64Array.from(latencies),
    cpuMs: (cpu.user + cpu.system) / 1000,
    stalls,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/**
 * Runs `run` on `workers` worker threads at once (an open loop's rate is split between them) and
 * returns what each measured.
 */
export async function runLoad(run: LoadRun, workers: number): Promise<LoadResult[]> {
  const each: LoadRun =
    run.mode.kind === "open" ? { ...run, mode: { kind: "open", rate: run.mode.rate / workers } } : run;
  return Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<LoadResult>((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), { workerData: each });
          worker.once("message", (r: LoadResult) => {
            resolve(r);
            void worker.terminate();
          });
          worker.once("error", reject);
        }),
    ),
  );
}

/** Frames a serialized message as one gRPC message (uncompressed; length big-endian). */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

if (!isMainThread && parentPort !== null && (workerData as { frames?: unknown } | null)?.frames !== undefined) {
  const port = parentPort;
  void run(workerData as LoadRun).then((r) => port.postMessage(r, [r.latenciesUs.buffer as ArrayBuffer]));
}
