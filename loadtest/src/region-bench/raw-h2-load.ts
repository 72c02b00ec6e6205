// The raw generator's open loop (`--open-generator=raw`, `--tail-generator=raw`): one worker thread,
// `RawH2Client` connection(s) (raw-h2.ts), calls paced by sleeping in Atomics.wait until the next
// one is due (never more than 1 ms at a time) and yielding to the thread's event loop between
// sleeps to read answers. All calls due when the thread wakes go at once; latency counts from each
// call's due time (coordinated omission corrected). Answers read after a sleep are timed when read,
// so a latency may be overstated by up to one sleep (the send interval, at most 1 ms), never
// understated. Per-call state lives in typed arrays sized for the run; nothing per call is kept
// on the heap.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { LoadResult, LoadRun } from "./h2-load.ts";
import { type ProcessStalls, watchStalls } from "./process-watch.ts";
import { Outcome, RawH2Client, requestTemplate } from "./raw-h2.ts";

interface RawResult extends LoadResult {
  /** This thread's heap bytes allocated per call over the timed window. */
  readonly allocatedBytesPerCall: number;
  readonly decoded: { full: number; remembered: number };
}

/** The `q` quantile of `xs`, in ms (`xs` in µs, or in ms with `perMs` = 1). */
function quantileMs(xs: Float32Array, q: number, perMs = 1000): number {
  if (xs.length === 0) return 0;
  const sorted = Float32Array.from(xs).sort();
  return Number(((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / perMs).toFixed(3));
}

async function run(p: LoadRun): Promise<RawResult> {
  if (p.mode.kind !== "open") throw new Error("the raw generator runs open loops only");
  const rate = p.mode.rate;
  const intervalMs = 1000 / rate;
  const total = Math.floor((p.warmupSeconds + p.seconds) * rate);
  const warmupCalls = Math.floor(p.warmupSeconds * rate);
  const connections = Math.max(1, p.connections);
  const latencies = new Float64Array(total);
  const lags = new Float32Array(total - warmupCalls);
  let completed = 0;
  let completedAll = 0;
  let errors = 0;
  let ended = 0;
  let firstError: string | undefined;
  let now = 0;
  let began = 0;
  const outcomes = new Map<number, number>();
  const onDone = (call: number, outcome: number) => {
    ended++;
    if (outcome === Outcome.ok) {
      completedAll++;
      if (call >= warmupCalls) latencies[completed++] = (now - (began + call * intervalMs)) * 1000;
      return;
    }
    if (call >= warmupCalls) errors++;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  };
  const onRead = () => {
    now = performance.now();
  };
  const templates = p.frames.map((f) => requestTemplate(p.address, p.path, f));
  const clients = Array.from(
    { length: connections },
    () => new RawH2Client(p.address, templates, { capacity: Math.ceil(total / connections) + 1, onDone, onRead }),
  );
  await Promise.all(clients.map((c) => new Promise<void>((ok) => c.socket.once("connect", () => ok()))));
  // Let the SETTINGS exchange finish before the first call is due.
  await new Promise((r) => setTimeout(r, 50));
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let sent = 0;
  let cpuStart = process.threadCpuUsage();
  let windowStart = 0;
  let windowEnd = 0;
  let watch: ReturnType<typeof watchStalls> | undefined;
  // How late the thread woke against when it meant to (after a sleep, or when it yielded without
  // one): its own stalls. monitorEventLoopDelay sees none of them, as the loop never idles.
  const late = new Float32Array(total + Math.ceil((p.warmupSeconds + p.seconds) * 2000) + 1024);
  let lateCount = 0;
  let wakeAt = 0;
  began = performance.now();
  await new Promise<void>((done) => {
    const tick = (): void => {
      now = performance.now();
      if (watch !== undefined && lateCount < late.length) late[lateCount++] = Math.max(0, now - wakeAt);
      const due = Math.min(total, Math.floor((now - began) / intervalMs) + 1);
      if (watch === undefined && due > warmupCalls) {
        // The timed window starts with the first measured call.
        cpuStart = process.threadCpuUsage();
        windowStart = now;
        watch = watchStalls();
      }
      while (sent < due) {
        const i = sent++;
        if (i >= warmupCalls) lags[i - warmupCalls] = (now - (began + i * intervalMs)) * 1000;
        (clients[i % connections] as RawH2Client).send(i, i % templates.length);
      }
      if (sent >= total) {
        windowEnd = performance.now();
        done();
        return;
      }
      const wait = began + sent * intervalMs - performance.now();
      const sleep = wait > 0.02 ? Math.min(wait, 1) : 0;
      if (sleep > 0) Atomics.wait(sleeper, 0, 0, sleep);
      wakeAt = performance.now();
      setImmediate(tick);
    };
    tick();
  });
  // Wait for the answers still due (10 s at most; what is still open then counts as failed).
  const deadline = performance.now() + 10_000;
  while (ended < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const watched: ProcessStalls = (watch ?? watchStalls()).stop();
  const lateness = late.subarray(0, lateCount);
  const stalls: ProcessStalls = {
    ...watched,
    loop_delay_p50_ms: quantileMs(lateness, 0.5, 1),
    loop_delay_p99_ms: quantileMs(lateness, 0.99, 1),
    loop_delay_max_ms: quantileMs(lateness, 1, 1),
  };
  const cpu = process.threadCpuUsage(cpuStart);
  const decoded = { full: 0, remembered: 0 };
  for (const c of clients) {
    decoded.full += c.decoded.full;
    decoded.remembered += c.decoded.remembered;
    if (c.failure !== undefined && ended < total) firstError ??= c.failure;
    c.close();
  }
  const unanswered = total - ended;
  errors += unanswered;
  if (unanswered > 0) firstError ??= `${unanswered} calls unanswered 10 s after the last was sent`;
  if (outcomes.size > 0)
    firstError ??= [...outcomes].map(([o, n]) => `${n} × ${o >= 0 ? `grpc-status ${o}` : outcomeName(o)}`).join(", ");
  return {
    completed,
    completedAll,
    errors,
    seconds: (windowEnd - windowStart) / 1000,
    latenciesUs: latencies.slice(0, completed),
    cpuMs: (cpu.user + cpu.system) / 1000,
    stalls,
    pacing: {
      send_lag_p50_ms: quantileMs(lags, 0.5),
      send_lag_p99_ms: quantileMs(lags, 0.99),
      send_lag_max_ms: quantileMs(lags, 1),
    },
    allocatedBytesPerCall: Math.round(stalls.allocated_bytes / Math.max(1, total - warmupCalls)),
    decoded,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

function outcomeName(o: number): string {
  return Object.entries(Outcome).find(([, v]) => v === o)?.[0] ?? String(o);
}

/** Runs an open loop (`run.mode.kind === "open"`) from one worker thread with the raw generator. */
export function runRawLoad(run: LoadRun): Promise<RawResult> {
  return new Promise<RawResult>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { rawLoad: run } });
    worker.once("message", (r: RawResult) => {
      resolve(r);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

if (!isMainThread && parentPort !== null && (workerData as { rawLoad?: unknown } | null)?.rawLoad !== undefined) {
  const port = parentPort;
  void run((workerData as { rawLoad: LoadRun }).rawLoad).then((r) =>
    port.postMessage(r, [r.latenciesUs.buffer as ArrayBuffer]),
  );
}
